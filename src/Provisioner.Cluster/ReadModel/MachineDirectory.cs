using Akka;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using Provisioner.Cluster.Machines;
using Provisioner.Domain.Machines;

namespace Provisioner.Cluster.ReadModel;

/// <summary>One line of the fleet view, derived from a machine's events without waking its actor.</summary>
public sealed record MachineSummary(
    string MachineId,
    MachineStage Stage,
    string? Profile,
    string? Address,
    int Attempt,
    DateTimeOffset? FirstSeenAt,
    DateTimeOffset? LastChangedAt,
    string? FailureReason) : IProvisionerMessage;

public static class DirectoryProtocol
{
    /// <summary>
    /// One page of machine summaries in MAC order, optionally only those in one stage: the first <see cref="Limit"/> after
    /// <see cref="After"/> (exclusive; null = from the start). Answered with <see cref="MachineList"/>, whose
    /// <see cref="MachineList.Next"/> continues. Pages keep every reply far below Akka.Remote's 128,000-byte frame (a
    /// whole fleet in one message was dropped as oversized past ~1,200 machines when the directory lived on another node).
    /// </summary>
    public sealed record ListMachines(MachineStage? Stage = null) : IProvisionerMessage
    {
        public const int MaxLimit = 500;

        public string? After { get; init; }

        public int Limit { get; init; } = MaxLimit;
    }

    /// <param name="CaughtUp">False while the directory is still reading the journal after a start: the list may be incomplete.</param>
    public sealed record MachineList(IReadOnlyList<MachineSummary> Machines, long Offset, bool CaughtUp) : IProvisionerMessage
    {
        /// <summary>The journal offset the directory started from (its snapshot's; 0: it read the whole journal).</summary>
        public long StartedAtOffset { get; init; }

        /// <summary>Machine events the directory has read from the journal since it started.</summary>
        public long EventsRead { get; init; }

        /// <summary>Where the next page starts (<see cref="ListMachines.After"/>); null when this page is the last.</summary>
        public string? Next { get; init; }
    }
}

/// <summary>
/// The directory's snapshot: every machine's state and the journal offset they were folded up to. A start loads it and
/// reads only the journal after that offset. Bound to Hyperion as a message type (new type, nothing renamed).
/// </summary>
public sealed record DirectorySnapshot(long Offset, MachineState[] Machines) : IProvisionerMessage;

/// <param name="SnapshotInterval">How often a changed directory is snapshotted once it has caught up (and right after its first catch-up).</param>
/// <param name="WakePerSecond">
/// Machines mid-install woken per second after a start (each recovers its actor from the journal). All at once, 28,000
/// of them after a cluster restart saturated the cores and PostgreSQL until heartbeats failed and nodes were downed.
/// </param>
/// <param name="Policy">
/// The stage deadlines: with it, a machine mid-install is woken when its deadline falls due (none before: after a restart
/// with 90,000 machines mid-install, waking them all at 200 a second kept the cores busy for minutes and the fleet list
/// took 14 s); without it, every one is woken at once, oldest stage first.
/// </param>
public sealed record MachineDirectorySettings(TimeSpan SnapshotInterval, int WakePerSecond = 200, MachinePolicy? Policy = null)
{
    public static MachineDirectorySettings Default { get; } = new(TimeSpan.FromMinutes(1));
}

/// <summary>
/// The fleet-wide read model: a projection of every machine's events, read from the journal with
/// Akka.Persistence.Query (events tagged <see cref="MachineEventTagger.Tag"/>, in journal order). It never wakes a
/// machine actor, so listing a hundred thousand machines is a dictionary walk. On start it replays the journal from
/// the beginning (<c>CurrentEventsByTag</c>), marks itself caught up, then follows new events live (<c>EventsByTag</c>).
/// Only machine events are read: following every event (<c>AllEvents</c>) also read each lease grant, and under a
/// DHCP storm that once-a-second batch of thousands of lease rows stalled the node long enough to send its DHCP
/// replies in bursts. A failed stream restarts from the last offset it folded.
/// <para>
/// One per cluster: a singleton on the core nodes (every node reaches it through a proxy, so any node answers
/// <c>machine list</c>), persistent through snapshots only (<see cref="DirectorySnapshot"/>: every machine's state and
/// the offset). A start, or a move to another core after a crash, loads the last snapshot and reads only the journal
/// after its offset, instead of replaying the whole journal.
/// </para>
/// </summary>
public sealed class MachineDirectory : ReceivePersistentActor, IWithTimers
{
    /// <summary>The singleton's name.</summary>
    public const string Id = "machine-directory";

