using System.Buffers.Binary;

namespace Provisioner.Protocols.Tftp;

/// <summary>
/// Allocation-free writers for the packets a server sends per block (layouts drawn above the parsers in
/// <see cref="TftpPacket"/>). Block numbers are plain ushorts: what follows 65535 (0, 1, or stop) is the
/// transfer's decision, not the codec's.
/// </summary>
public static class TftpWriter
{
    /// <summary>
    /// DATA: opcode, block, payload. False when the payload exceeds 65464 bytes (RFC 2348) or
    /// <paramref name="destination"/> is too small.
    /// </summary>
    public static bool TryWriteData(Span<byte> destination, ushort block, ReadOnlySpan<byte> payload, out int written)
    {
        written = 0;
        if (payload.Length > TftpPacket.MaxPayloadLength || destination.Length < TftpPacket.HeaderLength + payload.Length)
        {
            return false;
        }

        TftpWire.WriteOpcode(destination, TftpOpcode.Data);
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], block);
        payload.CopyTo(destination[TftpPacket.HeaderLength..]);
        written = TftpPacket.HeaderLength + payload.Length;
        return true;
    }

    /// <summary>
    /// DATA header only, for a sender that reads the file straight into
    /// <c>destination[4..]</c> and so never copies the payload. False when fewer than 4 bytes.
    /// </summary>
    public static bool TryWriteDataHeader(Span<byte> destination, ushort block)
    {
        if (destination.Length < TftpPacket.HeaderLength)
        {
            return false;
        }

        TftpWire.WriteOpcode(destination, TftpOpcode.Data);
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], block);
        return true;
    }

    /// <summary>ACK: opcode, block. False when <paramref name="destination"/> is shorter than 4 bytes.</summary>
    public static bool TryWriteAck(Span<byte> destination, ushort block, out int written)
    {
        written = 0;
        if (destination.Length < TftpPacket.HeaderLength)
        {
            return false;
        }

        TftpWire.WriteOpcode(destination, TftpOpcode.Acknowledgement);
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], block);
        written = TftpPacket.HeaderLength;
        return true;
    }

    /// <summary>
    /// ERROR: opcode, code, message, NUL. The message goes out as Latin-1 with NUL and chars above U+00FF
    /// replaced by '?'. False when <paramref name="destination"/> is too small.
    /// </summary>
    public static bool TryWriteError(Span<byte> destination, TftpErrorCode code, ReadOnlySpan<char> message, out int written)
    {
        written = 0;
        var length = GetErrorLength(message);
        if (destination.Length < length)
        {
            return false;
        }

        TftpWire.WriteOpcode(destination, TftpOpcode.Error);
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)code);
        TftpWire.WriteSanitized(message, destination[TftpPacket.HeaderLength..]);
        destination[length - 1] = TftpWire.Nul;
        written = length;
        return true;
    }

    /// <summary>Bytes an ERROR with <paramref name="message"/> takes.</summary>
    public static int GetErrorLength(ReadOnlySpan<char> message) => TftpPacket.HeaderLength + message.Length + 1;
}
