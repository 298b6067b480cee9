using Akka.Actor;
using Akka.Cluster;
using Microsoft.Extensions.Logging;
using Provisioner.Cluster;

namespace Provisioner.Edge.Outage;

/// <summary>
/// <see cref="ICoreReachability"/> from this node's view of the cluster: true while at least one member with role
/// <see cref="Roles.Core"/> is up (or leaving: it serves its shards until it exits) and not unreachable from here. A
/// node that is itself a core is always true (its own shards answer; a core cut off from its peers is the split-brain
/// resolver's business).
/// <para>
/// Starts false: until this node has joined and seen a core up, nothing it asks through a shard proxy can be answered,
/// and believing otherwise would make every DHCP request and report wait the whole ask timeout. A renewal finds no
/// remembered lease then either (the memory starts empty), so the only cost of the pessimistic start is that requests
/// in the first moment after start-up get no answer instead of a late one; the DHCP server does not read its socket
/// before its subnets are declared, which needs a core anyway.
/// </para>
/// </summary>
public sealed class ClusterCoreReachability : ICoreReachability, IDisposable
{
    private readonly CoreReachabilitySignal? _signal;
    private readonly IActorRef? _watcher;
    private readonly IDisposable _metrics;

    public ClusterCoreReachability(ActorSystem system, TimeProvider clock, ILogger<ClusterCoreReachability> logger)
    {
        ArgumentNullException.ThrowIfNull(system);
        _metrics = OutageMetrics.Register(this);
        if (Akka.Cluster.Cluster.Get(system).SelfRoles.Contains(Roles.Core))
        {
            return;
        }

        _signal = new CoreReachabilitySignal(clock, logger, initiallyReachable: false);
        _watcher = system.ActorOf(Props.Create(() => new Watcher(_signal)));
    }

    public bool CoresReachable => _signal?.CoresReachable ?? true;

    public void Dispose()
    {
        _metrics.Dispose();
        _watcher?.Tell(PoisonPill.Instance);
    }

    /// <summary>Turns the cluster's member and reachability events into <see cref="CoreMembership"/> and the signal.</summary>
    private sealed class Watcher : ReceiveActor
    {
        private readonly CoreMembership _cores = new();
        private readonly CoreReachabilitySignal _signal;
        private readonly Akka.Cluster.Cluster _cluster = Akka.Cluster.Cluster.Get(Context.System);

        public Watcher(CoreReachabilitySignal signal)
        {
            _signal = signal;
            Receive<ClusterEvent.MemberUp>(e => Core(e.Member, _cores.Up));
            Receive<ClusterEvent.MemberLeft>(e => Core(e.Member, _cores.Up));
            Receive<ClusterEvent.MemberExited>(e => Gone(e.Member));
            Receive<ClusterEvent.MemberDowned>(e => Gone(e.Member));
            Receive<ClusterEvent.MemberRemoved>(e => Gone(e.Member));
            Receive<ClusterEvent.UnreachableMember>(e => Core(e.Member, _cores.Unreachable));
            Receive<ClusterEvent.ReachableMember>(e => Core(e.Member, _cores.Reachable));
            Receive<ClusterEvent.IMemberEvent>(_ => { });
        }

        protected override void PreStart() =>
            _cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents, typeof(ClusterEvent.IMemberEvent), typeof(ClusterEvent.IReachabilityEvent));

        protected override void PostStop() => _cluster.Unsubscribe(Self);

        private void Core(Member member, Action<UniqueAddress> change)
        {
            if (member.HasRole(Roles.Core))
            {
                change(member.UniqueAddress);
                Publish();
            }
        }

        private void Gone(Member member)
        {
            if (member.UniqueAddress.Equals(_cluster.SelfUniqueAddress))
            {
                // This node is out of the cluster: nothing it asks is answered any more.
                _cores.Clear();
            }
            else
            {
                _cores.Gone(member.UniqueAddress);
            }

            Publish();
        }

        private void Publish() => _signal.Set(_cores.AnyReachable, _cores.ToString());
    }
}

/// <summary>The core members this node knows are up, and which of them it cannot reach; no Akka, so tests drive it directly.</summary>
internal sealed class CoreMembership
{
    private readonly HashSet<UniqueAddress> _up = [];
    private readonly HashSet<UniqueAddress> _unreachable = [];

    public bool AnyReachable => _up.Any(node => !_unreachable.Contains(node));

    public void Up(UniqueAddress node) => _up.Add(node);

    public void Gone(UniqueAddress node)
    {
        _up.Remove(node);
        _unreachable.Remove(node);
    }

    public void Unreachable(UniqueAddress node) => _unreachable.Add(node);

    public void Reachable(UniqueAddress node) => _unreachable.Remove(node);

    public void Clear()
    {
        _up.Clear();
        _unreachable.Clear();
    }

    /// <summary>E.g. "2 core nodes up, 2 unreachable".</summary>
    public override string ToString() => $"{_up.Count} core nodes up, {_up.Count(_unreachable.Contains)} unreachable";
}