    /// <summary>Its snapshots' persistence id: not under <see cref="MachineActor.PersistencePrefix"/>, where machine ids are counted.</summary>
    public const string SnapshotId = "fleet-directory";

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<string, MachineState> _machines = new(StringComparer.Ordinal);
    private string[]? _sorted;
    private readonly string _readJournalId;
    private long _offset;
    private bool _caughtUp;
    private readonly Func<Task<IActorRef>>? _wakeInstalling;
    private readonly TimeProvider _clock;
    private UniqueKillSwitch? _stream;
    private readonly MachineDirectorySettings _settings;
    private long _startedAt;
    private long _eventsRead;
    private long _snapshotOffset;
    private bool _snapshotting;

    /// <param name="wakeInstalling">
    /// After the first catch-up, hand every machine that is mid-install a <c>CheckDeadline</c> through this region,
    /// so its stage deadline runs again after a node restart (actors are not remembered across restarts).
    /// </param>
    public MachineDirectory(string readJournalId, Func<Task<IActorRef>>? wakeInstalling = null, TimeProvider? clock = null, MachineDirectorySettings? settings = null)
    {
        _readJournalId = readJournalId;
        _wakeInstalling = wakeInstalling;
        _clock = clock ?? TimeProvider.System;
        _settings = settings ?? MachineDirectorySettings.Default;

        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is DirectorySnapshot snapshot)
            {
                foreach (var machine in snapshot.Machines)
                {
                    _machines[machine.MachineId] = machine;
                }

                _sorted = null;
                _offset = _snapshotOffset = _startedAt = snapshot.Offset;
            }
        });

        Command<StreamInit>(_ => Sender.Tell(Ack.Instance));
        Command<EventEnvelope>(envelope =>
        {
            Fold(envelope);
            Sender.Tell(Ack.Instance);
        });
        Command<StreamCompleted>(c =>
        {
            if (c.Live)
            {
                return;
            }

            var first = !_caughtUp;
            _caughtUp = true;
            _log.Info("machine directory caught up: {Machines} machines at journal offset {Offset} ({Events} events read after the snapshot's offset {From})", _machines.Count, _offset, _eventsRead, _startedAt);
            RunStream(live: true);
            if (first)
            {
                Snapshot();
                Timers.StartPeriodicTimer("snapshot", SnapshotTick.Instance, _settings.SnapshotInterval);
            }

            if (first && _wakeInstalling is not null)
            {
                var schedule = WakeSchedule.For(_machines.Values, _settings.Policy);
                if (schedule.Count > 0)
                {
                    _wakeInstalling().PipeTo(Self, success: region => new WakeInstalling(region, schedule));
                }
            }
        });
        Command<WakeInstalling>(w =>
        {
            _waking = w.Schedule;
            _wakeRegion = w.Region;
            _wakeStarted = _clock.GetUtcNow();
            _log.Info(
                _settings.Policy is null
                    ? "machine directory: waking {Count} machines that were mid-install so their deadlines run again, {Rate} a second"
                    : "machine directory: {Count} machines were mid-install; each is woken when its stage deadline falls due, at most {Rate} a second",
                w.Schedule.Count,
                _settings.WakePerSecond);
            Timers.StartPeriodicTimer("wake", WakeTick.Instance, WakeTickInterval);
            WakeSome();
        });
        Command<WakeTick>(_ => WakeSome());
        Command<StreamFailed>(f =>
        {
            _log.Warning(f.Cause, "machine directory: journal stream failed at offset {Offset}; retrying in 3 s", _offset);
            Timers.StartSingleTimer("restart", RestartStream.Instance, TimeSpan.FromSeconds(3));
        });
        Command<RestartStream>(_ => RunStream(live: _caughtUp));
        Command<DirectoryProtocol.ListMachines>(q => Sender.Tell(List(q)));
        Command<SnapshotTick>(_ => Snapshot());
        // Nothing is ever persisted but snapshots, so each has sequence number 0 and replaces the one before.
        Command<SaveSnapshotSuccess>(_ => _snapshotting = false);
        Command<SaveSnapshotFailure>(f =>
        {
            _snapshotting = false;
            _log.Warning(f.Cause, "machine directory: snapshot at offset {Offset} failed; the next start reads the journal from an older offset", _offset);
        });
    }

    public override string PersistenceId => SnapshotId;

    private static readonly TimeSpan WakeTickInterval = TimeSpan.FromMilliseconds(100);
    private WakeSchedule? _waking;
    private IActorRef? _wakeRegion;
    private DateTimeOffset _wakeStarted;

    /// <summary>One tick's share of the machines due to wake (at most <see cref="MachineDirectorySettings.WakePerSecond"/> a second).</summary>
    private void WakeSome()
    {
        if (_waking is null || _wakeRegion is null)
        {
            return;
        }

        var now = _clock.GetUtcNow();
        var batch = Math.Max(1, (int)(_settings.WakePerSecond * WakeTickInterval.TotalSeconds));
        foreach (var id in _waking.Due(now, batch))
        {
            _wakeRegion.Tell(new MachineProtocol.Execute(id, new MachineCommands.CheckDeadline(now)));
        }

        if (_waking.Count == 0)
        {
            Timers.Cancel("wake");
            _log.Info("machine directory: every machine that was mid-install at the start has been woken ({Seconds:0.0} s)", (now - _wakeStarted).TotalSeconds);
            _waking = null;
            _wakeRegion = null;
        }
    }

    public ITimerScheduler Timers { get; set; } = null!;

    protected override void OnReplaySuccess()
    {
        if (_startedAt > 0)
        {
            _log.Info("machine directory: {Machines} machines from its snapshot at journal offset {Offset}; reading the journal after it", _machines.Count, _startedAt);
        }

        RunStream(live: false);
    }

    protected override void PostStop()
    {
        _stream?.Shutdown();
        base.PostStop();
    }

    /// <summary>Saves every machine and the offset when something was folded since the last snapshot (one at a time).</summary>
    private void Snapshot()
    {
        if (_snapshotting || _offset == _snapshotOffset)
        {
            return;
        }

        _snapshotting = true;
        _snapshotOffset = _offset;
        SaveSnapshot(new DirectorySnapshot(_offset, _machines.Values.ToArray()));
    }

    private void Fold(EventEnvelope envelope)
    {
        if (envelope.Offset is Sequence sequence)
        {
            // A restarted stream may hand back the event at its start offset: never fold an event twice.
            if (sequence.Value <= _offset)
            {
                return;
            }

            _offset = sequence.Value;
        }

        if (envelope.Event is not IMachineEvent e || !envelope.PersistenceId.StartsWith(MachineActor.PersistencePrefix, StringComparison.Ordinal))
        {
            return;
        }

        _eventsRead++;
        var id = envelope.PersistenceId[MachineActor.PersistencePrefix.Length..];
        if (!_machines.TryGetValue(id, out var state))
        {
            state = MachineState.Empty(id);
            _sorted = null;
        }

        _machines[id] = Machine.Apply(state, e);
    }

    private DirectoryProtocol.MachineList List(DirectoryProtocol.ListMachines query)
    {
        // The ids in MAC order, sorted again only when a machine was added since the last list.
        _sorted ??= _machines.Keys.Order(StringComparer.Ordinal).ToArray();
        var limit = Math.Clamp(query.Limit, 1, DirectoryProtocol.ListMachines.MaxLimit);
        var start = 0;
        if (query.After is { } after)
        {
            start = Array.BinarySearch(_sorted, after, StringComparer.Ordinal);
            start = start >= 0 ? start + 1 : ~start;
        }

        var page = new List<MachineSummary>(Math.Min(limit, _sorted.Length - start));
        string? next = null;
        for (var i = start; i < _sorted.Length; i++)
        {
            var m = _machines[_sorted[i]];
            if (query.Stage is { } stage && m.Stage != stage)
            {
                continue;
            }

            if (page.Count == limit)
            {
                next = page[^1].MachineId;
                break;
            }

            page.Add(new MachineSummary(m.MachineId, m.Stage, m.Profile, m.Address, m.Attempt, m.FirstSeenAt, m.LastChangedAt, m.FailureReason));
        }

        return new DirectoryProtocol.MachineList(page, _offset, _caughtUp) { StartedAtOffset = _startedAt, EventsRead = _eventsRead, Next = next };
    }

    private void RunStream(bool live)
    {
        _stream?.Shutdown();
        var journal = Akka.Persistence.Query.PersistenceQuery.Get(Context.System).ReadJournalFor<SqlReadJournal>(_readJournalId);
        var from = Offset.Sequence(_offset);
        var source = live ? journal.EventsByTag(MachineEventTagger.Tag, from) : journal.CurrentEventsByTag(MachineEventTagger.Tag, from);
        _stream = source
            .ViaMaterialized(KillSwitches.Single<EventEnvelope>(), Keep.Right)
            .To(Sink.ActorRefWithAck<EventEnvelope>(Self, StreamInit.Instance, Ack.Instance, new StreamCompleted(live), ex => new StreamFailed(ex)))
            .Run(Context.System.Materializer());
    }

    private sealed class StreamInit
    {
        public static readonly StreamInit Instance = new();
    }

    private sealed class Ack
    {
        public static readonly Ack Instance = new();
    }

    private sealed class RestartStream
    {
        public static readonly RestartStream Instance = new();
    }

    private sealed class SnapshotTick
    {
        public static readonly SnapshotTick Instance = new();
    }

    private sealed class WakeTick
    {
        public static readonly WakeTick Instance = new();
    }

    private sealed record StreamCompleted(bool Live);

    private sealed record WakeInstalling(IActorRef Region, WakeSchedule Schedule);

    private sealed record StreamFailed(Exception Cause);
}

