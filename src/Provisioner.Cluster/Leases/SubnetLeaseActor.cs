using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Event;
using Akka.Persistence;
using Provisioner.Domain.Leases;
using static Provisioner.Cluster.Leases.SubnetLeaseProtocol;

namespace Provisioner.Cluster.Leases;

/// <summary>
/// One subnet, one persistent actor: the single owner of its addresses (DESIGN.md "one owner per fact"), a thin
/// shell around <see cref="LeaseTable.Decide"/> and <see cref="LeaseTable.Apply"/>.
/// </summary>
/// <remarks>
/// Throughput without giving up durability: a decision's events are applied to the in-memory table at once (so the
/// next REQUEST, arriving while the write is in flight, already sees the address taken) and persisted with
/// <c>PersistAllAsync</c>; Akka queues every persist made while a write is outstanding into the next journal write, so
/// many concurrent REQUESTs share one round trip. Each ACK is sent from its persist handler, i.e. only when durable.
/// An ACK that needs no event (a retransmitted REQUEST) goes through <c>DeferAsync</c>, so it still waits for
/// the grant it depends on if that is not yet durable; offers and NAKs are answered at once. A failed or rejected write stops the actor; it recovers the
/// durable table on the next message, and the optimistic grants that never became durable are never acknowledged.
/// Offers are held in memory only. Snapshots are taken every max(N, bindings) events, at a moment no write is in flight.
/// <para>
/// The subnet's definition (network, pool, options, reservations) is a fact in the same journal: edges declare their
/// subnets (<see cref="SubnetLeaseProtocol.DeclareSubnet"/>, decided by <see cref="SubnetDeclarations"/>), so the core node
/// that hosts this actor needs no subnet list of its own. Until a subnet is declared it answers every request with
/// <see cref="LeaseOutcome.UnknownSubnet"/>.
/// </para>
/// </remarks>
public sealed class SubnetLeaseActor : ReceivePersistentActor
{
    public const string PersistencePrefix = "subnet-";

    private SubnetDefinition? _subnet;
    private LeaseEvents.SubnetDefined? _defined;
    private readonly SubnetLeaseSettings _settings;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly string _subnetId;
    private LeaseTableState _state;

    /// <summary>Tentative offers: in memory only, never in the journal or a snapshot (lost on a restart by design).</summary>
    private readonly OfferBook _offers = new();
    private int _inFlight;
    private int _maxInFlight;
    private long _eventsPersisted;
    private long _sinceSnapshot;
    private IActorRef? _forgetting;

