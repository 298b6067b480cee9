using System.Text;
using Provisioner.Protocols.Tftp;

namespace Provisioner.Protocols.Tests.Tftp;

/// <summary>What is rejected, and where the parser is deliberately lenient.</summary>
public class TftpParseRulesTests
{
    // Packets written as text: "\0" is NUL, the opcode is given separately.
    private static byte[] Packet(ushort opcode, string body) =>
        [(byte)(opcode >> 8), (byte)opcode, .. Encoding.Latin1.GetBytes(body)];

    public static TheoryData<string, byte[], TftpParseError> Rejected => new()
    {
        { "empty datagram", [], TftpParseError.Truncated },
        { "half an opcode", [0], TftpParseError.Truncated },
        { "opcode 0", Packet(0, "x\0octet\0"), TftpParseError.UnknownOpcode },
        { "opcode 7", Packet(7, "x\0octet\0"), TftpParseError.UnknownOpcode },
        { "opcode 0xffff", Packet(0xFFFF, ""), TftpParseError.UnknownOpcode },
        { "RRQ with nothing after the opcode", Packet(1, ""), TftpParseError.FileNameNotTerminated },
        { "RRQ filename without NUL", Packet(1, "pxelinux.0"), TftpParseError.FileNameNotTerminated },
        { "RRQ without mode", Packet(1, "pxelinux.0\0"), TftpParseError.ModeNotTerminated },
        { "RRQ mode without NUL", Packet(1, "pxelinux.0\0octet"), TftpParseError.ModeNotTerminated },
        { "WRQ mode without NUL", Packet(2, "up\0octet"), TftpParseError.ModeNotTerminated },
        { "option name without value", Packet(1, "f\0octet\0blksize\0"), TftpParseError.OptionValueMissing },
        { "option value without NUL", Packet(1, "f\0octet\0blksize\01468"), TftpParseError.OptionValueMissing },
        { "odd trailing bytes after mode", Packet(1, "f\0octet\0blk"), TftpParseError.TrailingBytes },
        { "odd trailing bytes after an option", Packet(1, "f\0octet\0tsize\00\0x"), TftpParseError.TrailingBytes },
        { "bytes after NUL padding", Packet(1, "f\0octet\0\0\0tsize\00\0"), TftpParseError.TrailingBytes },
        { "DATA without block number", Packet(3, "\0"), TftpParseError.Truncated },
        { "DATA payload over 65464", [0, 3, 0, 1, .. new byte[TftpPacket.MaxPayloadLength + 1]], TftpParseError.PayloadTooLarge },
        { "ACK without block number", Packet(4, "\0"), TftpParseError.Truncated },
        { "ACK with trailing bytes", Packet(4, "\0\u0001\0"), TftpParseError.TrailingBytes },
        { "ERROR without code", Packet(5, "\0"), TftpParseError.Truncated },
        { "OACK without options", Packet(6, ""), TftpParseError.NoOptions },
        { "OACK of only padding", Packet(6, "\0\0"), TftpParseError.NoOptions },
        { "OACK option without value", Packet(6, "blksize\0"), TftpParseError.OptionValueMissing },
        { "OACK unterminated name", Packet(6, "blksize"), TftpParseError.TrailingBytes },
    };

    [Theory]
    [MemberData(nameof(Rejected))]
    public void Malformed_packet_is_rejected_with_its_reason(string why, byte[] bytes, TftpParseError expected)
    {
        var parsed = TftpPacket.TryParse(bytes, out var packet, out var error);

        Assert.False(parsed, why);
        Assert.Equal(expected, error);
        Assert.Equal(default, packet.Opcode);
    }

    [Fact]
    public void Data_payload_of_exactly_65464_bytes_is_accepted()
    {
        byte[] bytes = [0, 3, 0, 1, .. new byte[TftpPacket.MaxPayloadLength]];

        Assert.True(TftpPacket.TryParse(bytes, out var packet, out _));
        Assert.Equal(TftpPacket.MaxPayloadLength, packet.Payload.Length);
    }

    [Fact]
    public void Error_message_without_terminating_nul_is_read_to_the_end()
    {
        Assert.True(TftpPacket.TryParse(Packet(5, "\0\u0002no access"), out var packet, out _));

        Assert.Equal(TftpErrorCode.AccessViolation, packet.ErrorCode);
        Assert.Equal("no access", packet.ErrorMessage);
    }

    [Fact]
    public void Error_bytes_after_the_message_nul_are_ignored()
    {
        Assert.True(TftpPacket.TryParse(Packet(5, "\0\u0001gone\0\0garbage"), out var packet, out _));

        Assert.Equal("gone", packet.ErrorMessage);
    }

