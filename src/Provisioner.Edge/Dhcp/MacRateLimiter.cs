namespace Provisioner.Edge.Dhcp;

/// <summary>
/// A token bucket per MAC: <c>rate</c> packets per second sustained, bursts of the same size. A flooding client is
/// cut off without starving the others. Buckets that have refilled are forgotten once the table grows large.
/// </summary>
public sealed class MacRateLimiter(double ratePerSecond, TimeProvider clock)
{
    private const int ForgetAbove = 10_000;

    private readonly Dictionary<ulong, (double Tokens, long Stamp)> _buckets = [];
    private readonly Lock _lock = new();
    private long _dropped;

    public long Dropped => Interlocked.Read(ref _dropped);

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
            if (_buckets.Count > ForgetAbove)
            {
                Forget(now);
            }

            var (tokens, stamp) = _buckets.TryGetValue(key, out var bucket) ? bucket : (ratePerSecond, now);
            tokens = Math.Min(ratePerSecond, tokens + (clock.GetElapsedTime(stamp, now).TotalSeconds * ratePerSecond));
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

    private void Forget(long now)
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
