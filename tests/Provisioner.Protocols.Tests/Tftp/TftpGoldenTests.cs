using Provisioner.Protocols.Tftp;

namespace Provisioner.Protocols.Tests.Tftp;

public class TftpGoldenTests
{
    private static readonly byte[] HelloTxt = File.ReadAllBytes(TftpPcap.GoldenPath("hello.txt"));

    public static TheoryData<string, string> CapturedPackets => new()
    {
        { nameof(TftpGolden.TftpHpaRrq), "tftp-hpa-netascii-get.pcap" },
        { nameof(TftpGolden.AtftpRrq), "atftp-options-get.pcap" },
        { nameof(TftpGolden.AtftpTsizeEnableRrq), "atftp-tsize-enable-get.pcap" },
        { nameof(TftpGolden.CurlRrq), "curl-blksize-get.pcap" },
        { nameof(TftpGolden.TftpdHpaOackToCurl), "curl-blksize-get.pcap" },
        { nameof(TftpGolden.TftpdHpaOackToAtftp), "atftp-options-get.pcap" },
        { nameof(TftpGolden.CurlAckOfOack), "curl-blksize-get.pcap" },
        { nameof(TftpGolden.TftpHpaMissingFileRrq), "tftp-hpa-missing-file.pcap" },
        { nameof(TftpGolden.TftpdHpaFileNotFound), "tftp-hpa-missing-file.pcap" },
        { nameof(TftpGolden.TftpHpaAckAfterError), "tftp-hpa-missing-file.pcap" },
    };

    public static TheoryData<string> GoldenNames => [.. TftpGolden.All.Select(g => g.Name)];

    public static TheoryData<string> Captures => [.. TftpPcap.AllCaptures().Select(p => Path.GetFileName(p))];

    private static byte[] Golden(string name) => TftpGolden.All.Single(g => g.Name == name).Bytes;

    [Theory]
    [MemberData(nameof(CapturedPackets))]
    public void Hex_in_the_source_is_a_datagram_of_its_capture(string name, string pcap)
    {
        var payloads = TftpPcap.ReadUdp(TftpPcap.GoldenPath(pcap)).Select(d => d.Payload);

        Assert.Contains(payloads, p => p.AsSpan().SequenceEqual(Golden(name)));
    }

    [Theory]
    [MemberData(nameof(GoldenNames))]
    public void Golden_packet_parses_and_writes_back_byte_for_byte(string name)
    {
        var bytes = Golden(name);

        Assert.True(TftpPacket.TryParse(bytes, out var packet, out var error), $"{name}: {error}");
        var buffer = new byte[bytes.Length];
        Assert.True(packet.TryWrite(buffer, out var written));
        Assert.Equal(bytes, buffer[..written]);
    }

    [Theory]
    [MemberData(nameof(Captures))]
    public void Every_datagram_of_every_capture_parses(string pcap)
    {
        var datagrams = TftpPcap.ReadUdp(TftpPcap.GoldenPath(pcap));

        Assert.NotEmpty(datagrams);
        foreach (var datagram in datagrams)
        {
            Assert.True(TftpPacket.TryParse(datagram.Payload, out var packet, out var error), $"{pcap}: {error}");
            var buffer = new byte[datagram.Payload.Length];
            Assert.True(packet.TryWrite(buffer, out var written));
            Assert.Equal(datagram.Payload, buffer[..written]);
        }
    }

    [Fact]
    public void Tftp_hpa_asks_in_netascii_with_no_options()
    {
        var request = Parse(TftpGolden.TftpHpaRrq).ToRequest()!;

        Assert.Equal(TftpOpcode.ReadRequest, request.Opcode);
        Assert.Equal("hello.txt", request.FileName);
        Assert.Equal(TftpMode.NetAscii, request.Mode);
        Assert.Equal(0, request.Options.Count);
    }

    [Fact]
    public void Atftp_asks_for_tsize_blksize_and_windowsize()
    {
        var options = Parse(TftpGolden.AtftpRrq).ToRequest()!.Options;

        Assert.Equal(["tsize", "blksize", "windowsize"], options.All.Select(o => o.Name));
        Assert.Equal(0, options.TransferSize);
        Assert.Equal(1468, options.BlockSize);
        Assert.Equal(4, options.WindowSize);
        Assert.Null(options.TimeoutSeconds);
    }

    [Fact]
    public void Atftp_tsize_enable_is_kept_raw_but_not_requested()
    {
        var options = Parse(TftpGolden.AtftpTsizeEnableRrq).GetOptions();

        Assert.True(options.Contains("tsize"));
        Assert.Equal("enable", options.GetValue("tsize"));
        Assert.Null(options.TransferSize);
    }

    [Fact]
    public void Curl_asks_for_tsize_blksize_and_a_timeout_of_its_own()
    {
        var request = Parse(TftpGolden.CurlRrq).ToRequest()!;

        Assert.Equal(TftpMode.Octet, request.Mode);
        Assert.Equal(0, request.Options.TransferSize);
        Assert.Equal(1468, request.Options.BlockSize);
        Assert.Equal(6, request.Options.TimeoutSeconds);
        Assert.Null(request.Options.WindowSize);
    }

    [Fact]
    public void Tftpd_hpa_oack_announces_the_file_size_and_echoes_what_it_accepted()
    {
        var toCurl = Parse(TftpGolden.TftpdHpaOackToCurl).ToOptionAcknowledgement()!.Options;
        var toAtftp = Parse(TftpGolden.TftpdHpaOackToAtftp).ToOptionAcknowledgement()!.Options;

        Assert.Equal((3000L, 1468, 6), (toCurl.TransferSize!.Value, toCurl.BlockSize!.Value, toCurl.TimeoutSeconds!.Value));
        Assert.Equal(3000, toAtftp.TransferSize);
        Assert.Equal(1468, toAtftp.BlockSize);
        Assert.Null(toAtftp.WindowSize);
    }

