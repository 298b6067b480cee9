using Microsoft.Extensions.Logging;

namespace Provisioner.Edge.Outage;

/// <summary>
/// Whether this node can reach a core node now (one that hosts the machine and subnet shards). While it cannot, the
/// edge does not wait for asks that cannot be answered: it renews leases it has seen granted from memory and queues
/// its reports to machines (README.md, "When an edge cannot reach the cores").
/// </summary>
public interface ICoreReachability
{
    bool CoresReachable { get; }
}

/// <summary>
/// The current judgement, set by whoever watches the cluster (<see cref="ClusterCoreReachability"/>), read by the
/// request paths without a lock. Logs each change once: a Warning when the cores become unreachable, an Information
/// when they are back, with how long they were not; never per request.
/// </summary>
public sealed partial class CoreReachabilitySignal : ICoreReachability
{
    /// <summary>Cores always reachable: a node that is itself a core, or a test that does not care.</summary>
    public static ICoreReachability Always { get; } = new Constant(true);

    private readonly TimeProvider _clock;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private volatile bool _reachable;
    private bool _everReachable;
    private long _changedAt;

    /// <param name="initiallyReachable">What to answer before the first judgement.</param>
    public CoreReachabilitySignal(TimeProvider clock, ILogger logger, bool initiallyReachable)
    {
        ArgumentNullException.ThrowIfNull(clock);
        ArgumentNullException.ThrowIfNull(logger);
        _clock = clock;
        _logger = logger;
        _reachable = initiallyReachable;
        _everReachable = initiallyReachable;
        _changedAt = clock.GetTimestamp();
    }

    public bool CoresReachable => _reachable;

    /// <summary>Records a judgement; <paramref name="detail"/> says what it rests on (for the log line of a change).</summary>
    public void Set(bool reachable, string detail)
    {
        lock (_gate)
        {
            if (reachable == _reachable)
            {
                return;
            }

            var now = _clock.GetTimestamp();
            var lasted = _clock.GetElapsedTime(_changedAt, now);
            _changedAt = now;
            _reachable = reachable;
            if (!reachable)
            {
                LogUnreachable(detail);
            }
            else if (_everReachable)
            {
                LogReachableAgain(lasted.TotalSeconds, detail);
            }
            else
            {
                _everReachable = true;
                LogFirstReachable(lasted.TotalSeconds, detail);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "No core node reachable from this edge ({Detail}): leases it has seen granted are renewed from memory until they expire, other DHCP requests get no answer, reports to machines are queued")]
    private partial void LogUnreachable(string detail);

    [LoggerMessage(Level = LogLevel.Information, Message = "Core nodes reachable again after {Seconds:0.0} s ({Detail}): queued reports are being delivered")]
    private partial void LogReachableAgain(double seconds, string detail);

    [LoggerMessage(Level = LogLevel.Information, Message = "Core nodes reachable ({Detail}), {Seconds:0.0} s after this node started watching")]
    private partial void LogFirstReachable(double seconds, string detail);

    private sealed class Constant(bool reachable) : ICoreReachability
    {
        public bool CoresReachable => reachable;
    }
}
