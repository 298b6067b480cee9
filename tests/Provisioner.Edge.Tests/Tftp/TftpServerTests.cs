using System.Diagnostics;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Provisioner.Protocols.Tftp;

namespace Provisioner.Edge.Tests.Tftp;

public sealed class TftpServerTests
{
    private const int SeventyKb = 70 * 1024;

    [Fact]
    public async Task Lockstep_transfer_without_options_is_byte_identical_and_reported_once()
    {
        var content = ServerScope.RandomBytes(SeventyKb + 123, 1);
        await using var scope = await ServerScope.StartAsync();
        scope.Write("ipxe.efi", content);

        var result = await TestTftpClient.GetAsync(scope.EndPoint, "ipxe.efi");
        await scope.DrainAsync();

        Assert.Null(result.Error);
        Assert.Null(result.Oack);
        Assert.Equal(content, result.Data);
        Assert.Equal((content.Length / 512) + 1, result.DataPackets);
        var record = Assert.Single(scope.Observer.Completed);
        Assert.Empty(scope.Observer.Failed);
        Assert.Equal(content.Length, record.BytesSent);
        Assert.Equal("ipxe.efi", record.RequestedFileName);
        Assert.Equal("ipxe.efi", record.ResolvedFileName);
        Assert.Equal(512, record.BlockSize);
        Assert.Equal(1, record.WindowSize);
        Assert.False(record.EndedByClientError);
        Assert.Contains(scope.Logger.Entries, e => e.Level == LogLevel.Information && e.Message.Contains("MB/s") && e.Message.Contains("ipxe.efi"));
    }

    [Fact]
    public async Task Blksize_tsize_timeout_and_windowsize_are_acknowledged_and_unknown_options_ignored()
    {
        var content = ServerScope.RandomBytes(SeventyKb, 2);
        await using var scope = await ServerScope.StartAsync();
        scope.Write("undionly.kpxe", content);
        var options = new TftpOptions(
        [
            new TftpOption("BLKSIZE", "1468"),
            new TftpOption("tsize", "0"),
            new TftpOption("timeout", "3"),
            new TftpOption("windowsize", "8"),
            new TftpOption("multicast", ""),
            new TftpOption("x-vendor", "42"),
        ]);

        var result = await TestTftpClient.GetAsync(scope.EndPoint, "undionly.kpxe", new TestClientBehaviour { Options = options });

        Assert.Null(result.Error);
        Assert.Equal(content, result.Data);
        var oack = result.Oack!;
        Assert.Equal(["blksize=1468", "tsize=71680", "timeout=3", "windowsize=8"], oack.All.Select(o => o.ToString()));
        Assert.Equal((content.Length / 1468) + 1, result.DataPackets);
        await scope.DrainAsync();
        var record = Assert.Single(scope.Observer.Completed);
        Assert.Equal(1468, record.BlockSize);
        Assert.Equal(8, record.WindowSize);
    }

    [Fact]
    public async Task Blksize_and_windowsize_are_capped_at_the_configured_maximum()
    {
        var content = ServerScope.RandomBytes(20000, 3);
        await using var scope = await ServerScope.StartAsync(o => o with { MaxBlockSize = 1024, MaxWindowSize = 16 });
        scope.Write("f", content);

        var result = await TestTftpClient.GetAsync(
            scope.EndPoint, "f", new TestClientBehaviour { Options = TftpOptions.Create(blockSize: 65464, windowSize: 1000) });

        Assert.Equal(content, result.Data);
        Assert.Equal(1024, result.Oack!.BlockSize);
        Assert.Equal(16, result.Oack.WindowSize);
    }

    [Fact]
    public async Task Tsize_alone_gets_an_oack_with_the_file_size()
    {
        await using var scope = await ServerScope.StartAsync();
        scope.Write("f", new byte[1000]);

        var result = await TestTftpClient.GetAsync(scope.EndPoint, "f", new TestClientBehaviour { Options = TftpOptions.Create(transferSize: 0) });

        Assert.Equal(["tsize=1000"], result.Oack!.All.Select(o => o.ToString()));
        Assert.Equal(1000, result.Length);
    }

