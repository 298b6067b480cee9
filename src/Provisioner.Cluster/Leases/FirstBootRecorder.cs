using Akka.Actor;
using Akka.Event;
using Akka.Hosting;
using Provisioner.Cluster.Hosting;
using Provisioner.Cluster.Machines;
using Provisioner.Domain.Leases;
using Provisioner.Domain.Machines;

namespace Provisioner.Cluster.Leases;

/// <param name="Concurrency">First boots handed to machines at once while the subnet is quiet (the rest wait their turn; a flush jumps the queue).</param>
/// <param name="Timeout">How long a machine gets to record one; then it is handed over again after <paramref name="RetryAfter"/>.</param>
/// <param name="RetryAfter">The pause before a boot that was not recorded is handed over again.</param>
public sealed record FirstBootSettings(int Concurrency, TimeSpan Timeout, TimeSpan RetryAfter)
{
    public static FirstBootSettings Default { get; } = new(16, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(2));

    /// <summary>
    /// First boots handed over at once while the subnet is still granting them (a rollout's burst): DHCP comes first on
    /// a busy node, so the machines mostly catch up after the burst. At least one, so a long rollout's pending set still
    /// drains; 0 = the same as <see cref="Concurrency"/>.
    /// </summary>
    public int ConcurrencyWhileGranting { get; init; } = 1;

    /// <summary>How long after its last grant the subnet counts as quiet again.</summary>
    public TimeSpan QuietAfter { get; init; } = TimeSpan.FromMilliseconds(250);
}

/// <summary>
/// A subnet lease actor's child that hands the first boots granted with a lease
/// (<see cref="LeaseEvents.FirstBootGranted"/>) to their machine actors to record, a few at a time, so that a rollout's
/// burst of new machines is answered at the subnet's rate while the machines catch up behind it. A machine asked about
/// before its turn (a TFTP or HTTP report, <see cref="SubnetLeaseProtocol.FlushFirstBoot"/>) is handed over at once.
/// Every recorded boot is reported to the parent (<see cref="Recorded"/>), which stops keeping it pending. Nothing here
/// is durable: the parent's journal is, and after a restart the parent hands every pending boot over again.
/// </summary>
public sealed class FirstBootRecorder : ReceiveActor, IWithTimers
{
    private readonly string _subnetId;
    private readonly FirstBootSettings _settings;
    private readonly ILoggingAdapter _log = Context.GetLogger();

    /// <summary>Boots waiting for their turn, by MAC, and the order they came in (a MAC no longer waiting is skipped).</summary>
    private readonly Dictionary<string, LeaseEvents.FirstBootGranted> _waiting = new(StringComparer.Ordinal);
    private readonly Queue<string> _order = new();

    /// <summary>Boots handed to their machines, by MAC, with whoever asked to be told when it is recorded.</summary>
    private readonly Dictionary<string, List<IActorRef>> _inFlight = new(StringComparer.Ordinal);

    private long _failures;
    private DateTime _lastFailureLog = DateTime.MinValue;

    /// <summary><see cref="Environment.TickCount64"/> of the last fresh grant (<see cref="Granted"/>).</summary>
    private long _lastGrant = long.MinValue / 2;