    /// <param name="subnet">A definition given by the host (the warm-up subnet, tests); a declared one replaces it. Null for every real subnet: its definition is in its journal.</param>
    public SubnetLeaseActor(string subnetId, SubnetDefinition? subnet, SubnetLeaseSettings settings)
    {
        _subnetId = subnetId;
        _subnet = subnet;
        _settings = settings;
        _state = LeaseTableState.Empty(subnetId);
        PersistenceId = PersistencePrefix + subnetId;

        Recover<SnapshotOffer>(offer =>
        {
            _state = offer.Snapshot switch
            {
                DefinedSubnetSnapshot defined => LeaseTableState.FromSnapshot(defined.Subnet),
                SubnetSnapshot snapshot => LeaseTableState.FromSnapshot(snapshot),
                LeaseTableSnapshot table => LeaseTableState.FromSnapshot(table),
                _ => _state,
            };
            if (offer.Snapshot is DefinedSubnetSnapshot withDefinition)
            {
                Recovered(withDefinition.Definition);
            }
        });
        Recover<ILeaseEvent>(e =>
        {
            if (e is LeaseEvents.SubnetDefined defined)
            {
                Recovered(defined);
            }
            else
            {
                _state = LeaseTable.Apply(_state, e);
            }

            _sinceSnapshot++;
        });

        Command<DeclareSubnet>(m => Declare(SubnetDeclarations.Decide(_defined, m.Definition)));
        Command<HandOverSubnet>(m => Declare(SubnetDeclarations.HandOver(_defined, _subnetId, m.Node, m.At)));
        Command<Offer>(m => Handle(m.Mac, new LeaseCommands.Offer(m.At, m.Mac, m.Requested), m.Ticket));
        Command<Request>(m => Handle(m.Mac, m.Renewing ? new LeaseCommands.Renew(m.At, m.Mac, m.Address) : new LeaseCommands.Request(m.At, m.Mac, m.Address), m.Ticket));
        Command<RequestFirstBoot>(m => Handle(m.Mac, new LeaseCommands.Request(m.At, m.Mac, m.Address), m.Ticket, m));
        Command<FlushFirstBoot>(m =>
        {
            // A pending boot is in the table as soon as it is granted, before its write is durable: handed over only
            // after every write in flight, so that no machine records a lease its subnet may yet lose.
            var sender = Sender;
            AfterWritesInFlight(() => Flush(m, sender));
        });
        Command<FirstBootRecorder.Recorded>(m => _state = _state.WithBootRecorded(m.Mac, m.At));
        Command<Wake>(_ => Sender.Tell(new Awake(_subnetId, _state.Bindings.Count, _state.PendingBoots.Count)));
        Command<Forget>(_ =>
        {
            if (!_settings.Scratch)
            {
                Sender.Tell(new Status.Failure(new InvalidOperationException($"subnet '{_subnetId}' holds real leases; only the warm-up subnet is forgotten")));
                return;
            }

            var sender = Sender;
            AfterWritesInFlight(() =>
            {
                _forgetting = sender;
                DeleteMessages(LastSequenceNr);
            });
        });
        Command<DeleteMessagesSuccess>(_ =>
        {
            // The scratch subnet never takes a snapshot: its events were all it had.
            _forgetting?.Tell(new Forgotten(_subnetId, _eventsPersisted));
            _forgetting = null;
            Context.Parent.Tell(new Passivate(PoisonPill.Instance));
        });
        Command<DeleteMessagesFailure>(f =>
        {
            _log.Warning(f.Cause, "subnet {SubnetId}: deleting its journal failed", _subnetId);
            _forgetting?.Tell(new Status.Failure(f.Cause));
            _forgetting = null;
        });
        Command<Release>(m => Handle(m.Mac, new LeaseCommands.Release(m.At, m.Mac, m.Address), m.Ticket));
        Command<Decline>(m => Handle(m.Mac, new LeaseCommands.Decline(m.At, m.Mac, m.Address), m.Ticket));
        Command<Inform>(m =>
        {
            var lease = _state.ActiveLeaseOf(m.Mac, m.At);
            Reply(Sender, new LeaseResult(_subnetId, m.Mac, _subnet is null ? LeaseOutcome.UnknownSubnet : LeaseOutcome.Noted, lease?.Address.ToString(), lease?.ExpiresAt, null));
        });
        Command<GetLeases>(_ => Reply(Sender, new LeaseList(
            _subnetId,
            _state.Bindings.OrderBy(kv => kv.Key).Select(kv => new LeaseInfo(kv.Value.Mac, kv.Key.ToString(), kv.Value.ExpiresAt)).ToArray(),
            _eventsPersisted,
            _maxInFlight)));
        Command<SaveSnapshotSuccess>(s => DeleteSnapshots(new SnapshotSelectionCriteria(s.Metadata.SequenceNr - 1)));
        Command<SaveSnapshotFailure>(f => _log.Warning(f.Cause, "subnet {SubnetId}: snapshot failed", _subnetId));
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(f => _log.Warning(f.Cause, "subnet {SubnetId}: deleting old snapshots failed", _subnetId));
    }

    public override string PersistenceId { get; }

