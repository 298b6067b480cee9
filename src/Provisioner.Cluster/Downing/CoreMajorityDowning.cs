using System.Net.Sockets;
using Akka.Actor;
using Akka.Configuration;
using Akka.Event;
using static Akka.Cluster.ClusterEvent;

namespace Provisioner.Cluster.Downing;

/// <summary>Settings of <see cref="CoreMajorityDowning"/>, from <c>akka.cluster.core-majority</c>.</summary>
public sealed record CoreMajoritySettings(TimeSpan StableAfter, TimeSpan EdgeGrace, TimeSpan DownRemovalMargin)
{
    public const string Path = "akka.cluster.core-majority";

    public static CoreMajoritySettings From(Config config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var section = config.GetConfig(Path);
        TimeSpan Positive(string key, TimeSpan fallback)
        {
            var value = section?.GetTimeSpan(key, fallback) ?? fallback;
            return value > TimeSpan.Zero ? value : throw new ConfigurationException($"{Path}.{key}: must be a positive duration, got {value}");
        }

        var settings = new CoreMajoritySettings(Positive("stable-after", TimeSpan.FromSeconds(4)), Positive("edge-grace", TimeSpan.FromSeconds(60)), Positive("down-removal-margin", TimeSpan.FromSeconds(2)));
        return settings.EdgeGrace > settings.StableAfter
            ? settings
            : throw new ConfigurationException($"{Path}.edge-grace ({settings.EdgeGrace}) must be longer than stable-after ({settings.StableAfter})");
    }
}

/// <summary>
/// The downing provider of a Provisioner cluster (<c>akka.cluster.downing-provider-class</c>): <see cref="CoreMajority"/>
/// applied once a second by an actor on every node (only the lowest-addressed reachable core of a side acts).
/// <see cref="DownRemovalMargin"/> is how long shards of a downed core wait before they start elsewhere: the losing
/// side of a partition downs its own cores after the same <c>stable-after</c>, so the margin covers the skew between the
/// two sides' detection, not a whole second period (a <c>kill -9</c> pays it in full).
/// </summary>
public sealed class CoreMajorityDowningProvider(ActorSystem system, Akka.Cluster.Cluster cluster) : Akka.Cluster.IDowningProvider
{
    private readonly CoreMajoritySettings _settings = CoreMajoritySettings.From(system.Settings.Config);

    public TimeSpan DownRemovalMargin => _settings.DownRemovalMargin;

    public Props DowningActorProps => Props.Create(() => new CoreMajorityDowning(cluster, _settings, TimeProvider.System));
}

/// <summary>Feeds <see cref="CoreMajority.Decide"/> from the cluster's events and downs what it decides.</summary>
public sealed class CoreMajorityDowning : ReceiveActor, IWithTimers
{
    private readonly Akka.Cluster.Cluster _cluster;
    private readonly CoreMajoritySettings _settings;
    private readonly TimeProvider _clock;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<Address, Akka.Cluster.Member> _members = [];
    private readonly Dictionary<Address, DateTimeOffset> _unreachableSince = [];
    private readonly HashSet<Address> _refusing = [];
    private readonly HashSet<Address> _probing = [];
    private DateTimeOffset _coresStableSince;
    private string _lastDecision = string.Empty;

    public CoreMajorityDowning(Akka.Cluster.Cluster cluster, CoreMajoritySettings settings, TimeProvider clock)
    {
        _cluster = cluster;
        _settings = settings;
        _clock = clock;
        _coresStableSince = clock.GetUtcNow();

        Receive<MemberRemoved>(e => Forget(e.Member));
        Receive<IMemberEvent>(e => Remember(e.Member));
        Receive<UnreachableMember>(e => Unreachable(e.Member));
        Receive<ReachableMember>(e => Reachable(e.Member));
        Receive<Tick>(_ =>
        {
            ProbeUnreachableEdges();
            Decide();
        });
        Receive<Probed>(p =>
        {
            _probing.Remove(p.Address);
            if (p.Refused && _unreachableSince.ContainsKey(p.Address) && _refusing.Add(p.Address))
            {
                _log.Warning("Edge {0} is unreachable and its host refuses connections on its cluster port: its process is gone", p.Address);
            }
        });
        ReceiveAny(_ => { });
    }

    public ITimerScheduler Timers { get; set; } = null!;

