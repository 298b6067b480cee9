namespace Provisioner.Edge.Dhcp;

/// <summary>
/// A token bucket per MAC: <c>rate</c> packets per second sustained, bursts of the same size. A flooding client is
/// cut off without starving the others. The table is bounded: once it is large, buckets that have refilled are swept
/// (at most once a second, so a flood of new MACs never makes every packet pay a sweep), and past
/// <see cref="MaxTracked"/> a new MAC is let through untracked (a flood of distinct MACs is the DHCP backlog's to shed,
/// not this table's to remember) and counted.
/// </summary>
public sealed class MacRateLimiter(double ratePerSecond, TimeProvider clock, int maxTracked = MacRateLimiter.DefaultMaxTracked)
{
    public const int DefaultMaxTracked = 100_000;
    private const int SweepAbove = 10_000;

    private readonly Dictionary<ulong, (double Tokens, long Stamp)> _buckets = [];
    private readonly Lock _lock = new();
    private long _lastSweep = long.MinValue;
    private long _dropped;
    private long _untracked;

    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Packets let through without a bucket because the table was full.</summary>
    public long Untracked => Interlocked.Read(ref _untracked);

    public int MaxTracked => maxTracked;

    public int Tracked
    {
        get
        {
            lock (_lock)
            {
                return _buckets.Count;
            }
        }
    }

    /// <summary>True when a packet from <paramref name="mac"/> (up to 8 bytes of chaddr) may be handled now.</summary>
    public bool TryAcquire(ReadOnlySpan<byte> mac)
    {
        ulong key = 0;
        foreach (var b in mac[..Math.Min(mac.Length, 8)])
        {
            key = (key << 8) | b;
        }

        var now = clock.GetTimestamp();
        lock (_lock)
        {
            if (!_buckets.TryGetValue(key, out var bucket))
            {
                if (_buckets.Count >= SweepAbove && (_lastSweep == long.MinValue || clock.GetElapsedTime(_lastSweep, now) >= TimeSpan.FromSeconds(1)))
                {
                    _lastSweep = now;
                    Sweep(now);
                }

                if (_buckets.Count >= maxTracked)
                {
                    Interlocked.Increment(ref _untracked);
                    return true;
                }

                bucket = (ratePerSecond, now);
            }

            var tokens = Math.Min(ratePerSecond, bucket.Tokens + (clock.GetElapsedTime(bucket.Stamp, now).TotalSeconds * ratePerSecond));
            if (tokens < 1)
            {
                _buckets[key] = (tokens, now);
                Interlocked.Increment(ref _dropped);
                return false;
            }

            _buckets[key] = (tokens - 1, now);
            return true;
        }
    }

    private void Sweep(long now)
    {
        foreach (var (key, (tokens, stamp)) in _buckets)
        {
            if (tokens + (clock.GetElapsedTime(stamp, now).TotalSeconds * ratePerSecond) >= ratePerSecond)
            {
                _buckets.Remove(key);
            }
        }
    }
}
