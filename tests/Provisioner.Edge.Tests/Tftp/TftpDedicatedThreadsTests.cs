using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Provisioner.Edge.Tftp;
using Provisioner.Protocols.Tftp;

using static Provisioner.Edge.Tests.Tftp.TftpRaw;

namespace Provisioner.Edge.Tests.Tftp;

/// <summary>
/// Transfers on a thread of their own (tftp.dedicated-threads): the bound, the fallback to the async path (lock-step
/// and windowed), retransmission, ICMP, shutdown, and which transfers qualify.
/// </summary>
public sealed class TftpDedicatedThreadsTests
{
    private const string DedicatedThreadName = "tftp-transfer";
    private static readonly TimeSpan Reply = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task Lockstep_transfer_past_the_thread_limit_runs_as_a_task_and_both_complete()
    {
        var content = ServerScope.RandomBytes(100, 1);
        await using var scope = await ServerScope.StartAsync(o => o with { DedicatedThreads = 1 });
        scope.Write("f", content);
        using var first = TftpSockets.Loopback(0, 1);
        using var second = TftpSockets.Loopback(0, 2);

        var (tidFirst, _) = await RequestAsync(first, scope.EndPoint, "f", null);
        var (tidSecond, _) = await RequestAsync(second, scope.EndPoint, "f", null);

        Assert.Equal(2, scope.Server.ActiveTransfers);
        Assert.Equal(1, scope.Server.DedicatedTransfers);
        Ack(first, tidFirst, 1);
        Ack(second, tidSecond, 1);
        await scope.DrainAsync();
        Assert.Equal(2, scope.Observer.Completed.Count);
        Assert.Equal([false, true], scope.Observer.Threads.Select(t => t == DedicatedThreadName).Order());
        await Eventually.TrueAsync(() => scope.Server.DedicatedTransfers == 0, "the dedicated thread is free again");
        Assert.Equal(1, scope.Server.DedicatedThreadsAlive); // parked for the next transfer
    }

    [Fact]
    public async Task Dedicated_transfer_hands_over_to_the_async_path_when_more_transfers_run_than_threads()
    {
        var content = ServerScope.RandomBytes((512 * 3) + 10, 9);
        await using var scope = await ServerScope.StartAsync(o => o with { DedicatedThreads = 1 });
        scope.Write("f", content);
        using var first = TftpSockets.Loopback(0, 1);
        using var second = TftpSockets.Loopback(0, 2);
        var (tidFirst, _) = await RequestAsync(first, scope.EndPoint, "f", null);
        Assert.Equal(1, scope.Server.DedicatedTransfers);

        var (tidSecond, _) = await RequestAsync(second, scope.EndPoint, "f", null); // 2 running > 1 thread: a task
        Ack(first, tidFirst, 1);                                                    // the first switches at this block
        Assert.Equal(TftpOpcode.Data, await ReceiveAsync(first));

        await Eventually.TrueAsync(() => scope.Server.DedicatedTransfers == 0, "the thread is freed while its transfer goes on");
        Assert.Equal(2, scope.Server.ActiveTransfers);
        for (ushort block = 2; block <= 4; block++)
        {
            Ack(first, tidFirst, block);
            if (block < 4)
            {
                Assert.Equal(TftpOpcode.Data, await ReceiveAsync(first));
            }
        }

        SendError(second, tidSecond);
        await scope.DrainAsync();
        Assert.Equal(content.Length, Assert.Single(scope.Observer.Completed).BytesSent);
        Assert.Equal((IPEndPoint)second.LocalEndPoint!, Assert.Single(scope.Observer.Failed).Record.Client);
        Assert.All(scope.Observer.Threads, t => Assert.NotEqual(DedicatedThreadName, t));
    }

    [Fact]
    public async Task Windowed_transfer_takes_a_dedicated_thread()
    {
        await using var scope = await ServerScope.StartAsync();
        scope.Write("f", ServerScope.RandomBytes(5000, 2));
        using var client = TftpSockets.Loopback();

        var (tid, oack) = await RequestAsync(client, scope.EndPoint, "f", TftpOptions.Create(blockSize: 512, windowSize: 8));

        Assert.Equal(TftpOpcode.OptionAcknowledgement, oack);
        Assert.Equal(1, scope.Server.ActiveTransfers);
        Assert.Equal(1, scope.Server.DedicatedTransfers);
        SendError(client, tid); // EDK2-style abort after the OACK: ends the transfer without a report
        await scope.DrainAsync();
    }