    [Fact]
    public void Error_with_code_but_no_message_is_an_empty_message()
    {
        Assert.True(TftpPacket.TryParse(Packet(5, "\0\u0004"), out var packet, out _));

        Assert.Equal((TftpErrorCode.IllegalOperation, ""), (packet.ErrorCode, packet.ErrorMessage));
    }

    [Fact]
    public void Error_code_outside_the_rfc_is_kept()
    {
        Assert.True(TftpPacket.TryParse(Packet(5, "\u0001\u0000odd\0"), out var packet, out _));

        Assert.Equal((TftpErrorCode)256, packet.ErrorCode);
    }

    [Fact]
    public void Nul_padding_after_the_request_is_ignored()
    {
        Assert.True(TftpPacket.TryParse(Packet(1, "f\0octet\0blksize\01024\0\0\0\0"), out var packet, out _));

        Assert.Equal(1024, packet.GetOptions().BlockSize);
        Assert.Equal(1, packet.GetOptions().Count);
        Assert.Equal(Packet(1, "f\0octet\0blksize\01024\0").Length, packet.GetWrittenLength());
    }

    [Theory]
    [InlineData("octet", TftpMode.Octet)]
    [InlineData("OCTET", TftpMode.Octet)]
    [InlineData("Octet", TftpMode.Octet)]
    [InlineData("netascii", TftpMode.NetAscii)]
    [InlineData("NetASCII", TftpMode.NetAscii)]
    [InlineData("mail", TftpMode.Mail)]
    [InlineData("MAIL", TftpMode.Mail)]
    [InlineData("binary", TftpMode.Unknown)]
    [InlineData("", TftpMode.Unknown)]
    public void Mode_is_matched_ignoring_case_and_an_unknown_mode_still_parses(string mode, TftpMode expected)
    {
        Assert.True(TftpPacket.TryParse(Packet(1, $"f\0{mode}\0"), out var packet, out _));

        Assert.Equal(expected, packet.Mode);
        Assert.Equal(mode, packet.ToRequest()!.ModeText);
    }

    [Fact]
    public void Empty_filename_parses_so_the_server_can_answer_it()
    {
        Assert.True(TftpPacket.TryParse(Packet(1, "\0octet\0"), out var packet, out _));

        Assert.Equal("", packet.FileName);
    }

    [Fact]
    public void Data_and_ack_with_block_zero_parse()
    {
        Assert.True(TftpPacket.TryParse(Packet(3, "\0\0x"), out var data, out _));
        Assert.True(TftpPacket.TryParse(Packet(4, "\0\0"), out var ack, out _));

        Assert.Equal(0, data.Block);
        Assert.Equal(0, ack.Block);
    }

    [Fact]
    public void Accessors_of_another_kind_return_empty_values()
    {
        Assert.True(TftpPacket.TryParse(Packet(4, "\0\u0005"), out var ack, out _));

        Assert.True(ack.FileNameBytes.IsEmpty);
        Assert.Equal("", ack.FileName);
        Assert.Equal(TftpMode.Unknown, ack.Mode);
        Assert.True(ack.Payload.IsEmpty);
        Assert.Equal(TftpErrorCode.NotDefined, ack.ErrorCode);
        Assert.Equal("", ack.ErrorMessage);
        Assert.Null(ack.ToRequest());
        Assert.Null(ack.ToError());
        Assert.Null(ack.ToOptionAcknowledgement());
        Assert.Same(TftpOptions.Empty, ack.GetOptions());
        Assert.Equal(5, ack.Block);
    }

    [Fact]
    public void Default_packet_writes_nothing()
    {
        var packet = default(TftpPacket);

        Assert.False(packet.TryWrite(new byte[100], out var written));
        Assert.Equal(0, written);
    }

    [Fact]
    public void Raw_options_are_enumerated_in_wire_order_without_allocating()
    {
        Assert.True(TftpPacket.TryParse(Packet(1, "f\0octet\0BLKSIZE\01468\0x-foo\0\0"), out var packet, out _));
        var names = new List<string>();
        var blksizeSeen = false;

        foreach (var option in packet.Options)
        {
            names.Add(Encoding.Latin1.GetString(option.Name));
            blksizeSeen |= option.NameIs("blksize") && option.NameIs("BlkSize") && option.Value.SequenceEqual("1468"u8);
        }

        Assert.Equal(["BLKSIZE", "x-foo"], names);
        Assert.True(blksizeSeen);
    }
}