    [Theory]
    [InlineData(4, 512)]
    [InlineData(32, 512)]
    [InlineData(32, 1468)]
    [InlineData(8, 8)]
    public async Task Windowed_transfers_are_byte_identical(int windowSize, int blockSize)
    {
        var content = ServerScope.RandomBytes((SeventyKb * 3) + 7, windowSize);
        await using var scope = await ServerScope.StartAsync();
        scope.Write("f.bin", content);

        var result = await TestTftpClient.GetAsync(
            scope.EndPoint, "f.bin", new TestClientBehaviour { Options = TftpOptions.Create(blockSize: blockSize, windowSize: windowSize) });

        Assert.Null(result.Error);
        Assert.Equal(content, result.Data);
        Assert.Equal(windowSize, result.Oack!.WindowSize);
        Assert.Equal((content.Length / blockSize) + 1, result.DataPackets);
    }

    [Fact]
    public async Task File_of_a_multiple_of_the_block_size_ends_with_an_empty_block()
    {
        await using var scope = await ServerScope.StartAsync();
        scope.Write("f", ServerScope.RandomBytes(2048, 4));

        var result = await TestTftpClient.GetAsync(scope.EndPoint, "f");

        Assert.Equal(2048, result.Length);
        Assert.Equal([1, 2, 3, 4, 5], result.Blocks.Select(b => (int)b));
        await scope.DrainAsync();
        Assert.Equal(2048, Assert.Single(scope.Observer.Completed).BytesSent);
    }