    protected override void PreStart()
    {
        _cluster.Subscribe(Self, SubscriptionInitialStateMode.InitialStateAsEvents, typeof(IMemberEvent), typeof(IReachabilityEvent));
        Timers.StartPeriodicTimer("tick", Tick.Instance, TimeSpan.FromSeconds(1));
    }

    protected override void PostStop() => _cluster.Unsubscribe(Self);

    private void Remember(Akka.Cluster.Member member)
    {
        if (member.Status is Akka.Cluster.MemberStatus.Down or Akka.Cluster.MemberStatus.Exiting or Akka.Cluster.MemberStatus.Removed)
        {
            Forget(member);
            return;
        }

        _members[member.Address] = member;
    }

    private void Forget(Akka.Cluster.Member member)
    {
        _members.Remove(member.Address);
        _refusing.Remove(member.Address);
        if (_unreachableSince.Remove(member.Address) && IsCore(member))
        {
            _coresStableSince = _clock.GetUtcNow();
        }
    }

    private void Unreachable(Akka.Cluster.Member member)
    {
        Remember(member);
        if (_members.ContainsKey(member.Address) && _unreachableSince.TryAdd(member.Address, _clock.GetUtcNow()) && IsCore(member))
        {
            _coresStableSince = _clock.GetUtcNow();
        }
    }

    private void Reachable(Akka.Cluster.Member member)
    {
        _refusing.Remove(member.Address);
        if (_unreachableSince.Remove(member.Address) && IsCore(member))
        {
            _coresStableSince = _clock.GetUtcNow();
        }
    }

    private static bool IsCore(Akka.Cluster.Member member) => member.HasRole(Roles.Core);

    private void Decide()
    {
        var self = _cluster.SelfAddress;
        if (!_members.TryGetValue(self, out var me) || !IsCore(me) || me.Status != Akka.Cluster.MemberStatus.Up)
        {
            return;
        }

        var members = _members.Values.Select(m => new DowningMember(m.Address, IsCore(m), UnreachableSince(m), _refusing.Contains(m.Address))).ToList();
        var decision = CoreMajority.Decide(self, members, _clock.GetUtcNow(), _coresStableSince, _settings.StableAfter, _settings.EdgeGrace);
        if (decision.IsEmpty)
        {
            return;
        }

        var summary = string.Join(", ", decision.Down);
        if (summary != _lastDecision)
        {
            _log.Warning("Downing {0}: {1}", summary, decision.Reason);
            _lastDecision = summary;
        }

        foreach (var address in decision.Down)
        {
            _cluster.Down(address);
        }
    }

    /// <summary>
    /// The gossip's unreachable set counts anyone's observation, an edge's too. A core this node watches itself and
    /// hears from is not counted as unreachable: an edge that lost its link to one core must not get that core downed.
    /// </summary>
    private DateTimeOffset? UnreachableSince(Akka.Cluster.Member member)
    {
        if (!_unreachableSince.TryGetValue(member.Address, out var since))
        {
            return null;
        }

        var detector = _cluster.FailureDetector;
        return IsCore(member) && detector.IsMonitoring(member.Address) && detector.IsAvailable(member.Address) ? null : since;
    }

    /// <summary>
    /// Knocks on the cluster port of every unreachable edge, one knock at a time each: a refused connection means its host
    /// is up and nothing listens there (the process crashed or was killed), which no outage of a site link produces
    /// (packets to a cut-off host vanish). Only the deciding core knocks.
    /// </summary>
    private void ProbeUnreachableEdges()
    {
        if (!_members.TryGetValue(_cluster.SelfAddress, out var me) || !IsCore(me))
        {
            return;
        }

        foreach (var address in _unreachableSince.Keys)
        {
            if (_members.TryGetValue(address, out var member) && !IsCore(member) && !_refusing.Contains(address) && address.Host is { } host && address.Port is { } port && _probing.Add(address))
            {
                RefusesAsync(host, port).PipeTo(Self, success: refused => new Probed(address, refused), failure: _ => new Probed(address, false));
            }
        }
    }

    private static async Task<bool> RefusesAsync(string host, int port)
    {
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            await socket.ConnectAsync(host, port, timeout.Token).ConfigureAwait(false);
            return false;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
        {
            return true;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            return false;
        }
    }

    private sealed record Probed(Address Address, bool Refused);

    private sealed class Tick
    {
        public static readonly Tick Instance = new();
    }
}
