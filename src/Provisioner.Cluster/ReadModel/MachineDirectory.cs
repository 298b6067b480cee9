using Akka;
using Akka.Actor;
using Akka.Event;
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
    /// <summary>List machine summaries, optionally only those in one stage. Answered with <see cref="MachineList"/>.</summary>
    public sealed record ListMachines(MachineStage? Stage = null) : IProvisionerMessage;

    /// <param name="CaughtUp">False while the directory is still reading the journal after a start: the list may be incomplete.</param>
    public sealed record MachineList(IReadOnlyList<MachineSummary> Machines, long Offset, bool CaughtUp) : IProvisionerMessage;
}

/// <summary>
/// The fleet-wide read model: a projection of every machine's events, read from the journal with
/// Akka.Persistence.Query (events tagged <see cref="MachineEventTagger.Tag"/>, in journal order). It never wakes a
/// machine actor, so listing a hundred thousand machines is a dictionary walk. On start it replays the journal from
/// the beginning (<c>CurrentEventsByTag</c>), marks itself caught up, then follows new events live (<c>EventsByTag</c>).
/// Only machine events are read: following every event (<c>AllEvents</c>) also read each lease grant, and under a
/// DHCP storm that once-a-second batch of thousands of lease rows stalled the node long enough to send its DHCP
/// replies in bursts. A failed stream restarts from the last offset it folded.
/// </summary>
public sealed class MachineDirectory : ReceiveActor, IWithTimers
{
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<string, MachineState> _machines = new(StringComparer.Ordinal);
    private readonly string _readJournalId;
    private long _offset;
    private bool _caughtUp;
    private readonly Func<Task<IActorRef>>? _wakeInstalling;
    private readonly TimeProvider _clock;
    private UniqueKillSwitch? _stream;

    /// <param name="wakeInstalling">
    /// After the first catch-up, hand every machine that is mid-install a <c>CheckDeadline</c> through this region,
    /// so its stage deadline runs again after a node restart (actors are not remembered across restarts).
    /// </param>
    public MachineDirectory(string readJournalId, Func<Task<IActorRef>>? wakeInstalling = null, TimeProvider? clock = null)
    {
        _readJournalId = readJournalId;
        _wakeInstalling = wakeInstalling;
        _clock = clock ?? TimeProvider.System;

        Receive<StreamInit>(_ => Sender.Tell(Ack.Instance));
        Receive<EventEnvelope>(envelope =>
        {
            Fold(envelope);
            Sender.Tell(Ack.Instance);
        });
        Receive<StreamCompleted>(c =>
        {
            if (c.Live)
            {
                return;
            }

            var first = !_caughtUp;
            _caughtUp = true;
            _log.Info("machine directory caught up: {Machines} machines at journal offset {Offset}", _machines.Count, _offset);
            RunStream(live: true);
            if (first && _wakeInstalling is not null)
            {
                var installing = _machines.Values.Where(m => m.Stage.IsInstalling()).Select(m => m.MachineId).ToArray();
                if (installing.Length > 0)
                {
                    _wakeInstalling().PipeTo(Self, success: region => new WakeInstalling(region, installing));
                }
            }
        });
        Receive<WakeInstalling>(w =>
        {
            var now = _clock.GetUtcNow();
            foreach (var id in w.Machines)
            {
                w.Region.Tell(new MachineProtocol.Execute(id, new MachineCommands.CheckDeadline(now)));
            }

            _log.Info("machine directory: woke {Count} machines that were mid-install so their deadlines run again", w.Machines.Count);
        });
        Receive<StreamFailed>(f =>
        {
            _log.Warning(f.Cause, "machine directory: journal stream failed at offset {Offset}; retrying in 3 s", _offset);
            Timers.StartSingleTimer("restart", RestartStream.Instance, TimeSpan.FromSeconds(3));
        });
        Receive<RestartStream>(_ => RunStream(live: _caughtUp));
        Receive<DirectoryProtocol.ListMachines>(q => Sender.Tell(List(q.Stage)));
    }

    public ITimerScheduler Timers { get; set; } = null!;

    protected override void PreStart() => RunStream(live: false);

    protected override void PostStop() => _stream?.Shutdown();

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

        var id = envelope.PersistenceId[MachineActor.PersistencePrefix.Length..];
        var state = _machines.TryGetValue(id, out var known) ? known : MachineState.Empty(id);
        _machines[id] = Machine.Apply(state, e);
    }

    private DirectoryProtocol.MachineList List(MachineStage? stage)
    {
        var machines = _machines.Values
            .Where(m => stage is null || m.Stage == stage)
            .Select(m => new MachineSummary(m.MachineId, m.Stage, m.Profile, m.Address, m.Attempt, m.FirstSeenAt, m.LastChangedAt, m.FailureReason))
            .OrderBy(m => m.MachineId, StringComparer.Ordinal)
            .ToArray();
        return new DirectoryProtocol.MachineList(machines, _offset, _caughtUp);
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

    private sealed record StreamCompleted(bool Live);

    private sealed record WakeInstalling(IActorRef Region, IReadOnlyList<string> Machines);

    private sealed record StreamFailed(Exception Cause);
}