/// <summary>
/// The machines a directory wakes after a start, in the order of their stage deadlines: those mid-install (their
/// actors, not remembered across a restart, must run their deadlines again). With a policy, a machine is due when its
/// deadline is; one with no deadline is not woken at all. Without, every one is due at once, oldest stage first.
/// </summary>
public sealed class WakeSchedule
{
    private readonly (DateTimeOffset Due, string Id)[] _machines;
    private int _next;

    private WakeSchedule((DateTimeOffset, string)[] machines) => _machines = machines;

    /// <summary>Machines not woken yet.</summary>
    public int Count => _machines.Length - _next;

    public static WakeSchedule For(IEnumerable<MachineState> machines, MachinePolicy? policy)
    {
        ArgumentNullException.ThrowIfNull(machines);
        var installing = machines.Where(m => m.Stage.IsInstalling());
        var due = policy is null
            ? installing.Select(m => (Due: DateTimeOffset.MinValue, m.StageEnteredAt, Id: m.MachineId))
            : installing.Select(m => (Due: policy.DeadlineOf(m) ?? DateTimeOffset.MaxValue, m.StageEnteredAt, Id: m.MachineId)).Where(m => m.Due != DateTimeOffset.MaxValue);
        return new WakeSchedule(due.OrderBy(m => m.Due).ThenBy(m => m.StageEnteredAt).ThenBy(m => m.Id, StringComparer.Ordinal).Select(m => (m.Due, m.Id)).ToArray());
    }

    /// <summary>Up to <paramref name="max"/> machines whose time has come by <paramref name="now"/>, each once.</summary>
    public IReadOnlyList<string> Due(DateTimeOffset now, int max)
    {
        var due = new List<string>();
        while (_next < _machines.Length && due.Count < max && _machines[_next].Due <= now)
        {
            due.Add(_machines[_next++].Id);
        }

        return due;
    }
}

