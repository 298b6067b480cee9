using Provisioner.Protocols.Tftp;

namespace Provisioner.Protocols.Tests.Tftp;

public class TftpRoundTripTests
{
    private static readonly TftpOption[] UnknownOptions = [new("multicast", ""), new("X-Vendor-Hint", "uefi-x64")];

    [Fact]
    public void Rrq_with_all_four_options_and_unknown_options_round_trips()
    {
        var request = TftpRequest.Read(
            "boot/ipxe.efi",
            TftpMode.Octet,
            TftpOptions.Create(blockSize: 1468, transferSize: 0, timeoutSeconds: 3, windowSize: 8, others: UnknownOptions));

        var parsed = RoundTrip(request.TryWrite, request.GetWrittenLength(), TftpOpcode.ReadRequest, p => p.ToRequest());

        Assert.Equal(request, parsed);
        Assert.Equal((1468, 0L, 3, 8), (parsed.Options.BlockSize!.Value, parsed.Options.TransferSize!.Value,
            parsed.Options.TimeoutSeconds!.Value, parsed.Options.WindowSize!.Value));
        Assert.Equal(UnknownOptions, parsed.Options.Unrecognised);
    }

    [Theory]
    [InlineData(TftpMode.NetAscii)]
    [InlineData(TftpMode.Octet)]
    [InlineData(TftpMode.Mail)]
    public void Rrq_without_options_round_trips_in_every_mode(TftpMode mode)
    {
        var request = TftpRequest.Read("pxelinux.0", mode);

        var parsed = RoundTrip(request.TryWrite, request.GetWrittenLength(), TftpOpcode.ReadRequest, p => p.ToRequest());

        Assert.Equal(request, parsed);
        Assert.Equal(mode, parsed.Mode);
    }

    [Fact]
    public void Wrq_with_a_transfer_size_round_trips()
    {
        var request = TftpRequest.Write("logs/aa-bb-cc.txt", TftpMode.NetAscii, TftpOptions.Create(transferSize: 123_456_789_012));

        var parsed = RoundTrip(request.TryWrite, request.GetWrittenLength(), TftpOpcode.WriteRequest, p => p.ToRequest());

        Assert.Equal(request, parsed);
        Assert.Equal(123_456_789_012, parsed.Options.TransferSize);
    }

    [Fact]
    public void Oack_with_all_options_round_trips()
    {
        var oack = new TftpOptionAcknowledgement(
            TftpOptions.Create(blockSize: 65464, transferSize: 30_000_000, timeoutSeconds: 255, windowSize: 65535));

        var parsed = RoundTrip(oack.TryWrite, oack.GetWrittenLength(), TftpOpcode.OptionAcknowledgement, p => p.ToOptionAcknowledgement());

        Assert.Equal(oack, parsed);
    }

    [Theory]
    [InlineData(TftpErrorCode.NotDefined, "")]
    [InlineData(TftpErrorCode.FileNotFound, "File not found")]
    [InlineData(TftpErrorCode.AccessViolation, "Access violation")]
    [InlineData(TftpErrorCode.DiskFull, "Disk full")]
    [InlineData(TftpErrorCode.IllegalOperation, "Illegal TFTP operation")]
    [InlineData(TftpErrorCode.UnknownTransferId, "Unknown transfer ID")]
    [InlineData(TftpErrorCode.FileAlreadyExists, "File already exists")]
    [InlineData(TftpErrorCode.NoSuchUser, "No such user")]
    [InlineData(TftpErrorCode.OptionNegotiationRefused, "Unsupported blksize")]
    public void Error_round_trips_for_every_code(TftpErrorCode code, string message)
    {
        var error = new TftpError(code, message);

        var parsed = RoundTrip(error.TryWrite, error.GetWrittenLength(), TftpOpcode.Error, p => p.ToError());

        Assert.Equal(error, parsed);
    }