    [Fact]
    public async Task Windowed_dedicated_transfer_hands_over_to_the_async_path_at_its_next_window()
    {
        // 13 blocks of 512 in windows of 4: 1-4, 5-8, 9-12, 13 (short).
        var content = ServerScope.RandomBytes((512 * 12) + 10, 10);
        await using var scope = await ServerScope.StartAsync(o => o with { DedicatedThreads = 1 });
        scope.Write("f", content);
        using var first = TftpSockets.Loopback(0, 1);
        using var second = TftpSockets.Loopback(0, 2);
        var (tidFirst, oack) = await RequestAsync(first, scope.EndPoint, "f", TftpOptions.Create(blockSize: 512, windowSize: 4));
        Assert.Equal(TftpOpcode.OptionAcknowledgement, oack);
        Ack(first, tidFirst, 0);
        Assert.Equal(new[] { 1, 2, 3, 4 }, await ReceiveBlocksAsync(first, 4));
        Assert.Equal(1, scope.Server.DedicatedTransfers);

        var (tidSecond, _) = await RequestAsync(second, scope.EndPoint, "f", null); // 2 running > 1 thread: a task
        Ack(first, tidFirst, 4);                                                    // the first switches here
        Assert.Equal(new[] { 5, 6, 7, 8 }, await ReceiveBlocksAsync(first, 4));
        await Eventually.TrueAsync(() => scope.Server.DedicatedTransfers == 0, "the thread is freed while its transfer goes on");

        Ack(first, tidFirst, 6);                                                    // a partial window: resend from 7
        Assert.Equal(new[] { 7, 8, 9, 10 }, await ReceiveBlocksAsync(first, 4));
        Ack(first, tidFirst, 10);
        Assert.Equal(new[] { 11, 12, 13 }, await ReceiveBlocksAsync(first, 3));
        Ack(first, tidFirst, 13);

        SendError(second, tidSecond);
        await scope.DrainAsync();
        Assert.Equal(content.Length, Assert.Single(scope.Observer.Completed).BytesSent);
        Assert.All(scope.Observer.Threads, t => Assert.NotEqual(DedicatedThreadName, t));
    }

    [Fact]
    public async Task Windowsize_1_asked_in_an_option_is_lockstep_and_gets_a_dedicated_thread()
    {
        await using var scope = await ServerScope.StartAsync();
        scope.Write("f", ServerScope.RandomBytes(5000, 3));
        using var client = TftpSockets.Loopback();

        var (tid, oack) = await RequestAsync(client, scope.EndPoint, "f", TftpOptions.Create(blockSize: 512, windowSize: 1));

        Assert.Equal(TftpOpcode.OptionAcknowledgement, oack);
        Assert.Equal(1, scope.Server.DedicatedTransfers);
        SendError(client, tid);
        await scope.DrainAsync();
    }

    [Theory]
    [InlineData(0, false)]
    [InlineData(4, true)]
    public async Task Lost_ack_is_retransmitted_on_either_path_and_the_file_stays_identical(int dedicatedThreads, bool dedicated)
    {
        var content = ServerScope.RandomBytes((512 * 20) + 7, 4);
        await using var scope = await ServerScope.StartAsync(o => o with { DedicatedThreads = dedicatedThreads, Timeout = TimeSpan.FromMilliseconds(200) });
        scope.Write("f", content);
        var behaviour = new TestClientBehaviour { DropAckOf = 5, LoseDataOf = new HashSet<long> { 9 }, Timeout = TimeSpan.FromSeconds(5) };

        var result = await TestTftpClient.GetAsync(scope.EndPoint, "f", behaviour);

        Assert.Null(result.Error);
        Assert.Equal(content, result.Data);
        Assert.True(result.DataPackets > 21, $"expected retransmissions, got {result.DataPackets} DATA");
        await scope.DrainAsync();
        Assert.Equal(content.Length, Assert.Single(scope.Observer.Completed).BytesSent);
        Assert.Empty(scope.Observer.Failed);
        Assert.Equal(dedicated, Assert.Single(scope.Observer.Threads) == DedicatedThreadName);
    }

    [Fact]
    public async Task Silent_client_on_a_dedicated_thread_is_abandoned_after_the_retries()
    {
        await using var scope = await ServerScope.StartAsync(o => o with { Timeout = TimeSpan.FromMilliseconds(50), Retries = 2 });
        scope.Write("f", ServerScope.RandomBytes(2000, 5));
        using var client = TftpSockets.Loopback();

        await RequestAsync(client, scope.EndPoint, "f", null);
        Assert.Equal(1, scope.Server.DedicatedTransfers);

        await scope.DrainAsync();
        var (record, reason) = Assert.Single(scope.Observer.Failed);
        Assert.Contains("after 2 retransmissions", reason, StringComparison.Ordinal);
        Assert.Equal(0, record.BytesSent);
        Assert.Equal(1, scope.Server.Counters.FailedBy(TftpFailureCause.TimedOut));
        Assert.Equal(DedicatedThreadName, Assert.Single(scope.Observer.Threads));
    }

