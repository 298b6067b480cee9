using Provisioner.Protocols.Tftp;

namespace Provisioner.Protocols.Tests.Tftp;

/// <summary>
/// Every strict prefix of every valid packet, judged by the rule for its kind. A prefix is not always
/// invalid: an RRQ cut right after the mode or after an option value is a valid RRQ with fewer options,
/// a DATA cut anywhere after its 4-byte header is a valid shorter DATA, and an ERROR cut after its code is
/// accepted by the lenient message rule.
/// </summary>
public class TftpTruncationTests
{
    public static TheoryData<string> Samples => [.. AllSamples().Select(s => s.Name)];

    private static IEnumerable<(string Name, byte[] Bytes)> AllSamples()
    {
        foreach (var golden in TftpGolden.All)
        {
            yield return golden;
        }

        yield return ("rrq-all-options", Write(TftpRequest.Read("a/b.efi", TftpMode.Octet,
            TftpOptions.Create(1468, 0, 5, 16, [new("foo", "bar")])).TryWrite));
        yield return ("wrq", Write(TftpRequest.Write("up.bin", TftpMode.Octet, TftpOptions.Create(transferSize: 42)).TryWrite));
        yield return ("oack-all-options", Write(new TftpOptionAcknowledgement(TftpOptions.Create(512, 99, 1, 1)).TryWrite));
        yield return ("data-512", Write((Span<byte> d, out int w) => TftpWriter.TryWriteData(d, 3, new byte[512], out w)));
        yield return ("data-empty", Write((Span<byte> d, out int w) => TftpWriter.TryWriteData(d, 4, [], out w)));
        yield return ("ack", Write((Span<byte> d, out int w) => TftpWriter.TryWriteAck(d, 77, out w)));
        yield return ("error", Write(new TftpError(TftpErrorCode.DiskFull, "full").TryWrite));
    }

    [Theory]
    [MemberData(nameof(Samples))]
    public void Every_truncated_prefix_is_rejected_unless_it_is_itself_a_valid_packet(string name)
    {
        var full = AllSamples().Single(s => s.Name == name).Bytes;
        Assert.True(TftpPacket.TryParse(full, out var whole, out _));
        var opcode = whole.Opcode;

        for (var length = 0; length < full.Length; length++)
        {
            var prefix = full.AsSpan(0, length);
            var parsed = TftpPacket.TryParse(prefix, out var packet, out var error);
            var expected = Expected(opcode, prefix);

            Assert.True(expected == error, $"{name}[..{length}]: expected {expected}, got {error}");
            Assert.Equal(expected == TftpParseError.None, parsed);
            if (!parsed)
            {
                Assert.Equal(default, packet.Opcode);
                continue;
            }

            Assert.Equal(opcode, packet.Opcode);
            switch (opcode)
            {
                case TftpOpcode.Data:
                    Assert.Equal(whole.Block, packet.Block);
                    Assert.Equal(full[4..length], packet.Payload.ToArray());
                    break;
                case TftpOpcode.Error:
                    Assert.Equal(whole.ErrorCode, packet.ErrorCode);
                    Assert.True(whole.ErrorMessageBytes.StartsWith(packet.ErrorMessageBytes));
                    break;
                case TftpOpcode.ReadRequest or TftpOpcode.WriteRequest:
                    Assert.Equal(whole.FileName, packet.FileName);
                    Assert.Equal(whole.Mode, packet.Mode);
                    Assert.Equal(whole.GetOptions().All.Take(packet.GetOptions().Count), packet.GetOptions().All);
                    break;
                case TftpOpcode.OptionAcknowledgement:
                    Assert.Equal(whole.GetOptions().All.Take(packet.GetOptions().Count), packet.GetOptions().All);
                    break;
            }
        }
    }

    // The rule, stated independently of the parser: count the NULs after the opcode.
    private static TftpParseError Expected(TftpOpcode opcode, ReadOnlySpan<byte> prefix)
    {
        if (prefix.Length < 2)
        {
            return TftpParseError.Truncated;
        }

        var body = prefix[2..];
        var nuls = body.Count((byte)0);
        var endsOnNul = !body.IsEmpty && body[^1] == 0;
        switch (opcode)
        {
            case TftpOpcode.Data or TftpOpcode.Error:
                return prefix.Length < 4 ? TftpParseError.Truncated : TftpParseError.None;
            case TftpOpcode.Acknowledgement:
                return TftpParseError.Truncated; // only the whole 4 bytes is an ACK
            case TftpOpcode.ReadRequest or TftpOpcode.WriteRequest:
                return nuls switch
                {
                    0 => TftpParseError.FileNameNotTerminated,
                    1 => TftpParseError.ModeNotTerminated,
                    _ when nuls % 2 == 1 => TftpParseError.OptionValueMissing,
                    _ when endsOnNul => TftpParseError.None,
                    _ => TftpParseError.TrailingBytes,
                };
            case TftpOpcode.OptionAcknowledgement:
                return nuls switch
                {
                    0 when body.IsEmpty => TftpParseError.NoOptions,
                    _ when nuls % 2 == 1 => TftpParseError.OptionValueMissing,
                    _ when endsOnNul => TftpParseError.None,
                    _ => TftpParseError.TrailingBytes,
                };
            default:
                throw new InvalidOperationException($"no rule for {opcode}");
        }
    }

    private delegate bool Writer(Span<byte> destination, out int written);

    private static byte[] Write(Writer write)
    {
        var buffer = new byte[2048];
        Assert.True(write(buffer, out var written));
        return buffer[..written];
    }
}
