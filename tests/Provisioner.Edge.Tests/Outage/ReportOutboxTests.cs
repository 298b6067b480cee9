using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Provisioner.Cluster.Tests.Support;
using Provisioner.Domain.Machines;
using Provisioner.Edge.Outage;
using Provisioner.Edge.Tests.Http;
using static Provisioner.Domain.Machines.MachineCommands;

namespace Provisioner.Edge.Tests.Outage;

/// <summary>
/// <see cref="ReportOutbox"/>: reports that cannot reach their machine now are held, in order per machine, delivered
/// once the cores answer, and kept while their delivery fails; the queue is bounded and says what it dropped.
/// </summary>
public sealed class ReportOutboxTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 10, 8, 0, 0, TimeSpan.Zero);
    private static readonly MachineId A = MachineId.Parse("52:54:00:00:0c:01");
    private static readonly MachineId B = MachineId.Parse("52:54:00:00:0c:02");

    internal sealed class Rig : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stopping = new();
        private readonly ILoggerFactory _loggers;
        private Task _loop = Task.CompletedTask;

        public Rig(int capacity = 1000, bool reachable = true)
        {
            Cores.CoresReachable = reachable;
            _loggers = LoggerFactory.Create(b => b.AddProvider(Logs).SetMinimumLevel(LogLevel.Debug));
            Outbox = new ReportOutbox(Machines, Cores, new ReportOutboxOptions { Capacity = capacity }, Clock, _loggers.CreateLogger<ReportOutbox>());
        }

        public FakeTimeProvider Clock { get; } = new(T0);

        public RecordingMachineGateway Machines { get; } = new();

        public FakeCoreReachability Cores { get; } = new();

        public ListLoggerProvider Logs { get; } = new();

        public ReportOutbox Outbox { get; }

        public Task Loop => _loop;

        public void Start() => _loop = Task.Run(() => Outbox.RunAsync(_stopping.Token));

        public Task StopAsync() => _stopping.CancelAsync();

        /// <summary>Moves the clock a second at a time (the loop's pauses run on it) until <paramref name="done"/>.</summary>
        public Task Until(Func<bool> done, string what) =>
            Eventually.Until(() =>
            {
                var ok = done();
                if (!ok)
                {
                    Clock.Advance(TimeSpan.FromSeconds(1));
                }

                return ok;
            }, ok => ok, what);

        public string[] Lines(LogLevel level, string containing) =>
            Logs.Entries.Where(e => e.Level == level && e.Message.Contains(containing, StringComparison.Ordinal)).Select(e => e.Message).ToArray();

        public async ValueTask DisposeAsync()
        {
            await _stopping.CancelAsync();
            await _loop;
            Outbox.Dispose();
            _stopping.Dispose();
            _loggers.Dispose();
        }
    }

    private static MachineCommand[] Install(DateTimeOffset at) =>
    [
        new ReportNbpServed(at, "ipxe.efi"),
        new ReportBootScriptServed(at.AddSeconds(5)),
        new ReportKernelFetched(at.AddSeconds(8), "/assets/os/vmlinuz"),
        new ReportKickstartFetched(at.AddSeconds(30)),
    ];

    [Fact]
    public async Task With_the_cores_reachable_and_nothing_queued_a_report_is_delivered_at_once()
    {
        await using var rig = new Rig();

        var result = await rig.Outbox.SendAsync(A, new ReportInstalled(T0));

        Assert.Equal(ReportDelivery.Delivered, result.Delivery);
        Assert.Equal(DecisionOutcome.Accepted, result.Answer?.Outcome);
        Assert.Single(rig.Machines.Of(A));
        Assert.Equal((0, 0L), (rig.Outbox.Queued, rig.Outbox.Enqueued));
    }

    [Fact]
    public async Task While_the_cores_are_unreachable_reports_are_queued_and_then_delivered_in_each_machines_order()
    {
        await using var rig = new Rig(reachable: false);
        rig.Start();
        var a = Install(T0);
        var b = Install(T0.AddSeconds(1));

        // The two machines' reports interleaved, as two installs running side by side make them.
        for (var i = 0; i < a.Length; i++)
        {
            Assert.Equal(ReportDelivery.Queued, (await rig.Outbox.SendAsync(A, a[i])).Delivery);
            Assert.Equal(ReportDelivery.Queued, (await rig.Outbox.SendAsync(B, b[i])).Delivery);
        }

        Assert.Equal(0, rig.Machines.Attempts);
        Assert.Equal(8, rig.Outbox.Queued);
        rig.Clock.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(TimeSpan.FromSeconds(30), rig.Outbox.OldestAge);

        rig.Cores.CoresReachable = true;
        await rig.Until(() => rig.Outbox.Queued == 0, "the queue delivered");

        Assert.Equal(a, rig.Machines.Of(A));
        Assert.Equal(b, rig.Machines.Of(B));
        Assert.Equal((8L, 8L), (rig.Outbox.Enqueued, rig.Outbox.DeliveredLate));
        Assert.Equal(TimeSpan.Zero, rig.Outbox.OldestAge);
    }

    [Fact]
    public async Task A_report_whose_ask_timed_out_is_queued_and_that_machines_later_reports_wait_behind_it()
    {
        await using var rig = new Rig();
        var reports = Install(T0);
        rig.Machines.Failing = true;

        var timedOut = await rig.Outbox.SendAsync(A, reports[0]);
        rig.Machines.Failing = false;
        var behind = await rig.Outbox.SendAsync(A, reports[1]);
        var other = await rig.Outbox.SendAsync(B, reports[2]);

        Assert.Equal(ReportDelivery.Queued, timedOut.Delivery);
        Assert.Equal(ReportDelivery.Queued, behind.Delivery);
        Assert.Equal(ReportDelivery.Delivered, other.Delivery);
        Assert.Empty(rig.Machines.Of(A));

        rig.Start();
        await rig.Until(() => rig.Outbox.Queued == 0, "the queue delivered");

        Assert.Equal(reports[..2], rig.Machines.Of(A));
    }

    [Fact]
    public async Task A_delivery_that_fails_stays_queued_and_is_tried_again_until_it_gets_through()
    {
        await using var rig = new Rig(reachable: false);
        await rig.Outbox.SendAsync(A, new ReportInstalled(T0));
        rig.Machines.Failing = true;
        rig.Cores.CoresReachable = true;
        rig.Start();

        await rig.Until(() => rig.Machines.Attempts >= 3, "three failed deliveries");

        Assert.Equal(1, rig.Outbox.Queued);
        Assert.Equal(0L, rig.Outbox.DeliveredLate);

        rig.Machines.Failing = false;
        await rig.Until(() => rig.Outbox.Queued == 0, "the queue delivered");
        Assert.IsType<ReportInstalled>(Assert.Single(rig.Machines.Of(A)));
        Assert.Equal(1L, rig.Outbox.DeliveredLate);
    }

    [Fact]
    public async Task Full_it_drops_the_oldest_reports_counts_them_and_says_so_once_not_per_report()
    {
        await using var rig = new Rig(capacity: 3, reachable: false);
        var reports = Enumerable.Range(0, 5).Select(i => (MachineCommand)new ReportKickstartFetched(T0.AddSeconds(i))).ToArray();
        var machines = Enumerable.Range(1, 5).Select(i => MachineId.Parse($"52:54:00:00:0d:{i:x2}")).ToArray();

        for (var i = 0; i < reports.Length; i++)
        {
            Assert.Equal(ReportDelivery.Queued, (await rig.Outbox.SendAsync(machines[i], reports[i])).Delivery);
        }

        Assert.Equal((3, 2L), (rig.Outbox.Queued, rig.Outbox.Dropped));
        Assert.Single(rig.Lines(LogLevel.Warning, "Report queue full"));

        rig.Cores.CoresReachable = true;
        rig.Start();
        await rig.Until(() => rig.Outbox.Queued == 0, "the queue delivered");
        Assert.Equal(machines[2..], rig.Machines.Executed.Select(e => e.Machine).OrderBy(m => m.Value, StringComparer.Ordinal));
    }

    [Fact]
    public async Task Queueing_is_announced_once_and_the_drained_queue_is_summed_up()
    {
        await using var rig = new Rig(reachable: false);
        rig.Start();
        foreach (var report in Install(T0))
        {
            await rig.Outbox.SendAsync(A, report);
        }

        rig.Clock.Advance(TimeSpan.FromSeconds(20));
        rig.Cores.CoresReachable = true;
        await rig.Until(() => rig.Outbox.Queued == 0, "the queue delivered");
        await rig.Until(() => rig.Lines(LogLevel.Information, "Delivered").Length > 0, "the summary logged");

        var queueing = Assert.Single(rig.Lines(LogLevel.Warning, "queued"));
        Assert.Contains(A.Value, queueing);
        var summary = Assert.Single(rig.Lines(LogLevel.Information, "Delivered"));
        Assert.StartsWith("Delivered 4 queued reports; the oldest waited 2", summary);
    }

    [Fact]
    public async Task Stopping_ends_the_loop_and_says_what_was_not_delivered()
    {
        var rig = new Rig(reachable: false);
        rig.Start();
        await rig.Outbox.SendAsync(A, new ReportInstalled(T0));

        await rig.StopAsync();
        await rig.Loop.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Contains("Stopping with 1 reports", Assert.Single(rig.Lines(LogLevel.Warning, "Stopping")));
        await rig.DisposeAsync();
    }
}
