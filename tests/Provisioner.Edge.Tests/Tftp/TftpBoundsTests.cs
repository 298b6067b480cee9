using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using Provisioner.Edge.Tftp;
using Provisioner.Protocols.Tftp;

namespace Provisioner.Edge.Tests.Tftp;

/// <summary>Caps, refusals from the listening port, refusal rate limit, socket failures, a flood, counters and metrics.</summary>
public sealed class TftpBoundsTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static readonly TimeSpan Reply = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task Write_request_is_refused_from_the_listening_port_without_a_transfer_socket()
    {
        await using var scope = await ServerScope.StartAsync();
        using var socket = TftpSockets.Loopback();

        socket.SendTo(Request(TftpOpcode.WriteRequest, "upload.bin", "octet"), scope.EndPoint);
        var (from, error) = await ReceiveErrorAsync(socket);

        Assert.Equal(scope.EndPoint, from);
        Assert.Equal(TftpErrorCode.AccessViolation, error.Code);
        Assert.Equal(1, scope.Server.Counters.RefusedBy(TftpRefusalCause.WriteRequest));
        Assert.Equal(0, scope.Server.Counters.Started);
        Assert.Equal(0, scope.Server.ActiveTransfers);
    }

    [Theory]
    [InlineData("missing.efi", "octet", TftpErrorCode.FileNotFound, TftpRefusalCause.FileNotFound)]
    [InlineData("../../etc/passwd", "octet", TftpErrorCode.AccessViolation, TftpRefusalCause.AccessViolation)]
    [InlineData("//etc/passwd", "octet", TftpErrorCode.AccessViolation, TftpRefusalCause.AccessViolation)]
    [InlineData("dir", "octet", TftpErrorCode.AccessViolation, TftpRefusalCause.AccessViolation)]
    [InlineData("f", "mail", TftpErrorCode.IllegalOperation, TftpRefusalCause.UnknownMode)]
    public async Task Refused_read_request_gets_its_error_from_the_listening_port_and_opens_no_socket(string name, string mode, TftpErrorCode code, TftpRefusalCause cause)
    {
        await using var scope = await ServerScope.StartAsync(populate: root =>
        {
            File.WriteAllText(Path.Combine(root, "f"), "x");
            Directory.CreateDirectory(Path.Combine(root, "dir"));
        });
        using var socket = TftpSockets.Loopback();

        socket.SendTo(Request(TftpOpcode.ReadRequest, name, mode), scope.EndPoint);
        var (from, error) = await ReceiveErrorAsync(socket);

        Assert.Equal(scope.EndPoint, from);
        Assert.Equal(code, error.Code);
        Assert.Equal(1, scope.Server.Counters.RefusedBy(cause));
        Assert.Equal(0, scope.Server.Counters.Started);
        Assert.Equal(name, Assert.Single(scope.Observer.Failed).Record.RequestedFileName);
    }

    [Fact]
    public async Task Rrq_over_the_global_cap_is_dropped_and_served_on_a_retransmission_once_a_slot_frees()
    {
        await using var scope = await ServerScope.StartAsync(o => o with { MaxTransfers = 1, MaxTransfersPerClient = 1 });
        scope.Write("f", ServerScope.RandomBytes(3000, 1));
        using var holder = TftpSockets.Loopback(0, 2);
        using var waiting = TftpSockets.Loopback(0, 3);

        holder.SendTo(Request(TftpOpcode.ReadRequest, "f", "octet"), scope.EndPoint);
        var (tid, _) = await ReceiveAsync(holder); // DATA 1: the only slot is taken, and held (no ACK)
        var download = TestTftpClient.GetAsync(scope.EndPoint, "f", new TestClientBehaviour { Timeout = TimeSpan.FromMilliseconds(300), Retries = 30 }, waiting);
        await Eventually.TrueAsync(() => scope.Server.Counters.ShedGlobal >= 1, "the second RRQ is shed");
        Assert.False(download.IsCompleted);

        holder.SendTo(Error(TftpErrorCode.NotDefined, "gave up"), tid); // frees the slot
        var result = await download.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(3000, result.Length);
        Assert.Null(result.Error);
        Assert.Equal(0, scope.Server.Counters.Refused); // shed, never answered with an ERROR
        Assert.Equal(2, scope.Server.Counters.Started);
    }

    [Fact]
    public async Task Rrq_over_the_per_client_cap_is_dropped_and_other_addresses_are_served_meanwhile()
    {
        await using var scope = await ServerScope.StartAsync(o => o with { MaxTransfers = 10, MaxTransfersPerClient = 1 });
        scope.Write("f", ServerScope.RandomBytes(3000, 2));
        using var holder = TftpSockets.Loopback(0, 4);
        using var samePlace = TftpSockets.Loopback(0, 4);
        using var elsewhere = TftpSockets.Loopback(0, 5);

        holder.SendTo(Request(TftpOpcode.ReadRequest, "f", "octet"), scope.EndPoint);
        var (tid, _) = await ReceiveAsync(holder);
        var blocked = TestTftpClient.GetAsync(scope.EndPoint, "f", new TestClientBehaviour { Timeout = TimeSpan.FromMilliseconds(300), Retries = 30 }, samePlace);
        var other = await TestTftpClient.GetAsync(scope.EndPoint, "f", useSocket: elsewhere);
        await Eventually.TrueAsync(() => scope.Server.Counters.ShedPerClient >= 1, "the same address's second RRQ is shed");

        Assert.Equal(3000, other.Length);
        Assert.False(blocked.IsCompleted);
        holder.SendTo(Error(TftpErrorCode.NotDefined, "gave up"), tid);
        var result = await blocked.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(3000, result.Length);
    }

    [Fact]
    public async Task Refusals_past_the_rate_limit_are_dropped_and_counted()
    {
        await using var scope = await ServerScope.StartAsync(o => o with { RefusalBurst = 3, RefusalRate = 0.01 });
        using var socket = TftpSockets.Loopback();

        for (var i = 0; i < 10; i++)
        {
            socket.SendTo(Request(TftpOpcode.WriteRequest, "w" + i, "octet"), scope.EndPoint);
        }

        await Eventually.TrueAsync(() => scope.Server.Counters.Refused == 10, "ten refusals decided");
        for (var i = 0; i < 3; i++)
        {
            await ReceiveErrorAsync(socket);
        }

        Assert.Equal(0, socket.Available); // the ERRORs were sent before the last refusal was counted
        Assert.Equal(7, scope.Server.Counters.RefusalsRateLimited);
        Assert.Equal(3, scope.Observer.Failed.Count); // unanswered refusals are not reported either
        Assert.Contains(scope.Logger.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("refusal not answered"));
    }

    [Fact]
    public async Task Transfer_socket_failure_is_counted_and_drops_the_request_and_the_server_keeps_serving()
    {
        await using var scope = await ServerScope.StartAsync();
        scope.Write("f", [1, 2, 3]);
        scope.Server.TransferSocketFactory = _ => throw new SocketException((int)SocketError.TooManyOpenSockets);
        using var socket = TftpSockets.Loopback();

        var download = TestTftpClient.GetAsync(scope.EndPoint, "f", new TestClientBehaviour { Timeout = TimeSpan.FromMilliseconds(300), Retries = 30 }, socket);
        await Eventually.TrueAsync(() => scope.Server.Counters.SocketFailed >= 1, "the socket failure is counted");
        Assert.Equal(0, scope.Server.ActiveTransfers);
        scope.Server.TransferSocketFactory = null;
        var result = await download.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal([1, 2, 3], result.Data);
        Assert.Contains(scope.Logger.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("TooManyOpenSockets"));
    }

    [Fact]
    public async Task Counters_are_published_on_the_edge_meter()
    {
        await using var scope = await ServerScope.StartAsync();
        using var socket = TftpSockets.Loopback();
        socket.SendTo(Request(TftpOpcode.WriteRequest, "x", "octet"), scope.EndPoint);
        await ReceiveErrorAsync(socket);
        var listener = scope.EndPoint.ToString();
        var seen = new List<(string Name, long Value, string? Cause)>();
        using var meters = new MeterListener();
        meters.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == EdgeMetrics.MeterName && instrument.Name.StartsWith("provisioner.tftp.", StringComparison.Ordinal))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        meters.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            string? mine = null, cause = null;
            foreach (var tag in tags)
            {
                if (tag.Key == "listener")
                {
                    mine = tag.Value as string;
                }
                else if (tag.Key == "cause")
                {
                    cause = tag.Value as string;
                }
            }

            if (mine == listener)
            {
                seen.Add((instrument.Name, value, cause));
            }
        });
        meters.Start();
        meters.RecordObservableInstruments();

        Assert.Contains(("provisioner.tftp.requests.refused", 1L, "write-request"), seen);
        Assert.Contains(("provisioner.tftp.datagrams.received", 1L, null), seen);
        Assert.Contains(("provisioner.tftp.transfers.active", 0L, null), seen);
        Assert.Contains(("provisioner.tftp.requests.shed", 0L, "per-client-cap"), seen);
    }

    /// <summary>
    /// 100,000 mixed datagrams from four addresses and sixteen ports within a few seconds: the server stays up,
    /// never runs more than its caps, every datagram is accounted for, logs a handful of lines, and a real
    /// download from another address succeeds during and right after the flood.
    /// </summary>
    [Fact]
    public async Task Flood_of_mixed_datagrams_is_bounded_counted_and_a_real_download_still_succeeds()
    {
        const int MaxTransfers = 40;
        const int PerClient = 8;
        await using var scope = await ServerScope.StartAsync(o => o with
        {
            MaxTransfers = MaxTransfers,
            MaxTransfersPerClient = PerClient,
            Timeout = TimeSpan.FromSeconds(1),
            Retries = 1,
        });
        scope.Logger.MinimumLevel = LogLevel.Information; // as in production: Debug off
        var content = ServerScope.RandomBytes(70 * 1024, 3);
        scope.Write("ipxe.efi", content);
        scope.Write("real.bin", ServerScope.RandomBytes(20 * 1024, 4));
        var datagrams = FloodDatagrams(seed: 9).ToArray();
        var senders = Enumerable.Range(0, 16).Select(i => TftpSockets.Loopback(2, 1 + (i % 4))).ToList();
        var maxActive = 0;
        using var stop = new CancellationTokenSource();
        var watch = Stopwatch.StartNew();
        try
        {
            var sampler = Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    maxActive = Math.Max(maxActive, scope.Server.ActiveTransfers);
                    await Task.Delay(1);
                }
            });
            var flood = Task.Run(async () =>
            {
                // bounded by count and by time; a short pause every 2,000 so the flood lasts a few seconds
                for (var i = 0; i < 100_000 && watch.Elapsed < TimeSpan.FromSeconds(10); i++)
                {
                    senders[(i / 5) % senders.Count].SendTo(datagrams[i % datagrams.Length], scope.EndPoint);
                    if (i % 2000 == 1999)
                    {
                        await Task.Delay(50);
                    }
                }
            });

            await Task.Delay(500);
            Assert.False(flood.IsCompleted, "the flood should still be running; make it longer");
            using (var during = TftpSockets.Loopback(3, 1))
            {
                var duringFlood = await TestTftpClient.GetAsync(scope.EndPoint, "ipxe.efi", new TestClientBehaviour { Timeout = TimeSpan.FromMilliseconds(250), Retries = 19 }, during)
                    .WaitAsync(TimeSpan.FromSeconds(5));
                Assert.Equal(content, duringFlood.Data);
            }

            await flood;
            var sent = watch.Elapsed;
            using (var after = TftpSockets.Loopback(3, 2))
            {
                var afterFlood = await TestTftpClient.GetAsync(scope.EndPoint, "ipxe.efi", new TestClientBehaviour { Timeout = TimeSpan.FromMilliseconds(250), Retries = 19 }, after)
                    .WaitAsync(TimeSpan.FromSeconds(5));
                Assert.Equal(content, afterFlood.Data);
            }

            var c = scope.Server.Counters;
            await Eventually.TrueAsync(
                () => c.Received == c.Malformed + c.Ignored + c.Retransmissions + c.Refused + c.ShedGlobal + c.ShedPerClient + c.SocketFailed + c.Unexpected + c.Started,
                "every received datagram has exactly one outcome");
            foreach (var s in senders)
            {
                s.Dispose(); // the flood's transfers now end on ICMP unreachable or their one retry
            }

            await scope.DrainAsync(TimeSpan.FromSeconds(10));
            stop.Cancel();
            await sampler;

            output.WriteLine($"{Describe(c)}; flood sent in {sent}, max active {maxActive}, {scope.Logger.Entries.Count} log lines");
            Assert.InRange(maxActive, 1, MaxTransfers);
            Assert.InRange(maxActive, 1, 4 * PerClient + 1); // four flooding addresses, plus the real client
            Assert.Equal(c.Started, c.Completed + c.Failed + c.Probes);
            Assert.Equal(2, c.Completed);
            Assert.Equal(0, c.Unexpected);
            Assert.True(c.Received > 10_000, $"only {c.Received} datagrams reached the server in {sent}");
            Assert.True(c.Malformed > 0 && c.Ignored > 0 && c.ShedPerClient > 0 && c.RefusalsRateLimited > 0, Describe(c));
            Assert.All(Enum.GetValues<TftpRefusalCause>().Where(r => r != TftpRefusalCause.Unreadable), r => Assert.True(c.RefusedBy(r) > 0, $"{r}: {Describe(c)}"));
            var lines = scope.Logger.Entries.Count(e => e.Level >= LogLevel.Information);
            Assert.True(lines < 60, $"{lines} log lines for a flood of {c.Received}");
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(25), $"took {watch.Elapsed}");
        }
        finally
        {
            stop.Cancel();
            foreach (var s in senders)
            {
                s.Dispose();
            }
        }
    }

    private static string Describe(TftpServerCounters c) =>
        $"received {c.Received}, malformed {c.Malformed}, ignored {c.Ignored}, retransmissions {c.Retransmissions}, refused {c.Refused}, " +
        $"shed {c.ShedGlobal}/{c.ShedPerClient}, rate-limited {c.RefusalsRateLimited}, untracked {c.RefusalsUntracked}, socket failed {c.SocketFailed}, " +
        $"started {c.Started}, completed {c.Completed}, failed {c.Failed}, probes {c.Probes}";

    private static IEnumerable<byte[]> FloodDatagrams(int seed)
    {
        var random = new Random(seed);
        for (var i = 0; i < 4096; i++)
        {
            yield return (i % 16) switch
            {
                0 => Request(TftpOpcode.ReadRequest, "real.bin", "octet"),
                1 => Request(TftpOpcode.ReadRequest, "missing-" + i + ".efi", "octet"),
                2 => Request(TftpOpcode.WriteRequest, "up.bin", "octet"),
                3 => Request(TftpOpcode.ReadRequest, "../../../etc/passwd", "octet"),
                4 => Request(TftpOpcode.ReadRequest, "real.bin", "octet", "blksize", "0"),
                5 => Request(TftpOpcode.ReadRequest, "real.bin", "octet", "blksize", "65535", "tsize", "0"),
                6 => Request(TftpOpcode.ReadRequest, "real.bin", "netascii", "blksize", "garbage", "windowsize", "99999999999999"),
                7 => Request(TftpOpcode.ReadRequest, "real.bin", "octet", "windowsize", "-1", "timeout", "0"),
                8 => Request(TftpOpcode.ReadRequest, "real.bin", "octet")[..(3 + random.Next(8))], // truncated
                9 => Request(TftpOpcode.ReadRequest, "f", "mail"),
                10 => [0, 4, 0, 1], // a stray ACK
                11 => Error(TftpErrorCode.NotDefined, "stray"),
                12 => Request(TftpOpcode.ReadRequest, "//etc/shadow", "octet"),
                13 => Request(TftpOpcode.ReadRequest, new string('a', 400), "octet", "x", new string('9', 200)),
                _ => Random(random),
            };
        }

        static byte[] Random(Random random)
        {
            var bytes = new byte[1 + random.Next(600)];
            random.NextBytes(bytes);
            return bytes;
        }
    }

    /// <summary>A request built by hand, so that any option name and value can be sent.</summary>
    private static byte[] Request(TftpOpcode opcode, string name, string mode, params string[] options)
    {
        var bytes = new List<byte> { 0, (byte)opcode };
        foreach (var text in new[] { name, mode }.Concat(options))
        {
            bytes.AddRange(Encoding.Latin1.GetBytes(text));
            bytes.Add(0);
        }

        return [.. bytes];
    }

    private static byte[] Error(TftpErrorCode code, string message)
    {
        var bytes = new byte[TftpWriter.GetErrorLength(message)];
        TftpWriter.TryWriteError(bytes, code, message, out _);
        return bytes;
    }

    private static async Task<(IPEndPoint From, byte[] Packet)> ReceiveAsync(Socket socket)
    {
        var buffer = new byte[70000];
        using var timeout = new CancellationTokenSource(Reply);
        var received = await socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), timeout.Token);
        return ((IPEndPoint)received.RemoteEndPoint, buffer[..received.ReceivedBytes]);
    }

    private static async Task<(IPEndPoint From, TftpError Error)> ReceiveErrorAsync(Socket socket)
    {
        var (from, packet) = await ReceiveAsync(socket);
        Assert.True(TftpPacket.TryParse(packet, out var parsed, out _));
        Assert.Equal(TftpOpcode.Error, parsed.Opcode);
        return (from, parsed.ToError()!);
    }
}