    public FirstBootRecorder(string subnetId, FirstBootSettings settings)
    {
        _subnetId = subnetId;
        _settings = settings;

        Receive<Granted>(m =>
        {
            _lastGrant = Environment.TickCount64;
            Enqueue(m.Boot);
        });
        Receive<LeaseEvents.FirstBootGranted>(Enqueue);
        Receive<Quiet>(_ => Pump());
        Receive<RecordNow>(m =>
        {
            if (_inFlight.TryGetValue(m.Boot.Mac, out var waiters))
            {
                waiters.Add(Sender);
                return;
            }

            _waiting.Remove(m.Boot.Mac);
            Dispatch(m.Boot, Sender);
        });
        Receive<Done>(OnDone);
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>From the parent: a first boot it has just granted and made durable (the subnet is busy granting).</summary>
    public sealed record Granted(LeaseEvents.FirstBootGranted Boot);

    /// <summary>From the parent: record this pending boot now, and tell the sender (<see cref="SubnetLeaseProtocol.FirstBootFlushed"/>).</summary>
    public sealed record RecordNow(LeaseEvents.FirstBootGranted Boot);

    /// <summary>To the parent: the machine recorded its first boot granted at <paramref name="At"/>.</summary>
    public sealed record Recorded(string Mac, DateTimeOffset At);

    private sealed record Done(LeaseEvents.FirstBootGranted Boot, MachineProtocol.CommandResult? Result, Exception? Error);

    private sealed class Quiet
    {
        public static Quiet Instance { get; } = new();
    }

    /// <summary>A boot to hand over in its turn: a fresh grant, one pending since before a restart, or a retry.</summary>
    private void Enqueue(LeaseEvents.FirstBootGranted boot)
    {
        if (_waiting.TryGetValue(boot.Mac, out var waiting))
        {
            if (waiting.At > boot.At)
            {
                // A retry of an older boot while a newer one waits: the newer one is what the parent keeps pending.
                return;
            }
        }
        else
        {
            _order.Enqueue(boot.Mac);
        }

        _waiting[boot.Mac] = boot;
        Pump();
    }

    private void Pump()
    {
        var limit = _settings.Concurrency;
        if (Environment.TickCount64 - _lastGrant < (long)_settings.QuietAfter.TotalMilliseconds && _settings.ConcurrencyWhileGranting > 0)
        {
            limit = Math.Min(limit, _settings.ConcurrencyWhileGranting);
            if (_order.Count > 0 && !Timers.IsTimerActive(nameof(Quiet)))
            {
                // Look again once the subnet may have gone quiet (each look re-arms while grants keep coming).
                Timers.StartSingleTimer(nameof(Quiet), Quiet.Instance, _settings.QuietAfter);
            }
        }

        while (_inFlight.Count < limit && _order.TryDequeue(out var mac))
        {
            if (_inFlight.ContainsKey(mac))
            {
                // A newer boot for a machine whose earlier one is being recorded: it waits (OnDone queues it again).
                continue;
            }

            if (_waiting.Remove(mac, out var boot))
            {
                Dispatch(boot, null);
            }
        }
    }

    private void Dispatch(LeaseEvents.FirstBootGranted boot, IActorRef? waiter)
    {
        _inFlight[boot.Mac] = waiter is null ? [] : [waiter];
        if (!ActorRegistry.For(Context.System).TryGet<MachineRegion>(out var region))
        {
            Self.Tell(new Done(boot, null, new InvalidOperationException("no machine region on this node")));
            return;
        }

        var request = new MachineCommands.RequestBoot(boot.At, boot.Architecture, boot.FirmwareIsIpxe, boot.Profile, boot.Address, _subnetId, (boot as LeaseEvents.FirstBootGrantedOnPath)?.Path);
        region.Ask<MachineProtocol.CommandResult>(new MachineProtocol.RecordFirstBoot(boot.Mac, request), _settings.Timeout)
            .PipeTo(Self, success: r => new Done(boot, r, null), failure: e => new Done(boot, null, e));
    }

    private void OnDone(Done done)
    {
        var mac = done.Boot.Mac;
        var waiters = _inFlight.Remove(mac, out var w) ? w : [];
        if (_waiting.ContainsKey(mac))
        {
            _order.Enqueue(mac);
        }

        if (done.Result is { } result)
        {
            if (result.Outcome == DecisionOutcome.Rejected)
            {
                // The machine decided (nothing more to hand over), but not as its subnet expected: worth a line.
                _log.Warning("machine {MachineId}: first boot granted by subnet {SubnetId} at {At} not recorded: {Reason}", mac, _subnetId, done.Boot.At, result.Reason);
            }

            Context.Parent.Tell(new Recorded(mac, done.Boot.At));
            foreach (var waiter in waiters)
            {
                waiter.Tell(new SubnetLeaseProtocol.FirstBootFlushed(_subnetId, mac, Recorded: true, Reason: null));
            }
        }
        else
        {
            var reason = done.Error?.Message ?? "no answer";
            foreach (var waiter in waiters)
            {
                waiter.Tell(new SubnetLeaseProtocol.FirstBootFlushed(_subnetId, mac, Recorded: false, Reason: reason));
            }

            // Handed over again later (it stays pending in the parent's state whatever happens here).
            _failures++;
            if (DateTime.UtcNow - _lastFailureLog > TimeSpan.FromSeconds(10))
            {
                _log.Warning("subnet {SubnetId}: machine {MachineId} did not record its first boot ({Reason}); retrying in {RetryAfter} ({Failures} such failures so far)", _subnetId, mac, reason, _settings.RetryAfter, _failures);
                _lastFailureLog = DateTime.UtcNow;
            }

            Timers.StartSingleTimer("retry-" + mac, done.Boot, _settings.RetryAfter);
        }

        Pump();
    }
}