    [Fact]
    public void Ack_zero_acknowledges_the_oack()
    {
        var ack = Parse(TftpGolden.CurlAckOfOack);

        Assert.Equal(TftpOpcode.Acknowledgement, ack.Opcode);
        Assert.Equal(0, ack.Block);
    }

    [Fact]
    public void Missing_file_is_answered_with_error_1_and_tftp_hpa_acks_anyway()
    {
        var error = Parse(TftpGolden.TftpdHpaFileNotFound).ToError()!;
        var strayAck = Parse(TftpGolden.TftpHpaAckAfterError);

        Assert.Equal(new TftpError(TftpErrorCode.FileNotFound, "File not found"), error);
        Assert.Equal((TftpOpcode.Acknowledgement, (ushort)1), (strayAck.Opcode, strayAck.Block));
    }

    [Fact]
    public void Edk2_reconstructed_request_and_abort_parse()
    {
        var request = Parse(TftpGolden.Edk2Rrq).ToRequest()!;
        var abort = Parse(TftpGolden.Edk2AbortAfterOack).ToError()!;

        Assert.Equal("ipxe.efi", request.FileName);
        Assert.Equal(TftpMode.Octet, request.Mode);
        Assert.Equal((0L, 1468, 4), (request.Options.TransferSize!.Value, request.Options.BlockSize!.Value, request.Options.WindowSize!.Value));
        Assert.Equal(TftpErrorCode.OptionNegotiationRefused, abort.Code);
        Assert.Equal("User aborted the transfer", abort.Message);
    }

    [Fact]
    public void Edk2_request_is_what_our_writer_produces_for_the_same_options()
    {
        var request = TftpRequest.Read(
            "ipxe.efi",
            TftpMode.Octet,
            new TftpOptions([new("tsize", "0"), new("blksize", "1468"), new("windowsize", "4")]));
        var buffer = new byte[request.GetWrittenLength()];

        Assert.True(request.TryWrite(buffer, out var written));
        Assert.Equal(TftpGolden.Edk2Rrq, buffer[..written]);
    }

    [Theory]
    [InlineData("atftp-options-get.pcap")]
    [InlineData("curl-blksize-get.pcap")]
    [InlineData("atftp-tsize-enable-get.pcap")]
    public void Octet_transfer_data_blocks_reassemble_the_served_file(string pcap)
    {
        var blocks = DataBlocks(pcap);

        Assert.Equal(Enumerable.Range(1, blocks.Count).Select(i => (ushort)i), blocks.Select(b => b.Block));
        Assert.Equal(HelloTxt, blocks.SelectMany(b => b.Payload).ToArray());
    }

    [Fact]
    public void Netascii_transfer_from_tftpd_hpa_decodes_to_the_served_file_block_by_block()
    {
        var blocks = DataBlocks("tftp-hpa-netascii-get.pcap");
        var decoder = new NetasciiDecoder();
        var output = new List<byte>();

        foreach (var (_, payload) in blocks)
        {
            var buffer = new byte[payload.Length + 1];
            decoder.Decode(payload, buffer, out var consumed, out var written);
            Assert.Equal(payload.Length, consumed);
            output.AddRange(buffer[..written]);
        }

        var tail = new byte[1];
        output.AddRange(tail[..decoder.Flush(tail)]);
        Assert.Equal(HelloTxt, output.ToArray());
    }

    [Fact]
    public void Netascii_transfer_from_tftpd_hpa_splits_both_escapes_across_blocks()
    {
        var blocks = DataBlocks("tftp-hpa-netascii-get.pcap");

        // Block 1 ends with the CR of CR LF and block 2 opens with its LF; block 2 ends with the CR of
        // CR NUL (a bare CR in the file) and block 3 opens with the NUL. hello.txt is laid out for this.
        Assert.Equal((byte)'\r', blocks[0].Payload[^1]);
        Assert.Equal((byte)'\n', blocks[1].Payload[0]);
        Assert.Equal((byte)'\r', blocks[1].Payload[^1]);
        Assert.Equal(0, blocks[2].Payload[0]);
    }

    [Fact]
    public void Netascii_encoder_produces_the_same_blocks_as_tftpd_hpa()
    {
        var captured = DataBlocks("tftp-hpa-netascii-get.pcap").Select(b => b.Payload).ToList();
        var encoder = new NetasciiEncoder();
        var produced = new List<byte[]>();
        var source = HelloTxt.AsSpan();

        while (true)
        {
            var block = new byte[TftpOptions.DefaultBlockSize];
            encoder.Encode(source, block, out var consumed, out var written);
            source = source[consumed..];
            produced.Add(block[..written]);
            if (written < block.Length)
            {
                break;
            }
        }

        Assert.Equal(captured, produced);
        Assert.Equal(captured.Sum(b => b.Length), NetasciiEncoder.GetEncodedLength(HelloTxt));
    }

    private static TftpPacket Parse(byte[] bytes)
    {
        Assert.True(TftpPacket.TryParse(bytes, out var packet, out var error), error.ToString());
        return packet;
    }

    private static List<(ushort Block, byte[] Payload)> DataBlocks(string pcap)
    {
        var blocks = new List<(ushort, byte[])>();
        foreach (var datagram in TftpPcap.ReadUdp(TftpPcap.GoldenPath(pcap)))
        {
            if (TftpPacket.TryParse(datagram.Payload, out var packet, out _) && packet.Opcode == TftpOpcode.Data)
            {
                blocks.Add((packet.Block, packet.Payload.ToArray()));
            }
        }

        return blocks;
    }
}
