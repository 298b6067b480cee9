using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Event;
using Akka.Persistence;
using Provisioner.Domain.Machines;

namespace Provisioner.Cluster.Machines;

/// <summary>
/// One machine, one persistent actor: a thin shell around <see cref="Machine.Decide"/> and <see cref="Machine.Apply"/>.
/// It persists before it answers (a boot decision is never acknowledged before it is durable), snapshots
/// every N events, runs the current stage's deadline as a timer, and passivates when idle with no deadline pending.
/// </summary>
public sealed class MachineActor : UntypedPersistentActor, IWithTimers
{
    public const string PersistencePrefix = "machine-";
    private const string DeadlineTimer = "deadline";

    /// <summary>How long an actor over the new-machine limit stays after its last message (one refused preview stops it at once).</summary>
    private static readonly TimeSpan OverLimitIdle = TimeSpan.FromMilliseconds(200);

    private readonly MachineActorSettings _settings;
    private MachineState _state;
    private string? _lastRejection;

    /// <summary>This actor persisted nothing and holds one of <see cref="MachineActorSettings.NewMachines"/>' slots.</summary>
    private bool _holdsNewSlot;


    /// <summary>Who asked to be told of every change (<see cref="MachineProtocol.WatchMachine"/>): the edges' state caches.</summary>
    private readonly HashSet<IActorRef> _watchers = [];

    public MachineActor(string machineId, MachineActorSettings settings)
    {
        _settings = settings;
        _state = MachineState.Empty(machineId);
        PersistenceId = PersistencePrefix + machineId;
    }

    protected override void OnRecover(object message)
    {
        switch (message)
        {
            // A snapshot from before the state became fixed-size also carries the machine's events: dropped there.
            case SnapshotOffer { Snapshot: MachineState snapshot }:
                _state = Machine.FromSnapshot(snapshot);
                break;
            case IMachineEvent e:
                _state = Machine.Apply(_state, e);
                break;
        }
    }

