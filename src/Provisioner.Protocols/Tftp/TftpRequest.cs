using System.Buffers.Binary;

namespace Provisioner.Protocols.Tftp;

/// <summary>
/// An RRQ or WRQ as owned values (layout: RFC 1350 figure 5-1 plus RFC 2347 options, drawn above
/// <c>TftpPacket.ParseRequest</c>). Built from a parsed packet by <see cref="TftpPacket.ToRequest"/>, or by
/// <see cref="Read"/> / <see cref="Write"/> to send one. Keeps the mode text as sent ("OCTET" stays
/// upper case) so writing it back reproduces the request.
/// </summary>
public sealed record TftpRequest
{
    /// <summary>Creates a request; strings must be Latin-1 without NUL (they could not be framed otherwise).</summary>
    public TftpRequest(TftpOpcode opcode, string fileName, string modeText, TftpOptions? options = null)
    {
        if (opcode is not (TftpOpcode.ReadRequest or TftpOpcode.WriteRequest))
        {
            throw new ArgumentOutOfRangeException(nameof(opcode), opcode, "A request is an RRQ or a WRQ.");
        }

        ArgumentNullException.ThrowIfNull(fileName);
        ArgumentNullException.ThrowIfNull(modeText);
        if (!TftpWire.IsWireString(fileName))
        {
            throw new ArgumentException("A filename must be Latin-1 text without NUL.", nameof(fileName));
        }

        if (!TftpWire.IsWireString(modeText))
        {
            throw new ArgumentException("A mode must be Latin-1 text without NUL.", nameof(modeText));
        }

        Opcode = opcode;
        FileName = fileName;
        ModeText = modeText;
        Mode = TftpWire.ParseMode(modeText);
        Options = options ?? TftpOptions.Empty;
    }

    /// <summary>RRQ or WRQ.</summary>
    public TftpOpcode Opcode { get; }

    /// <summary>The file asked for, as sent (Latin-1).</summary>
    public string FileName { get; }

    /// <summary>The mode text as sent.</summary>
    public string ModeText { get; }

    /// <summary>The mode, matched ignoring case.</summary>
    public TftpMode Mode { get; }

    /// <summary>RFC 2347 options, empty for a plain RFC 1350 request.</summary>
    public TftpOptions Options { get; }

    /// <summary>An RRQ for <paramref name="fileName"/>.</summary>
    public static TftpRequest Read(string fileName, TftpMode mode, TftpOptions? options = null) =>
        new(TftpOpcode.ReadRequest, fileName, TftpWire.ModeText(mode), options);

    /// <summary>A WRQ for <paramref name="fileName"/>.</summary>
    public static TftpRequest Write(string fileName, TftpMode mode, TftpOptions? options = null) =>
        new(TftpOpcode.WriteRequest, fileName, TftpWire.ModeText(mode), options);

    /// <summary>Bytes <see cref="TryWrite"/> needs.</summary>
    public int GetWrittenLength() => 2 + FileName.Length + 1 + ModeText.Length + 1 + Options.GetWrittenLength();

    /// <summary>Writes the request; false when <paramref name="destination"/> is too small.</summary>
    public bool TryWrite(Span<byte> destination, out int written)
    {
        written = 0;
        if (destination.Length < GetWrittenLength())
        {
            return false;
        }

        BinaryPrimitives.WriteUInt16BigEndian(destination, (ushort)Opcode);
        var at = 2;
        TftpWire.WriteSanitized(FileName, destination[at..]);
        at += FileName.Length;
        destination[at++] = TftpWire.Nul;
        TftpWire.WriteSanitized(ModeText, destination[at..]);
        at += ModeText.Length;
        destination[at++] = TftpWire.Nul;
        Options.TryWrite(destination[at..], out var optionBytes);
        written = at + optionBytes;
        return true;
    }
}
