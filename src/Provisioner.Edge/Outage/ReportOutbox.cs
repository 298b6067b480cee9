using Akka.Configuration;
using Microsoft.Extensions.Logging;
using Provisioner.Cluster.Hosting;
using Provisioner.Domain.Machines;

namespace Provisioner.Edge.Outage;

/// <summary>Settings of <see cref="ReportOutbox"/>, bound from the <c>provisioner.edge</c> section.</summary>
public sealed record ReportOutboxOptions
{
    /// <summary>Reports held at most while they cannot be delivered (<c>report-queue</c>); past it the oldest is dropped.</summary>
    public int Capacity { get; init; } = 100_000;

    /// <summary>Binds <paramref name="edgeSection"/> (<c>provisioner.edge</c>); a bad key throws naming its full path.</summary>
    public static ReportOutboxOptions FromConfig(Config edgeSection)
    {
        ArgumentNullException.ThrowIfNull(edgeSection);
        var keys = new ConfigKeys(edgeSection, "provisioner.edge");
        return new ReportOutboxOptions { Capacity = keys.PositiveWhole("report-queue", 100_000) };
    }
}

/// <summary>How a report went: handed to the machine (with its answer), or queued for later.</summary>
public enum ReportDelivery
{
    /// <summary>The machine decided it; <see cref="ReportResult.Answer"/> holds its answer.</summary>
    Delivered = 0,

    /// <summary>Held in the outbox: delivered once the cores answer again.</summary>
    Queued = 1,

    /// <summary>Not held: the outbox was full of reports being delivered at that very moment (a tiny capacity).</summary>
    Dropped = 2,

    /// <summary>Not delivered and not held (a report the caller's client retries itself, while cores are reachable).</summary>
    NotDelivered = 3,
}

public sealed record ReportResult(ReportDelivery Delivery, MachineAnswer? Answer);

/// <summary>
/// Every report an edge makes to a machine (TFTP's NBP served, HTTP's boot script, kernel, initrd, kickstart,
/// phone-home) goes through here. With the cores reachable and nothing queued for that machine it is delivered at
/// once, as an ask; when the ask gets no answer (timeout), the cores are unreachable (<see cref="ICoreReachability"/>),
/// or the machine already has reports queued, it is queued instead, behind them: a machine's queued reports reach it
/// in the order they were made (two made at the same moment while nothing is queued race as direct asks always have;
/// the machine's rules take either order). <see cref="RunAsync"/> delivers the queue oldest first once the cores are
/// reachable, a batch at a time (at most one report per machine in a batch, so order holds); a report whose delivery
/// fails stays queued and the loop backs off (1 s doubling to 10 s).
/// <para>
/// A report may so reach its machine twice (an ask that timed out after the actor had recorded it, then the queued
/// copy): the machine's rules make a repeat Unchanged (stages only move forward, a side fetch counts once per attempt),
/// and a report older than the machine's current attempt is not credited to it (<see cref="Machine.Decide"/>).
/// </para>
/// <para>
/// Bounded (<see cref="ReportOutboxOptions.Capacity"/>). Past it the oldest queued report is dropped, not the new
/// one: a machine's later reports carry its later stages (stages may be skipped, so the newest one alone moves it
/// as far), the newest include the phone-homes that keep an installed machine from installing again, and the oldest
/// are the likeliest to be stale by the time the cores answer. Drops are counted and logged in summary. Held in
/// memory only: what is queued when the node stops is lost, as an undelivered report always was (the machine's stage
/// deadline covers it).
/// </para>
/// </summary>
public sealed partial class ReportOutbox : IDisposable
{
    /// <summary>Pause between two attempts while deliveries fail (doubling up to <see cref="MaxPause"/>), and between looks at the cores while they are unreachable.</summary>
    public static readonly TimeSpan MinPause = TimeSpan.FromSeconds(1);

    public static readonly TimeSpan MaxPause = TimeSpan.FromSeconds(10);