    /// <summary>
    /// A switch rather than ReceivePersistentActor's per-instance handler table: a rollout (or a flood of new MACs) makes
    /// thousands of these a second, and building that table was a tenth of all the allocation of one.
    /// </summary>
    protected override void OnCommand(object message)
    {
        switch (message)
        {
            case MachineProtocol.Execute execute:
                Handle(execute);
                break;
            case MachineProtocol.PreviewBoot preview:
                Preview(preview);
                break;
            case MachineProtocol.RecordFirstBoot record:
                RecordFirstBoot(record);
                break;
            case MachineProtocol.GetMachine:
                Sender.Tell(new MachineProtocol.MachineResult(_state.MachineId, _state, LastSequenceNr));
                break;
            case MachineProtocol.WatchMachine:
                Watch(Sender);
                break;
            case Terminated t:
                _watchers.Remove(t.ActorRef);
                break;
            case DeadlineDue:
                Handle(new MachineProtocol.Execute(_state.MachineId, new MachineCommands.CheckDeadline(_settings.Clock.GetUtcNow())), reply: false);
                break;
            case ReceiveTimeout:
                PassivateIfIdle();
                break;
            case SaveSnapshotSuccess s:
                DeleteSnapshots(new SnapshotSelectionCriteria(s.Metadata.SequenceNr - 1));
                break;
            case SaveSnapshotFailure f:
                Log.Warning(f.Cause, "machine {MachineId}: snapshot failed", _state.MachineId);
                break;
            case DeleteSnapshotsSuccess:
                break;
            case DeleteSnapshotsFailure f:
                Log.Warning(f.Cause, "machine {MachineId}: deleting old snapshots failed", _state.MachineId);
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    /// <summary>
    /// Props for one machine. Not <c>Props.Create(() => new MachineActor(...))</c>: Akka reads that expression's
    /// arguments by reflection for every entity it starts, which a burst of new machines pays thousands of times a second.
    /// </summary>
    public static Props PropsFor(string machineId, MachineActorSettings settings) => Props.CreateBy(new Producer(machineId, settings));

    public override string PersistenceId { get; }

    public ITimerScheduler Timers { get; set; } = null!;

    protected override void OnReplaySuccess()
    {
        ScheduleDeadline();
        // A machine never written (only DISCOVERs so far) has nothing to keep: a flood of new MACs must not hold an
        // actor each for minutes. Its first persisted event switches to the ordinary idle time.
        if (LastSequenceNr > 0)
        {
            Context.SetReceiveTimeout(_settings.PassivateAfter);
            return;
        }

        _holdsNewSlot = _settings.NewMachines.TryEnter();
        Context.SetReceiveTimeout(OverNewLimit ? OverLimitIdle : _settings.PassivateNewAfter);
    }

    /// <summary>This actor persisted nothing and found no slot: it refuses previews and stops when idle for a moment.</summary>
    private bool OverNewLimit => LastSequenceNr == 0 && !_holdsNewSlot;

    protected override void PostStop()
    {
        LeaveNewSlot();
        base.PostStop();
    }

    private void Preview(MachineProtocol.PreviewBoot message)
    {
        if (OverNewLimit)
        {
            _settings.NewMachines.CountRefusal();
            Sender.Tell(new MachineProtocol.CommandResult(
                _state.MachineId,
                DecisionOutcome.Rejected,
                BootAction.None,
                _state.Stage,
                _settings.NewMachines.RefusalReason,
                LastSequenceNr));
            // Nothing to keep, and a flood brings the next one at once: stop now rather than after OverLimitIdle.
            Context.Parent.Tell(new Passivate(PoisonPill.Instance));
            return;
        }

        Sender.Tell(new MachineProtocol.CommandResult(_state.MachineId, DecisionOutcome.Unchanged, Machine.Preview(_state, message.Request), _state.Stage, null, LastSequenceNr));
    }

    private void RecordFirstBoot(MachineProtocol.RecordFirstBoot message)
    {
        if (LastSequenceNr > 0)
        {
            // Recorded already (an earlier hand-over, or a repeat after a restart), or the machine has moved on.
            Sender.Tell(new MachineProtocol.CommandResult(_state.MachineId, DecisionOutcome.Unchanged, Machine.Preview(_state, message.Request), _state.Stage, null, LastSequenceNr));
            return;
        }

        Handle(new MachineProtocol.Execute(_state.MachineId, message.Request));
    }

    private void LeaveNewSlot()
    {
        if (_holdsNewSlot)
        {
            _holdsNewSlot = false;
            _settings.NewMachines.Leave();
        }
    }

    private void Handle(MachineProtocol.Execute message) => Handle(message, reply: true);

    private void Handle(MachineProtocol.Execute message, bool reply)
    {
        var decision = Machine.Decide(_state, message.Command, _settings.Policy);
        var sender = reply ? Sender : ActorRefs.Nobody;

        if (decision.Outcome == DecisionOutcome.Rejected)
        {
            // Once at Info; the same rejection repeated (a client fetching in a loop) only at Debug.
            var rejection = $"{_state.Stage} {message.Command.GetType().Name} {decision.Reason}";
            if (rejection == _lastRejection)
            {
                Log.Debug("machine {MachineId} stage {Stage}: {Command} rejected again: {Reason}", _state.MachineId, _state.Stage, message.Command.GetType().Name, decision.Reason);
            }
            else
            {
                Log.Info("machine {MachineId} stage {Stage}: {Command} rejected: {Reason}", _state.MachineId, _state.Stage, message.Command.GetType().Name, decision.Reason);
            }

            _lastRejection = rejection;
        }
        else
        {
            _lastRejection = null;
        }

        if (decision.Events.Count == 0)
        {
            sender.Tell(Result(decision));
            return;
        }

        var remaining = decision.Events.Count;
        var fromStage = _state.Stage;
        PersistAll(decision.Events, e =>
        {
            _state = Machine.Apply(_state, e);
            if (--remaining > 0)
            {
                return;
            }

            if (_state.Stage != fromStage)
            {
                Log.Info("machine {MachineId} stage {FromStage} -> {Stage} ({Events}) attempt {Attempt}", _state.MachineId, fromStage, _state.Stage, string.Join(", ", decision.Events.Select(ev => ev.GetType().Name)), _state.Attempt);
            }
            else
            {
                Log.Debug("machine {MachineId} stage {Stage}: recorded {Events}", _state.MachineId, _state.Stage, string.Join(", ", decision.Events.Select(ev => ev.GetType().Name)));
            }

            MaybeSnapshot(decision.Events.Count);
            LeaveNewSlot();
            Context.SetReceiveTimeout(_settings.PassivateAfter);
            ScheduleDeadline();
            NotifyWatchers();
            sender.Tell(Result(decision));
        });
    }

    private MachineProtocol.CommandResult Result(Decision decision) =>
        new(_state.MachineId, decision.Outcome, decision.Boot, _state.Stage, decision.Reason, LastSequenceNr);

    private void Watch(IActorRef watcher)
    {
        if (_watchers.Add(watcher))
        {
            Context.Watch(watcher);
        }

        watcher.Tell(new MachineProtocol.MachineChanged(_state.MachineId, _state, LastSequenceNr));
    }

    /// <summary>Every persisted change goes to the watchers (before the command is answered).</summary>
    private void NotifyWatchers()
    {
        if (_watchers.Count == 0)
        {
            return;
        }

        var notice = new MachineProtocol.MachineChanged(_state.MachineId, _state, LastSequenceNr);
        foreach (var watcher in _watchers)
        {
            watcher.Tell(notice);
        }
    }

    private void MaybeSnapshot(int persisted)
    {
        // Snapshot when this batch crossed a multiple of N.
        if (LastSequenceNr / _settings.SnapshotEvery != (LastSequenceNr - persisted) / _settings.SnapshotEvery)
        {
            SaveSnapshot(_state);
        }
    }

    private void ScheduleDeadline()
    {
        if (_settings.Policy.DeadlineOf(_state) is { } deadline)
        {
            var due = deadline - _settings.Clock.GetUtcNow();
            Timers.StartSingleTimer(DeadlineTimer, DeadlineDue.Instance, due < TimeSpan.Zero ? TimeSpan.Zero : due);
        }
        else
        {
            Timers.Cancel(DeadlineTimer);
        }
    }

    private void PassivateIfIdle()
    {
        // A pending deadline keeps the actor awake: the timer is its only way to notice a stalled install.
        if (_settings.Policy.DeadlineOf(_state) is null)
        {
            Context.Parent.Tell(new Passivate(PoisonPill.Instance));
        }
    }

    private sealed class DeadlineDue
    {
        public static readonly DeadlineDue Instance = new();
    }

    private sealed class Producer(string machineId, MachineActorSettings settings) : IIndirectActorProducer
    {
        public Type ActorType => typeof(MachineActor);

        public ActorBase Produce() => new MachineActor(machineId, settings);

        public void Release(ActorBase actor)
        {
        }
    }
}

/// <param name="PassivateNewAfter">Idle time after which an actor that has persisted nothing (only DISCOVERs seen) stops.</param>
public sealed record MachineActorSettings(MachinePolicy Policy, int SnapshotEvery, TimeSpan PassivateAfter, TimeProvider Clock)
{
    public TimeSpan PassivateNewAfter { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>The node's bound on live actors that have persisted nothing (one instance shared by all of them).</summary>
    public NewMachineLimit NewMachines { get; init; } = NewMachineLimit.Unbounded;
}