    [Fact]
    public async Task Client_gone_with_icmp_unreachable_fails_the_dedicated_transfer_as_unreachable()
    {
        await using var scope = await ServerScope.StartAsync(o => o with { Timeout = TimeSpan.FromMilliseconds(100) });
        scope.Write("f", ServerScope.RandomBytes(2000, 6));
        var client = TftpSockets.Loopback();

        await RequestAsync(client, scope.EndPoint, "f", null);
        client.Dispose(); // the retransmitted DATA 1 meets a closed port: ICMP port unreachable

        await scope.DrainAsync();
        Assert.Equal(1, scope.Server.Counters.FailedBy(TftpFailureCause.Unreachable));
        Assert.Single(scope.Observer.Failed);
    }

    [Fact]
    public async Task Stopping_the_server_ends_a_blocked_dedicated_transfer_promptly_and_reports_it()
    {
        var scope = await ServerScope.StartAsync(o => o with { Timeout = TimeSpan.FromSeconds(30) });
        try
        {
            scope.Write("f", ServerScope.RandomBytes(2000, 7));
            using var client = TftpSockets.Loopback();
            await RequestAsync(client, scope.EndPoint, "f", null);
            Assert.Equal(1, scope.Server.DedicatedTransfers);

            var clock = Stopwatch.StartNew();
            await scope.Server.StopAsync(CancellationToken.None);

            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"stop took {clock.Elapsed}");
            Assert.Equal(0, scope.Server.ActiveTransfers);
            Assert.Equal(1, scope.Server.Counters.FailedBy(TftpFailureCause.Stopping));
            Assert.Equal("server stopping", Assert.Single(scope.Observer.Failed).Reason);
            await Eventually.TrueAsync(() => scope.Server.DedicatedThreadsAlive == 0, "the dedicated thread ends at shutdown");
        }
        finally
        {
            await scope.DisposeAsync();
        }
    }

    [Fact]
    public async Task Dedicated_threads_never_exceed_the_limit_under_many_concurrent_lockstep_downloads()
    {
        var content = ServerScope.RandomBytes(40_000, 8);
        await using var scope = await ServerScope.StartAsync(o => o with { DedicatedThreads = 3 });
        scope.Write("f", content);
        var peak = 0;
        using var watching = new CancellationTokenSource();
        var watcher = Task.Run(async () =>
        {
            while (!watching.IsCancellationRequested)
            {
                peak = Math.Max(peak, scope.Server.DedicatedTransfers);
                await Task.Delay(1);
            }
        });

        var results = await Task.WhenAll(Enumerable.Range(0, 24).Select(i =>
        {
            var socket = TftpSockets.Loopback(1, 1 + (i / 8)); // 8 per address: the per-client cap
            return TestTftpClient.GetAsync(scope.EndPoint, "f", useSocket: socket).ContinueWith(
                t =>
                {
                    socket.Dispose();
                    return t.Result;
                },
                TaskScheduler.Default);
        }));
        await watching.CancelAsync();
        await watcher;

        Assert.All(results, r => Assert.Equal(content, r.Data));
        await scope.DrainAsync();
        Assert.Equal(24, scope.Observer.Completed.Count);
        Assert.InRange(peak, 0, 3);
        await Eventually.TrueAsync(() => scope.Server.DedicatedTransfers == 0, "every dedicated thread is free again");
        Assert.InRange(scope.Server.DedicatedThreadsAlive, 1, 3);
    }

    [Fact]
    public void Thread_set_refuses_past_its_limit_and_reuses_a_parked_thread_when_work_ends()
    {
        var threads = new TftpDedicatedThreads(2, "t");
        using var release = new ManualResetEventSlim();
        using var bothRunning = new CountdownEvent(2);
        void Work()
        {
            bothRunning.Signal();
            release.Wait();
        }

        Assert.True(threads.TryStart(Work));
        Assert.True(threads.TryStart(Work));
        Assert.False(threads.TryStart(() => { }));
        Assert.True(bothRunning.Wait(Reply));
        Assert.Equal(2, threads.Running);

        release.Set();
        Assert.True(SpinWait.SpinUntil(() => threads.Running == 0, Reply));
        using var ran = new ManualResetEventSlim();
        Assert.True(threads.TryStart(ran.Set));
        Assert.True(ran.Wait(Reply));
        Assert.Equal(2, threads.Alive); // parked, not ended, and no third one created

        threads.Stop();
        Assert.True(SpinWait.SpinUntil(() => threads.Alive == 0, Reply));
        Assert.False(threads.TryStart(() => { }));
    }

    [Fact]
    public void Thread_set_of_zero_never_starts_a_thread()
    {
        var threads = new TftpDedicatedThreads(0, "t");

        Assert.False(threads.TryStart(() => { }));
        Assert.Equal(0, threads.Alive);
    }
}