    private void Declare(SubnetDeclarationDecision decision)
    {
        var sender = Sender;
        SubnetDeclared Answer() => new(_subnetId, decision.Outcome, decision.DefinedBy, decision.Reason, _state.Bindings.Count, _state.PendingBoots.Count);
        switch (decision.Outcome)
        {
            case SubnetDeclarationOutcome.Unchanged:
                sender.Tell(Answer());
                return;
            case SubnetDeclarationOutcome.Refused:
                _log.Warning("subnet {SubnetId}: declaration refused: {Reason}", _subnetId, decision.Reason);
                sender.Tell(Answer());
                return;
        }

        if (decision.Outcome == SubnetDeclarationOutcome.Redefined)
        {
            _log.Warning("subnet {SubnetId}: redefined: {Reason}", _subnetId, decision.Reason);
        }

        // Taken at once, like a grant: the next request already sees it; the answer waits until it is durable.
        Use(decision.Event!, decision.Definition!);
        _log.Info("subnet {SubnetId}: defined by node {Node}: {Definition}", _subnetId, decision.Event!.Node, decision.Event.Describe());
        _inFlight++;
        PersistAsync(decision.Event!, _ =>
        {
            // Not counted in EventsPersisted (the lease events, what GetLeases reports): a definition is not a lease.
            _inFlight--;
            _sinceSnapshot++;
            sender.Tell(Answer());
            MaybeSnapshot();
        });
    }

    /// <summary>A definition read back from the journal or a snapshot.</summary>
    private void Recovered(LeaseEvents.SubnetDefined defined)
    {
        if (SubnetDeclarations.ToDefinition(defined, out var problem) is { } subnet)
        {
            Use(defined, subnet);
            return;
        }

        // Only a journal written by another version can hold one: the subnet answers nothing rather than guess.
        _log.Error("subnet {SubnetId}: the definition declared by node {Node} does not hold ({Problem}); the subnet answers no requests until it is declared again", _subnetId, defined.Node, problem);
    }

    private void Use(LeaseEvents.SubnetDefined defined, SubnetDefinition subnet)
    {
        _defined = defined;
        _subnet = subnet;
    }

    /// <summary>Hands first boots to their machines (a child, so that this actor never waits for a machine).</summary>
    private IActorRef Recorder => _recorder ??= Context.ActorOf(Props.Create(() => new FirstBootRecorder(_subnetId, _settings.FirstBoots)), "first-boots");

    private IActorRef? _recorder;

    protected override void OnReplaySuccess()
    {
        // First boots granted before a restart whose machines may not have recorded them: handed over again (a machine
        // that did changes nothing). The warm-up subnet's boots belong to no machine.
        if (_settings.Scratch)
        {
            return;
        }

        foreach (var pending in _state.PendingBoots.Values)
        {
            Recorder.Tell(pending);
        }
    }

    private void Flush(FlushFirstBoot message, IActorRef sender)
    {
        if (_state.PendingBoots.TryGetValue(message.Mac, out var pending))
        {
            Recorder.Tell(new FirstBootRecorder.RecordNow(pending), sender);
        }
        else
        {
            sender.Tell(new FirstBootFlushed(_subnetId, message.Mac, Recorded: false, Reason: null));
        }
    }