    /// <summary>Reports delivered at once (one per machine).</summary>
    public const int BatchSize = 32;

    /// <summary>How far into the queue a batch looks for machines without a report in it.</summary>
    private const int BatchScan = BatchSize * 16;

    private readonly IMachineGateway _machines;
    private readonly ICoreReachability _cores;
    private readonly TimeProvider _clock;
    private readonly ILogger<ReportOutbox> _logger;
    private readonly int _capacity;
    private readonly Lock _gate = new();
    private readonly LinkedList<Entry> _queue = new();
    private readonly Dictionary<MachineId, int> _perMachine = [];
    private readonly SemaphoreSlim _work = new(0);
    private readonly LogSummary<DropCause> _drops;
    private readonly IDisposable _metrics;

    private long _enqueued;
    private long _deliveredLate;
    private long _dropped;

    // The current episode (from the first report queued to the queue drained), for its summary line.
    private int _episodeDelivered;
    private TimeSpan _episodeLongestWait;

    public ReportOutbox(IMachineGateway machines, ICoreReachability cores, ReportOutboxOptions options, TimeProvider clock, ILogger<ReportOutbox> logger)
    {
        ArgumentNullException.ThrowIfNull(machines);
        ArgumentNullException.ThrowIfNull(cores);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(clock);
        ArgumentNullException.ThrowIfNull(logger);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Capacity, 1);
        _machines = machines;
        _cores = cores;
        _clock = clock;
        _logger = logger;
        _capacity = options.Capacity;
        _drops = new LogSummary<DropCause>(TimeSpan.FromSeconds(10), clock);
        _metrics = OutageMetrics.Register(this);
    }

    private enum DropCause
    {
        Full,
    }

    /// <summary>Reports held now (those being delivered included).</summary>
    public int Queued
    {
        get
        {
            lock (_gate)
            {
                return _queue.Count;
            }
        }
    }

    /// <summary>Reports ever queued.</summary>
    public long Enqueued => Interlocked.Read(ref _enqueued);

    /// <summary>Queued reports delivered afterwards.</summary>
    public long DeliveredLate => Interlocked.Read(ref _deliveredLate);

    /// <summary>Reports dropped because the queue was full.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>How long the oldest report held has waited; zero when none is.</summary>
    public TimeSpan OldestAge
    {
        get
        {
            lock (_gate)
            {
                return _queue.First is { } oldest ? _clock.GetElapsedTime(oldest.Value.QueuedAt) : TimeSpan.Zero;
            }
        }
    }

    /// <summary>
    /// Delivers <paramref name="report"/> to <paramref name="machine"/> now, or queues it (see the type). Throws only
    /// what is not a transport failure (<see cref="TransportFailure"/>), as the gateway would.
    /// </summary>
    /// <param name="holdOnlyInOutage">
    /// For a report whose client retries (the phone-homes: %post's curl retries a 503): held only while no core is
    /// reachable. Otherwise it is delivered now, ahead of anything queued for the machine (an install that phones home
    /// succeeded, whatever earlier report is late), or, when that fails, <see cref="ReportDelivery.NotDelivered"/>: a
    /// core failing over answers the retry, whereas a report held here would be lost with this edge if it died too.
    /// </param>
    public async Task<ReportResult> SendAsync(MachineId machine, MachineCommand report, bool holdOnlyInOutage = false)
    {
        ArgumentNullException.ThrowIfNull(report);
        if (!_cores.CoresReachable)
        {
            return Enqueue(machine, report, "no core node reachable");
        }

        if (!holdOnlyInOutage && HasQueued(machine))
        {
            return Enqueue(machine, report, null);
        }

        try
        {
            var answer = await _machines.ExecuteAsync(machine, report, CancellationToken.None).ConfigureAwait(false);
            return new ReportResult(ReportDelivery.Delivered, answer);
        }
        catch (Exception e) when (TransportFailure.Is(e, CancellationToken.None))
        {
            return holdOnlyInOutage
                ? new ReportResult(ReportDelivery.NotDelivered, null)
                : Enqueue(machine, report, $"{report.GetType().Name} to {machine} got no answer ({e.GetType().Name})");
        }
    }

    /// <summary>Delivers the queue until <paramref name="stopping"/> is cancelled (one loop per outbox).</summary>
    public async Task RunAsync(CancellationToken stopping)
    {
        var pause = MinPause;
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                if (Queued == 0)
                {
                    await _work.WaitAsync(stopping).ConfigureAwait(false);
                    continue;
                }

                if (!_cores.CoresReachable)
                {
                    await Task.Delay(MinPause, _clock, stopping).ConfigureAwait(false);
                    continue;
                }

                var batch = TakeBatch();
                if (batch.Count == 0)
                {
                    // Everything at the front is being delivered by a batch that has not finished (cannot happen with one loop).
                    await Task.Delay(MinPause, _clock, stopping).ConfigureAwait(false);
                    continue;
                }

                var delivered = await Task.WhenAll(batch.Select(DeliverAsync)).ConfigureAwait(false);
                if (delivered.All(ok => ok))
                {
                    pause = MinPause;
                    continue;
                }

                await Task.Delay(pause, _clock, stopping).ConfigureAwait(false);
                pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, MaxPause.Ticks));
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                break;
            }
        }

        lock (_gate)
        {
            if (_queue.First is { } oldest)
            {
                LogStoppedWithQueue(_queue.Count, _clock.GetElapsedTime(oldest.Value.QueuedAt).TotalSeconds);
            }
        }
    }

    public void Dispose()
    {
        _metrics.Dispose();
        _work.Dispose();
    }

    private bool HasQueued(MachineId machine)
    {
        lock (_gate)
        {
            return _perMachine.ContainsKey(machine);
        }
    }

    private ReportResult Enqueue(MachineId machine, MachineCommand report, string? why)
    {
        lock (_gate)
        {
            var dropped = 0L;
            if (_queue.Count >= _capacity)
            {
                if (OldestIdle() is not { } oldest)
                {
                    Interlocked.Increment(ref _dropped);
                    NoteDropped(1, report, machine);
                    return new ReportResult(ReportDelivery.Dropped, null);
                }

                Remove(oldest);
                Interlocked.Increment(ref _dropped);
                dropped = 1;
                NoteDropped(dropped, oldest.Value.Report, oldest.Value.Machine);
            }

            var first = _queue.Count == 0;
            _queue.AddLast(new Entry(machine, report, _clock.GetTimestamp()));
            _perMachine[machine] = _perMachine.GetValueOrDefault(machine) + 1;
            Interlocked.Increment(ref _enqueued);
            if (first)
            {
                _episodeDelivered = 0;
                _episodeLongestWait = TimeSpan.Zero;
                LogQueueing(machine.Value, report.GetType().Name, why ?? "earlier reports of the machine are queued");
                _work.Release();
            }
            else
            {
                LogQueued(machine.Value, report.GetType().Name, _queue.Count);
            }
        }

        return new ReportResult(ReportDelivery.Queued, null);
    }

    private void NoteDropped(long count, MachineCommand report, MachineId machine)
    {
        if (_drops.TryLog(DropCause.Full, out var more))
        {
            LogDropped(count + more, _capacity, machine.Value, report.GetType().Name);
        }
    }

    /// <summary>The oldest report not being delivered right now.</summary>
    private LinkedListNode<Entry>? OldestIdle()
    {
        for (var node = _queue.First; node is not null; node = node.Next)
        {
            if (!node.Value.InFlight)
            {
                return node;
            }
        }

        return null;
    }

    /// <summary>From the front of the queue: each machine's oldest report, for machines with none being delivered.</summary>
    private List<LinkedListNode<Entry>> TakeBatch()
    {
        var batch = new List<LinkedListNode<Entry>>(BatchSize);
        lock (_gate)
        {
            var taken = new HashSet<MachineId>();
            var scanned = 0;
            for (var node = _queue.First; node is not null && batch.Count < BatchSize && scanned < BatchScan; node = node.Next, scanned++)
            {
                // A machine whose oldest report is skipped (in flight) is skipped whole: its later ones wait their turn.
                if (taken.Add(node.Value.Machine) && !node.Value.InFlight)
                {
                    node.Value.InFlight = true;
                    batch.Add(node);
                }
            }
        }

        return batch;
    }

    private async Task<bool> DeliverAsync(LinkedListNode<Entry> node)
    {
        var entry = node.Value;
        MachineAnswer answer;
        try
        {
            answer = await _machines.ExecuteAsync(entry.Machine, entry.Report, CancellationToken.None).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // whatever failed, the report stays queued and is tried again after a pause
        catch (Exception e)
#pragma warning restore CA1031
        {
            lock (_gate)
            {
                entry.InFlight = false;
            }

            LogRetryLater(e, entry.Machine.Value, entry.Report.GetType().Name);
            return false;
        }

        var waited = _clock.GetElapsedTime(entry.QueuedAt);
        LogDeliveredLate(entry.Machine.Value, entry.Report.GetType().Name, waited.TotalSeconds, answer.Outcome, answer.Reason);
        lock (_gate)
        {
            // Dropped while in flight cannot happen (drops skip reports in flight); the node is still in the queue.
            Remove(node);
            Interlocked.Increment(ref _deliveredLate);
            _episodeDelivered++;
            if (waited > _episodeLongestWait)
            {
                _episodeLongestWait = waited;
            }

            if (_queue.Count == 0)
            {
                LogDrained(_episodeDelivered, _episodeLongestWait.TotalSeconds);
            }
        }

        return true;
    }

    private void Remove(LinkedListNode<Entry> node)
    {
        _queue.Remove(node);
        var machine = node.Value.Machine;
        if (_perMachine[machine] <= 1)
        {
            _perMachine.Remove(machine);
        }
        else
        {
            _perMachine[machine]--;
        }
    }

    private sealed class Entry(MachineId machine, MachineCommand report, long queuedAt)
    {
        public MachineId Machine { get; } = machine;

        public MachineCommand Report { get; } = report;

        public long QueuedAt { get; } = queuedAt;

        /// <summary>Being delivered by the loop now (guarded by the outbox's lock).</summary>
        public bool InFlight { get; set; }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reports to machines are being queued, first {Report} of machine {Mac}: {Reason}; they are delivered, oldest first, once a core node answers")]
    private partial void LogQueueing(string mac, string report, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Queued {Report} of machine {Mac} ({Queued} queued)")]
    private partial void LogQueued(string mac, string report, int queued);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Delivered queued {Report} of machine {Mac} after {Seconds:0.0} s: {Outcome} {Reason}")]
    private partial void LogDeliveredLate(string mac, string report, double seconds, DecisionOutcome outcome, string? reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Queued {Report} of machine {Mac} not delivered yet; it stays queued")]
    private partial void LogRetryLater(Exception e, string mac, string report);

    [LoggerMessage(Level = LogLevel.Information, Message = "Delivered {Delivered} queued reports; the oldest waited {Seconds:0.0} s")]
    private partial void LogDrained(int delivered, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Report queue full ({Capacity}): {Dropped} reports dropped since the last line, oldest first, the last {Report} of machine {Mac} (provisioner.edge.report-queue)")]
    private partial void LogDropped(long dropped, int capacity, string mac, string report);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stopping with {Queued} reports to machines not delivered (the oldest waited {Seconds:0.0} s); they are lost, the machines' stage deadlines cover them")]
    private partial void LogStoppedWithQueue(int queued, double seconds);
}
