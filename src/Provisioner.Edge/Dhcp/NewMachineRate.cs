namespace Provisioner.Edge.Dhcp;

/// <summary>
/// A token bucket for the machines a proxyDHCP edge records for the first time: in proxy mode no pool bounds how many
/// machines a segment can bring (the site's server leases), and each new PXE MAC's DISCOVER writes its Discovered, so a
/// host inventing MACs would grow the journal as fast as it sends. At most <paramref name="perSecond"/> new machines a
/// second are recorded, after a burst of <paramref name="burst"/>; the rest are dropped before any work (the firmware
/// retransmits at 4, 8, 16, 32 s) and counted. Thread-safe.
/// </summary>
public sealed class NewMachineRate(double perSecond, int burst, TimeProvider clock)
{
    private readonly Lock _gate = new();
    private double _tokens = burst;
    private long _last = clock.GetTimestamp();
    private long _refused;

    /// <summary>New machines refused since start.</summary>
    public long Refused => Interlocked.Read(ref _refused);

    /// <summary>Takes one token; false (and counted) when the bucket is empty.</summary>
    public bool TryTake()
    {
        lock (_gate)
        {
            var now = clock.GetTimestamp();
            _tokens = Math.Min(burst, _tokens + (clock.GetElapsedTime(_last, now).TotalSeconds * perSecond));
            _last = now;
            if (_tokens >= 1)
            {
                _tokens -= 1;
                return true;
            }
        }

        Interlocked.Increment(ref _refused);
        return false;
    }
}