    private void Handle(string mac, LeaseCommand command, long ticket, RequestFirstBoot? firstBoot = null)
    {
        var sender = Sender;
        if (_subnet is null)
        {
            sender.Tell(new LeaseResult(_subnetId, mac, LeaseOutcome.UnknownSubnet, null, null, $"subnet '{_subnetId}' has not been declared by any edge node", ticket));
            return;
        }

        var decision = LeaseTable.Decide(_state, _offers, _subnet, command, _settings.Policy);
        if (decision.Offer is { } offer)
        {
            _offers.Hold(offer);
        }

        var result = new LeaseResult(_subnetId, mac, decision.Outcome, decision.Address, decision.ExpiresAt, decision.Reason, ticket);
        var events = decision.Events;
        if (firstBoot is not null && decision.Outcome == LeaseOutcome.Acked && decision.Address is { } granted
            && (events.Count > 0 || !_state.PendingBoots.ContainsKey(mac)))
        {
            // The machine has nothing in any journal: its first boot is made durable with the grant. Also when the grant
            // itself needs no event (the MAC renewed this address moments ago, e.g. as a plain DHCP client of the same
            // NIC); a retransmitted REQUEST whose first boot is already pending adds nothing.
            var boot = LeaseEvents.FirstBootGrantedOnPath.Of(firstBoot.At, mac, granted, firstBoot.Architecture, firstBoot.FirmwareIsIpxe, firstBoot.Profile, firstBoot.Path);
            events = events is [LeaseEvents.LeaseGranted lease] && lease.Address == granted
                ? [LeaseEvents.FirstBootLeaseGranted.Of(lease, boot)]
                : [.. events, boot];
        }

        if (events.Count == 0)
        {
            // Only an ACK depends on durability (a retransmitted REQUEST whose grant may still be in flight); offers,
            // NAKs and no-ops are answered at once, never queued behind a journal write.
            if (decision.Outcome == LeaseOutcome.Acked)
            {
                Reply(sender, result);
            }
            else
            {
                sender.Tell(result);
            }

            return;
        }

        foreach (var e in events)
        {
            _state = LeaseTable.Apply(_state, e);
            _offers.Settle(e);
        }

        var remaining = events.Count;
        _inFlight += remaining;
        _maxInFlight = Math.Max(_maxInFlight, _inFlight);
        PersistAllAsync(events, e =>
        {
            _inFlight--;
            _eventsPersisted++;
            _sinceSnapshot++;
            if (--remaining == 0)
            {
                sender.Tell(result);
            }

            var boot = e switch
            {
                LeaseEvents.FirstBootGranted b => b,
                LeaseEvents.FirstBootLeaseGranted b => b.Boot,
                _ => null,
            };
            if (boot is not null && !_settings.Scratch)
            {
                Recorder.Tell(new FirstBootRecorder.Granted(boot));
            }

            MaybeSnapshot();
        });
    }

    /// <summary>Answers at once when nothing is in flight, else after every earlier write is durable.</summary>
    private void Reply(IActorRef sender, object result) => AfterWritesInFlight(() => sender.Tell(result));

    /// <summary>Runs <paramref name="action"/> at once when nothing is in flight, else after every earlier write is durable.</summary>
    private void AfterWritesInFlight(Action action)
    {
        if (_inFlight == 0)
        {
            action();
        }
        else
        {
            DeferAsync(action, a => a());
        }
    }

    private void MaybeSnapshot()
    {
        // Only when nothing is in flight: then the in-memory table is exactly the durable one. A snapshot costs the
        // whole table, so the interval grows with it: at least N events and at least one event per binding. Each event
        // then pays O(1) for snapshots however large the subnet (every 500 events on a 50,000-lease table was most
        // of the actor's time under load), and a recovery still replays at most about a table's worth of events.
        if (_inFlight == 0 && !_settings.Scratch && _sinceSnapshot >= Math.Max(_settings.SnapshotEvery, _state.Bindings.Count))
        {
            _sinceSnapshot = 0;
            SaveSnapshot(_defined is null ? _state.ToSubnetSnapshot() : new DefinedSubnetSnapshot(_state.ToSubnetSnapshot(), _defined));
        }
    }

    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        // The table already holds the rejected grant; only a restart from the journal makes it true again.
        _log.Error(cause, "subnet {SubnetId}: journal rejected {Event}; restarting from the journal", _subnetId, @event.GetType().Name);
        Context.Stop(Self);
    }
}

public sealed record SubnetLeaseSettings(LeasePolicy Policy, int SnapshotEvery)
{
    public static SubnetLeaseSettings Default { get; } = new(LeasePolicy.Default, 500);

    /// <summary>How first boots granted with a lease are handed to their machines.</summary>
    public FirstBootSettings FirstBoots { get; init; } = FirstBootSettings.Default;

    /// <summary>The <see cref="WarmUpSubnet"/>: no first boot handed to a machine, no snapshot, its journal deleted on <see cref="SubnetLeaseProtocol.Forget"/>.</summary>
    public bool Scratch { get; init; }
}
