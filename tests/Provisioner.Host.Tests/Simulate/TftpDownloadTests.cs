using Provisioner.Host.Simulate;
using Provisioner.Protocols.Tftp;

namespace Provisioner.Host.Tests.Simulate;

public sealed class TftpDownloadTests
{
    private static byte[] Oack(params (string Name, string Value)[] options)
    {
        var ack = new TftpOptionAcknowledgement(new TftpOptions(options.Select(o => new TftpOption(o.Name, o.Value))));
        var bytes = new byte[ack.GetWrittenLength()];
        Assert.True(ack.TryWrite(bytes, out _));
        return bytes;
    }

    private static byte[] Data(ushort block, int length)
    {
        var bytes = new byte[TftpPacket.HeaderLength + length];
        Assert.True(TftpWriter.TryWriteData(bytes, block, new byte[length], out _));
        return bytes;
    }

    private static byte[] Ack(ushort block)
    {
        var bytes = new byte[4];
        TftpWriter.TryWriteAck(bytes, block, out _);
        return bytes;
    }

    [Fact]
    public void Rrq_asks_for_the_file_in_octet_mode_with_blksize_1432_and_tsize_as_ipxe_does()
    {
        var download = new TftpDownload("undionly.kpxe");

        Assert.True(TftpPacket.TryParse(download.Request, out var packet, out _));
        var request = packet.ToRequest()!;
        Assert.Equal(("undionly.kpxe", TftpMode.Octet, 1432, 0L), (request.FileName, request.Mode, request.Options.BlockSize, request.Options.TransferSize));
        Assert.Same(download.Request, download.LastSent);
    }

    [Fact]
    public void Oack_then_blocks_in_order_are_acked_and_the_short_block_ends_the_file()
    {
        var download = new TftpDownload("undionly.kpxe");

        Expect(TftpStepKind.Send, Ack(0), true, download.Receive(Oack(("blksize", "1432"), ("tsize", "3000"))));
        Expect(TftpStepKind.Send, Ack(1), true, download.Receive(Data(1, 1432)));
        Expect(TftpStepKind.Send, Ack(2), true, download.Receive(Data(2, 1432)));
        Expect(TftpStepKind.Done, Ack(3), true, download.Receive(Data(3, 136)));
        Assert.Equal(3000, download.Received);
        Assert.True(download.Finished);
        Assert.Equal(TftpStepKind.Ignore, download.Receive(Data(3, 136)).Kind);
    }

    [Fact]
    public void A_repeated_block_or_oack_is_acked_again_without_counting_as_progress()
    {
        var download = new TftpDownload("f");
        download.Receive(Oack(("blksize", "512")));
        Expect(TftpStepKind.Send, Ack(0), false, download.Receive(Oack(("blksize", "512"))));
        download.Receive(Data(1, 512));

        var again = download.Receive(Data(1, 512));

        Expect(TftpStepKind.Send, Ack(1), false, again);
        Assert.Equal(Ack(1), download.LastSent);
        Assert.Equal(512, download.Received);
        Assert.Equal(TftpStepKind.Ignore, download.Receive(Data(5, 512)).Kind); // out of order: wait for block 2
    }

    [Fact]
    public void A_server_that_ignores_the_options_sends_512_byte_blocks()
    {
        var download = new TftpDownload("f");

        Assert.Equal(TftpStepKind.Send, download.Receive(Data(1, 512)).Kind);
        Assert.Equal(TftpStepKind.Done, download.Receive(Data(2, 0)).Kind);
        Assert.Equal(512, download.Received);
        Assert.Null(download.TransferSize);
    }

    [Fact]
    public void An_error_a_blksize_above_the_asked_an_oversized_block_or_a_size_other_than_tsize_fails()
    {
        var error = new byte[64];
        Assert.True(TftpWriter.TryWriteError(error, TftpErrorCode.FileNotFound, "no such file", out var written));
        var failed = new TftpDownload("f").Receive(error.AsSpan(0, written));
        Assert.Equal((TftpStepKind.Failed, "TFTP ERROR 1 (FileNotFound): no such file"), (failed.Kind, failed.Reason));

        Assert.Equal(TftpStepKind.Failed, new TftpDownload("f").Receive(Oack(("blksize", "8192"))).Kind);

        var oversized = new TftpDownload("f");
        oversized.Receive(Oack(("blksize", "512")));
        Assert.Equal(TftpStepKind.Failed, oversized.Receive(Data(1, 600)).Kind);

        var short_ = new TftpDownload("f");
        short_.Receive(Oack(("blksize", "512"), ("tsize", "2000")));
        short_.Receive(Data(1, 512));
        var end = short_.Receive(Data(2, 10));
        Assert.Equal((TftpStepKind.Failed, "got 522 bytes, the OACK's tsize said 2000"), (end.Kind, end.Reason));
        Assert.Equal(Ack(2), end.Packet); // the server still gets its last ACK
    }

    [Fact]
    public void Garbage_and_packets_a_client_never_gets_are_ignored()
    {
        var download = new TftpDownload("f");

        Assert.Equal(TftpStepKind.Ignore, download.Receive([0xff]).Kind);
        Assert.Equal(TftpStepKind.Ignore, download.Receive(Ack(1)).Kind);
        Assert.Equal(TftpStepKind.Ignore, download.Receive(download.Request).Kind);
        Assert.Equal(TftpStepKind.Ignore, download.Receive(Data(0, 4)).Kind);
    }

    private static void Expect(TftpStepKind kind, byte[] packet, bool progress, TftpStep actual)
    {
        Assert.Equal((kind, progress, (string?)null), (actual.Kind, actual.Progress, actual.Reason));
        Assert.Equal(packet, actual.Packet);
    }
}