    [Theory]
    [InlineData(1, 0)]
    [InlineData(1, 1)]
    [InlineData(7, 512)]
    [InlineData(65535, 1468)]
    [InlineData(0, TftpPacket.MaxPayloadLength)]
    public void Data_round_trips_without_copying_the_payload(int block, int length)
    {
        var payload = Enumerable.Range(0, length).Select(i => (byte)(i * 31)).ToArray();
        var buffer = new byte[TftpPacket.MaxDataPacketLength];

        Assert.True(TftpWriter.TryWriteData(buffer, (ushort)block, payload, out var written));
        Assert.True(TftpPacket.TryParse(buffer.AsSpan(0, written), out var packet, out _));

        Assert.Equal(TftpOpcode.Data, packet.Opcode);
        Assert.Equal(block, packet.Block);
        Assert.Equal(payload, packet.Payload.ToArray());
        Assert.True(length == 0 || packet.Payload.Overlaps(buffer), "the payload is a slice of the datagram");
        var again = new byte[written];
        Assert.True(packet.TryWrite(again, out var rewritten));
        Assert.Equal(buffer[..written], again[..rewritten]);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(65535)]
    public void Ack_round_trips(int block)
    {
        var buffer = new byte[4];

        Assert.True(TftpWriter.TryWriteAck(buffer, (ushort)block, out var written));
        Assert.True(TftpPacket.TryParse(buffer.AsSpan(0, written), out var packet, out _));

        Assert.Equal(TftpOpcode.Acknowledgement, packet.Opcode);
        Assert.Equal(block, packet.Block);
        Assert.True(packet.TryWrite(new byte[4], out var rewritten));
        Assert.Equal(4, rewritten);
    }

    [Fact]
    public void Data_header_writer_leaves_room_for_the_payload_read_in_place()
    {
        var buffer = new byte[4 + 3];
        "abc"u8.CopyTo(buffer.AsSpan(4));

        Assert.True(TftpWriter.TryWriteDataHeader(buffer, 9));
        Assert.True(TftpPacket.TryParse(buffer, out var packet, out _));
        Assert.Equal((ushort)9, packet.Block);
        Assert.Equal("abc"u8.ToArray(), packet.Payload.ToArray());
    }

    [Fact]
    public void Writers_refuse_a_destination_one_byte_too_small()
    {
        var request = TftpRequest.Read("f", TftpMode.Octet, TftpOptions.Create(blockSize: 512));
        var oack = new TftpOptionAcknowledgement(TftpOptions.Create(blockSize: 512));
        var error = new TftpError(TftpErrorCode.FileNotFound, "nope");

        Assert.False(request.TryWrite(new byte[request.GetWrittenLength() - 1], out _));
        Assert.False(oack.TryWrite(new byte[oack.GetWrittenLength() - 1], out _));
        Assert.False(error.TryWrite(new byte[error.GetWrittenLength() - 1], out _));
        Assert.False(TftpWriter.TryWriteData(new byte[4 + 9], 1, new byte[10], out _));
        Assert.False(TftpWriter.TryWriteAck(new byte[3], 1, out _));
        Assert.False(TftpWriter.TryWriteDataHeader(new byte[3], 1));
        Assert.False(TftpWriter.TryWriteData(new byte[70_000], 1, new byte[TftpPacket.MaxPayloadLength + 1], out _));
    }

    [Fact]
    public void Error_writer_never_breaks_framing_with_a_nul_or_wide_char()
    {
        var buffer = new byte[64];

        Assert.True(TftpWriter.TryWriteError(buffer, TftpErrorCode.AccessViolation, "bad\0name ☃", out var written));
        Assert.True(TftpPacket.TryParse(buffer.AsSpan(0, written), out var packet, out _));
        Assert.Equal("bad?name ?", packet.ErrorMessage);
    }

    [Fact]
    public void Request_keeps_the_mode_text_as_sent()
    {
        byte[] bytes = [0, 1, (byte)'f', 0, .. "OCTET"u8, 0];

        Assert.True(TftpPacket.TryParse(bytes, out var packet, out _));
        var request = packet.ToRequest()!;
        var buffer = new byte[bytes.Length];

        Assert.Equal((TftpMode.Octet, "OCTET"), (request.Mode, request.ModeText));
        Assert.True(request.TryWrite(buffer, out _));
        Assert.Equal(bytes, buffer);
    }

    private delegate bool Writer(Span<byte> destination, out int written);

    private static T RoundTrip<T>(Writer write, int length, TftpOpcode opcode, Func<TftpPacket, T?> materialise)
        where T : class
    {
        var buffer = new byte[length + 8];
        Assert.True(write(buffer, out var written));
        Assert.Equal(length, written);
        Assert.True(TftpPacket.TryParse(buffer.AsSpan(0, written), out var packet, out var error), error.ToString());
        Assert.Equal(opcode, packet.Opcode);

        var again = new byte[written];
        Assert.True(packet.TryWrite(again, out var rewritten));
        Assert.Equal(buffer[..written], again[..rewritten]);
        return materialise(packet) ?? throw new InvalidOperationException("no record for this kind");
    }
}