    [Fact]
    public async Task Empty_file_is_one_empty_block()
    {
        await using var scope = await ServerScope.StartAsync();
        scope.Write("empty", []);

        var result = await TestTftpClient.GetAsync(scope.EndPoint, "empty");

        Assert.Null(result.Error);
        Assert.Equal(0, result.Length);
        Assert.Equal(1, result.DataPackets);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(16)]
    public async Task Block_numbers_roll_over_past_65535_at_blksize_512(int windowSize)
    {
        // 33.5 MB at 512-byte blocks is 68608 blocks: numbers wrap to 0 after 65535. Each block starts with
        // its own index, so a block sent twice or out of place changes the hash.
        const long length = (67L * 1024 * 1024 / 2) + 100;
        await using var scope = await ServerScope.StartAsync(o => o with { CacheBytes = 0 });
        var path = Path.Combine(scope.Root, "big.img");
        using (var file = new FileStream(path, FileMode.Create, FileAccess.Write))
        {
            file.SetLength(length);
            var marker = new byte[16];
            for (long block = 0; block * 512 < length; block++)
            {
                BitConverter.TryWriteBytes(marker, block);
                BitConverter.TryWriteBytes(marker.AsSpan(8), ~block);
                file.Position = block * 512;
                file.Write(marker, 0, (int)Math.Min(marker.Length, length - file.Position));
            }
        }

        string expected;
        using (var read = File.OpenRead(path))
        {
            expected = Convert.ToHexString(await SHA256.HashDataAsync(read));
        }

        var behaviour = new TestClientBehaviour
        {
            KeepData = false,
            Options = windowSize == 1 ? null : TftpOptions.Create(blockSize: 512, windowSize: windowSize),
        };
        var result = await TestTftpClient.GetAsync(scope.EndPoint, "big.img", behaviour);

        Assert.Null(result.Error);
        Assert.Equal(length, result.Length);
        Assert.Equal(expected, result.Sha256);
        Assert.Equal((length / 512) + 1, result.DataPackets);
        Assert.Contains((ushort)0, result.Blocks);
        await scope.DrainAsync();
        Assert.Equal(length, Assert.Single(scope.Observer.Completed).BytesSent);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    public async Task Duplicate_ack_does_not_resend_the_window(int dedicatedThreads)
    {
        var content = ServerScope.RandomBytes((512 * 40) + 100, 5);
        await using var scope = await ServerScope.StartAsync(o => o with { Timeout = TimeSpan.FromSeconds(5), DedicatedThreads = dedicatedThreads });
        scope.Write("f", content);
        var behaviour = new TestClientBehaviour
        {
            Options = TftpOptions.Create(blockSize: 512, windowSize: 4),
            DuplicateAckOf = new HashSet<long> { 0, 4, 8, 12, 36 },
        };

        var result = await TestTftpClient.GetAsync(scope.EndPoint, "f", behaviour);

        Assert.Equal(content, result.Data);
        Assert.Equal(41, result.DataPackets); // every block exactly once
        Assert.Equal(Enumerable.Range(1, 41).Select(i => (ushort)i), result.Blocks);
        await scope.DrainAsync();
        AssertRanOn(scope, dedicatedThreads);
    }

    [Fact]
    public async Task Duplicate_ack_in_lockstep_does_not_resend_the_block()
    {
        var content = ServerScope.RandomBytes(512 * 10, 6);
        await using var scope = await ServerScope.StartAsync(o => o with { Timeout = TimeSpan.FromSeconds(5) });
        scope.Write("f", content);

        var result = await TestTftpClient.GetAsync(scope.EndPoint, "f", new TestClientBehaviour { DuplicateAckOf = new HashSet<long> { 1, 2, 3, 9 } });

        Assert.Equal(content, result.Data);
        Assert.Equal(11, result.DataPackets);
    }

    [Theory]
    [InlineData(1, 3, 4)]
    [InlineData(8, 8, 0)]
    [InlineData(8, 8, 4)]
    [InlineData(8, 0, 0)]
    [InlineData(8, 0, 4)]
    public async Task Lost_ack_triggers_retransmission(int windowSize, long droppedAck, int dedicatedThreads)
    {
        var content = ServerScope.RandomBytes((512 * 30) + 1, 7);
        await using var scope = await ServerScope.StartAsync(o => o with { Timeout = TimeSpan.FromMilliseconds(200), DedicatedThreads = dedicatedThreads });
        scope.Write("f", content);
        var behaviour = new TestClientBehaviour
        {
            Options = TftpOptions.Create(blockSize: 512, windowSize: windowSize),
            DropAckOf = droppedAck,
            Timeout = TimeSpan.FromSeconds(5),
        };

        var result = await TestTftpClient.GetAsync(scope.EndPoint, "f", behaviour);

        Assert.Null(result.Error);
        Assert.Equal(content, result.Data);
        Assert.True(result.DataPackets > 31 || result.OackPackets > 1, $"expected a retransmission, got {result.DataPackets} DATA, {result.OackPackets} OACK");
        await scope.DrainAsync();
        Assert.Empty(scope.Observer.Failed.Select(f => f.Reason + " " + f.Record.BytesSent));
        Assert.Equal(content.Length, Assert.Single(scope.Observer.Completed).BytesSent);
        AssertRanOn(scope, dedicatedThreads);
    }

    [Theory]
    [InlineData(8, 1468, 0)]
    [InlineData(8, 1468, 4)]
    [InlineData(32, 1468, 0)]
    [InlineData(32, 1468, 4)]
    [InlineData(64, 512, 4)]
    public async Task Lost_data_mid_window_resends_from_the_gap_and_the_file_stays_identical(int windowSize, int blockSize, int dedicatedThreads)
    {
        // A gap makes the client ACK mid-window, so the next window starts mid-ring and wraps round its end:
        // the segmented sends must cut the window into runs of consecutive slots.
        var content = ServerScope.RandomBytes((blockSize * windowSize * 5) + 123, 9);
        await using var scope = await ServerScope.StartAsync(o => o with { Timeout = TimeSpan.FromSeconds(1), MaxWindowSize = 64, DedicatedThreads = dedicatedThreads });
        scope.Write("f", content);
        var behaviour = new TestClientBehaviour
        {
            Options = TftpOptions.Create(blockSize: blockSize, windowSize: windowSize),
            LoseDataOf = new HashSet<long> { 3, windowSize + 5, (3 * windowSize) - 1 },
            Timeout = TimeSpan.FromSeconds(5),
        };

        var result = await TestTftpClient.GetAsync(scope.EndPoint, "f", behaviour);

        Assert.Null(result.Error);
        Assert.Equal(content, result.Data);
        await scope.DrainAsync();
        Assert.Empty(scope.Observer.Failed.Select(f => f.Reason + " " + f.Record.BytesSent));
        Assert.Equal(content.Length, Assert.Single(scope.Observer.Completed).BytesSent);
        AssertRanOn(scope, dedicatedThreads);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    public async Task Final_ack_queued_behind_an_icmp_error_completes_the_transfer(int dedicatedThreads)
    {
        // 10 blocks in windows of 4: 1-4, 5-8, 9-10. The client ACKs 9 (as if 10 were lost), then 10 on the second
        // arrival it never waits for, and closes its port at once, the way tftp clients exit after their last ACK.
        // The server's resend of 10 for ACK 9 meets the closed port, and Linux reports that ICMP error before the
        // ACK 10 queued behind it: the client has the whole file, and the server must say so.
        var content = ServerScope.RandomBytes((512 * 9) + 10, 11);
        await using var scope = await ServerScope.StartAsync(o => o with { DedicatedThreads = dedicatedThreads });
        scope.Write("f", content);
        var client = TftpSockets.Loopback();
        var (tid, oack) = await TftpRaw.RequestAsync(client, scope.EndPoint, "f", TftpOptions.Create(blockSize: 512, windowSize: 4));
        Assert.Equal(TftpOpcode.OptionAcknowledgement, oack);
        TftpRaw.Ack(client, tid, 0);
        Assert.Equal(new[] { 1, 2, 3, 4 }, await TftpRaw.ReceiveBlocksAsync(client, 4));
        TftpRaw.Ack(client, tid, 4);
        Assert.Equal(new[] { 5, 6, 7, 8 }, await TftpRaw.ReceiveBlocksAsync(client, 4));
        TftpRaw.Ack(client, tid, 8);
        Assert.Equal(new[] { 9, 10 }, await TftpRaw.ReceiveBlocksAsync(client, 2));

        TftpRaw.Ack(client, tid, 9);
        TftpRaw.Ack(client, tid, 10);
        client.Dispose();

        await scope.DrainAsync();
        Assert.Empty(scope.Observer.Failed.Select(f => f.Reason));
        Assert.Equal(content.Length, Assert.Single(scope.Observer.Completed).BytesSent);
        AssertRanOn(scope, dedicatedThreads);
    }

    [Fact]
    public async Task Error_8_after_oack_is_neither_completion_nor_failure()
    {
        await using var scope = await ServerScope.StartAsync();
        scope.Write("ipxe.efi", ServerScope.RandomBytes(SeventyKb, 8));

        var result = await TestTftpClient.GetAsync(
            scope.EndPoint, "ipxe.efi", new TestClientBehaviour { Options = TftpOptions.Create(transferSize: 0), AbortAfterOack = true });
        await scope.DrainAsync();

        Assert.Equal(SeventyKb, result.Oack!.TransferSize);
        Assert.Empty(scope.Observer.Completed);
        Assert.Empty(scope.Observer.Failed);
        Assert.Contains(scope.Logger.Entries, e => e.Level == LogLevel.Debug && e.Message.Contains("after the OACK"));
    }

    [Theory]
    [InlineData(1, 0)]
    [InlineData(1, 4)]
    [InlineData(4, 0)]
    [InlineData(4, 4)]
    public async Task Silent_client_is_abandoned_after_the_retries_and_reported_failed(int windowSize, int dedicatedThreads)
    {
        await using var scope = await ServerScope.StartAsync(o => o with { Timeout = TimeSpan.FromMilliseconds(50), Retries = 2, DedicatedThreads = dedicatedThreads });
        scope.Write("f", ServerScope.RandomBytes(5000, 9));

        var result = await TestTftpClient.GetAsync(
            scope.EndPoint, "f", new TestClientBehaviour
            {
                Options = windowSize == 1 ? null : TftpOptions.Create(blockSize: 512, windowSize: windowSize),
                GoSilentAfterData = windowSize + 1, // acknowledges the first window, then nothing
                Timeout = TimeSpan.FromMilliseconds(200),
                Retries = 1,
            });
        await scope.DrainAsync();

        Assert.NotNull(result.Error);
        Assert.Empty(scope.Observer.Completed);
        var (record, reason) = Assert.Single(scope.Observer.Failed);
        Assert.Contains("timed out", reason);
        Assert.False(record.EndedByClientError);
        Assert.Equal(windowSize * 512, record.BytesSent); // the acknowledged window, no more
        AssertRanOn(scope, dedicatedThreads);
    }

    [Theory]
    [InlineData("../etc/passwd")]
    [InlineData("a/../../x")]
    [InlineData("a/../f")]
    [InlineData("..")]
    [InlineData("//etc/passwd")]
    [InlineData("..\\..\\etc\\passwd")]
    [InlineData("a\\f")]
    [InlineData("escape-link")]
    [InlineData("escape-dir/passwd")]
    [InlineData("/etc/passwd")]
    [InlineData("relative-escape")]
    [InlineData("a")]
    public async Task Path_escapes_are_refused_with_access_violation(string name)
    {
        await using var scope = await ServerScope.StartAsync(populate: root =>
        {
            File.WriteAllText(Path.Combine(root, "f"), "inside");
            Directory.CreateDirectory(Path.Combine(root, "a"));
            File.CreateSymbolicLink(Path.Combine(root, "escape-link"), "/etc/passwd");
            Directory.CreateSymbolicLink(Path.Combine(root, "escape-dir"), "/etc");
            Directory.CreateSymbolicLink(Path.Combine(root, "etc"), "/etc"); // so "/etc/passwd" exists under the root, via a link out
            File.CreateSymbolicLink(Path.Combine(root, "relative-escape"), "../../../../../../../../etc/passwd");
        });

        var result = await TestTftpClient.GetAsync(scope.EndPoint, name);
        await scope.DrainAsync();

        Assert.Equal(TftpErrorCode.AccessViolation, result.Error?.Code);
        Assert.Equal(0, result.DataPackets);
        Assert.Empty(scope.Observer.Completed);
        var (record, _) = Assert.Single(scope.Observer.Failed);
        Assert.Equal(name, record.RequestedFileName);
        Assert.Contains(scope.Logger.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains(name) && e.Message.Contains("127.0.0.1"));
    }

    [Fact]
    public async Task Absolute_looking_name_is_taken_relative_to_the_root()
    {
        await using var scope = await ServerScope.StartAsync();
        scope.Write("etc/passwd", "not the host's"u8.ToArray());
        scope.Write("ipxe.efi", [1, 2, 3]);

        var passwd = await TestTftpClient.GetAsync(scope.EndPoint, "/etc/passwd");
        var ipxe = await TestTftpClient.GetAsync(scope.EndPoint, "/ipxe.efi");
        await scope.DrainAsync();

        Assert.Equal("not the host's"u8.ToArray(), passwd.Data);
        Assert.Equal([1, 2, 3], ipxe.Data);
        Assert.Contains(scope.Observer.Completed, r => r.RequestedFileName == "/ipxe.efi" && r.ResolvedFileName == "ipxe.efi");
    }

    [Fact]
    public async Task Host_file_is_not_found_when_the_root_has_no_such_path()
    {
        await using var scope = await ServerScope.StartAsync();

        var result = await TestTftpClient.GetAsync(scope.EndPoint, "/etc/passwd");

        Assert.Equal(TftpErrorCode.FileNotFound, result.Error?.Code);
        Assert.Equal(0, result.DataPackets);
    }

    [Fact]
    public async Task Symlink_inside_the_root_pointing_inside_is_served()
    {
        await using var scope = await ServerScope.StartAsync(populate: root =>
        {
            Directory.CreateDirectory(Path.Combine(root, "images", "v1"));
            File.WriteAllText(Path.Combine(root, "images", "v1", "vmlinuz"), "kernel");
            File.CreateSymbolicLink(Path.Combine(root, "current"), "images/v1/vmlinuz");
            Directory.CreateSymbolicLink(Path.Combine(root, "latest"), "images/v1");
        });

        var viaFileLink = await TestTftpClient.GetAsync(scope.EndPoint, "current");
        var viaDirLink = await TestTftpClient.GetAsync(scope.EndPoint, "latest/vmlinuz");
        await scope.DrainAsync();

        Assert.Equal("kernel"u8.ToArray(), viaFileLink.Data);
        Assert.Equal("kernel"u8.ToArray(), viaDirLink.Data);
        Assert.All(scope.Observer.Completed, r => Assert.Equal("images/v1/vmlinuz", r.ResolvedFileName));
    }

    [Fact]
    public async Task Missing_file_is_error_1_and_directory_is_refused()
    {
        await using var scope = await ServerScope.StartAsync(populate: root => Directory.CreateDirectory(Path.Combine(root, "dir")));

        var missing = await TestTftpClient.GetAsync(scope.EndPoint, "nope.efi");
        var directory = await TestTftpClient.GetAsync(scope.EndPoint, "dir");

        Assert.Equal(TftpErrorCode.FileNotFound, missing.Error?.Code);
        Assert.Equal(TftpErrorCode.AccessViolation, directory.Error?.Code);
    }

    [Fact]
    public async Task Write_request_is_refused_with_access_violation()
    {
        await using var scope = await ServerScope.StartAsync(o => o with { WriteDirectory = "/tmp" });

        var error = await TestTftpClient.PutAsync(scope.EndPoint, "upload.bin");
        await scope.DrainAsync();

        Assert.Equal(TftpErrorCode.AccessViolation, error?.Code);
        Assert.False(File.Exists(Path.Combine(scope.Root, "upload.bin")));
        Assert.Single(scope.Observer.Failed);
    }

    [Fact]
    public async Task Netascii_is_encoded_and_tsize_is_the_encoded_length()
    {
        await using var scope = await ServerScope.StartAsync();
        var text = "line one\nbare\rcr\r\n" + new string('x', 1000) + "\n";
        scope.Write("boot.cfg", System.Text.Encoding.ASCII.GetBytes(text));
        var expected = System.Text.Encoding.ASCII.GetBytes(text.Replace("\r", "\r\0").Replace("\n", "\r\n"));

        var result = await TestTftpClient.GetAsync(
            scope.EndPoint, "boot.cfg", new TestClientBehaviour { Mode = TftpMode.NetAscii, Options = TftpOptions.Create(transferSize: 0) });

        Assert.Equal(expected, result.Data);
        Assert.Equal(expected.Length, result.Oack!.TransferSize);
    }

    [Fact]
    public async Task Netascii_of_an_uncached_file_streams_from_disk()
    {
        await using var scope = await ServerScope.StartAsync(o => o with { CacheBytes = 0 });
        var raw = new byte[100_000];
        for (var i = 0; i < raw.Length; i++)
        {
            raw[i] = (byte)(i % 7 == 0 ? '\n' : i % 11 == 0 ? '\r' : 'a' + (i % 26));
        }

        scope.Write("t.txt", raw);
        var encoded = new byte[NetasciiEncoder.GetEncodedLength(raw)];
        new NetasciiEncoder().Encode(raw, encoded, out _, out _);

        var result = await TestTftpClient.GetAsync(
            scope.EndPoint, "t.txt", new TestClientBehaviour { Mode = TftpMode.NetAscii, Options = TftpOptions.Create(transferSize: 0, blockSize: 1000, windowSize: 4) });

        Assert.Equal(encoded.Length, result.Oack!.TransferSize);
        Assert.Equal(encoded, result.Data);
    }

    [Fact]
    public async Task Mail_mode_is_an_illegal_operation()
    {
        await using var scope = await ServerScope.StartAsync();
        scope.Write("f", [1]);

        var result = await TestTftpClient.GetAsync(scope.EndPoint, "f", new TestClientBehaviour { Mode = TftpMode.Mail });

        Assert.Equal(TftpErrorCode.IllegalOperation, result.Error?.Code);
    }

    [Fact]
    public async Task Changed_file_is_read_again_not_served_from_the_cache()
    {
        await using var scope = await ServerScope.StartAsync();
        var path = scope.Write("f", "version one"u8.ToArray());

        var first = await TestTftpClient.GetAsync(scope.EndPoint, "f");
        Assert.Equal(1, scope.Server.Cache.Count);
        File.WriteAllBytes(path, "version two, longer"u8.ToArray());
        var second = await TestTftpClient.GetAsync(scope.EndPoint, "f");
        File.WriteAllBytes(path, "VERSION TWO, LONGER"u8.ToArray());
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddMinutes(1));
        var third = await TestTftpClient.GetAsync(scope.EndPoint, "f");

        Assert.Equal("version one"u8.ToArray(), first.Data);
        Assert.Equal("version two, longer"u8.ToArray(), second.Data);
        Assert.Equal("VERSION TWO, LONGER"u8.ToArray(), third.Data);
    }

    [Fact]
    public async Task Two_hundred_concurrent_downloads_are_byte_identical_and_each_reported_once()
    {
        var content = ServerScope.RandomBytes(SeventyKb, 10);
        await using var scope = await ServerScope.StartAsync();
        scope.Write("ipxe.efi", content);
        var watch = Stopwatch.StartNew();

        // 200 machines: each from its own loopback address, as the per-client cap expects of real machines.
        var results = await Task.WhenAll(Enumerable.Range(0, 200).Select(i => Task.Run(async () =>
        {
            using var socket = TftpSockets.Loopback(1, i + 1);
            return await TestTftpClient.GetAsync(
                scope.EndPoint,
                "ipxe.efi",
                new TestClientBehaviour { Options = i % 2 == 0 ? null : TftpOptions.Create(blockSize: 1468, transferSize: 0, windowSize: 8), Timeout = TimeSpan.FromSeconds(3) },
                socket);
        })));
        await scope.DrainAsync();

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), $"took {watch.Elapsed}");
        Assert.All(results, r => Assert.Equal(content, r.Data));
        Assert.Equal(200, scope.Observer.Completed.Count);
        Assert.All(scope.Observer.Completed, r => Assert.Equal(content.Length, r.BytesSent));
        Assert.Equal(200, scope.Observer.Completed.Select(r => r.Client).Distinct().Count());
        Assert.Empty(scope.Observer.Failed);
    }

    [Fact]
    public async Task Each_transfer_uses_a_new_tid()
    {
        await using var scope = await ServerScope.StartAsync();
        scope.Write("f", [1, 2, 3]);

        var result = await TestTftpClient.GetAsync(scope.EndPoint, "f");

        Assert.NotEqual(scope.EndPoint.Port, result.ServerTid!.Port);
        Assert.Equal(scope.EndPoint.Address, result.ServerTid.Address);
    }

    [Fact]
    public async Task Edk2_probe_then_a_new_request_from_the_same_port_is_served_at_once()
    {
        var content = ServerScope.RandomBytes(SeventyKb, 11);
        await using var scope = await ServerScope.StartAsync(o => o with { Timeout = TimeSpan.FromSeconds(5) });
        scope.Write("ipxe.efi", content);
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
        socket.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        var watch = Stopwatch.StartNew();

        var probe = await TestTftpClient.GetAsync(
            scope.EndPoint, "ipxe.efi", new TestClientBehaviour { Options = TftpOptions.Create(blockSize: 1468, transferSize: 0), AbortAfterOack = true }, useSocket: socket);
        var download = await TestTftpClient.GetAsync(
            scope.EndPoint, "ipxe.efi", new TestClientBehaviour { Options = TftpOptions.Create(blockSize: 1468), Timeout = TimeSpan.FromSeconds(10) }, useSocket: socket);
        await scope.DrainAsync();

        Assert.Equal(SeventyKb, probe.Oack!.TransferSize);
        Assert.Equal(content, download.Data);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(2), $"took {watch.Elapsed}: the second request waited for a retransmission");
        Assert.Single(scope.Observer.Completed);
        Assert.Empty(scope.Observer.Failed);
    }

    [Fact]
    public async Task Retransmitted_request_does_not_start_a_second_transfer()
    {
        var content = ServerScope.RandomBytes(5000, 12);
        await using var scope = await ServerScope.StartAsync(o => o with { Timeout = TimeSpan.FromSeconds(5) });
        scope.Write("f", content);
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
        socket.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        var request = TftpRequest.Read("f", TftpMode.Octet);
        var bytes = new byte[request.GetWrittenLength()];
        request.TryWrite(bytes, out _);

        // Three copies of the RRQ, as a client whose first reply was lost would send; then the download.
        await socket.SendToAsync(bytes, System.Net.Sockets.SocketFlags.None, scope.EndPoint);
        await socket.SendToAsync(bytes, System.Net.Sockets.SocketFlags.None, scope.EndPoint);
        var result = await TestTftpClient.GetAsync(scope.EndPoint, "f", useSocket: socket);
        await scope.DrainAsync();

        Assert.Equal(content, result.Data);
        Assert.Equal(10, result.DataPackets);
        Assert.Single(scope.Observer.Completed);
        Assert.Empty(scope.Observer.Failed);
    }

    [Fact]
    public async Task Sockets_bound_to_the_loopback_device_serve()
    {
        await using var scope = await ServerScope.StartAsync(o => o with { Interface = "lo" });
        scope.Write("f", [4, 5, 6]);

        var result = await TestTftpClient.GetAsync(scope.EndPoint, "f", new TestClientBehaviour { Options = TftpOptions.Create(blockSize: 1468) });

        Assert.Equal([4, 5, 6], result.Data);
    }

    [Fact]
    public async Task Unknown_interface_fails_at_start()
    {
        await Assert.ThrowsAsync<System.Net.Sockets.SocketException>(() => ServerScope.StartAsync(o => o with { Interface = "nosuchif0" }));
    }

    // Which path served the scope's one transfer: a dedicated thread when any were allowed, else the thread pool.
    private static void AssertRanOn(ServerScope scope, int dedicatedThreads) =>
        Assert.Equal(dedicatedThreads > 0, Assert.Single(scope.Observer.Threads) == "tftp-transfer");
}
