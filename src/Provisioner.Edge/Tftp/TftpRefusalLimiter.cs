using System.Net;

namespace Provisioner.Edge.Tftp;

/// <summary>Why <see cref="TftpRefusalLimiter.TryAcquire"/> said no.</summary>
public enum TftpRefusalLimit
{
    /// <summary>An ERROR may be sent.</summary>
    None,

    /// <summary>The address has spent its budget; it refills at the configured rate.</summary>
    RateLimited,

    /// <summary>The table of addresses is full of addresses refused recently; a new one gets nothing.</summary>
    TableFull,
}

/// <summary>
/// A token bucket per client address for ERROR replies from the listening port, so that a flood of bad
/// requests (possibly with a forged source) is never answered packet for packet. Each address may draw
/// <c>burst</c> replies at once, refilled at <c>rate</c> per second. At most <c>maxClients</c> addresses are
/// remembered: a full table first forgets the addresses whose buckets have refilled (they are as good as new),
/// at most once per refill time so a flood of fresh addresses does not make every call a sweep, and then
/// refuses newcomers. Thread-safe; the clock is a <see cref="TimeProvider"/>.
/// </summary>
public sealed class TftpRefusalLimiter
{
    private readonly double _rate;
    private readonly double _burst;
    private readonly int _maxClients;
    private readonly TimeProvider _time;
    private readonly TimeSpan _refill;
    private readonly Lock _gate = new();
    private readonly Dictionary<IPAddress, Bucket> _buckets = [];
    private long _lastSweep;
    private bool _swept;

    /// <summary>Creates a limiter: <paramref name="burst"/> replies at once per address, then <paramref name="ratePerSecond"/>.</summary>
    public TftpRefusalLimiter(double ratePerSecond, int burst, int maxClients, TimeProvider time)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ratePerSecond, 0);
        ArgumentOutOfRangeException.ThrowIfLessThan(burst, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxClients, 1);
        ArgumentNullException.ThrowIfNull(time);
        _rate = ratePerSecond;
        _burst = burst;
        _maxClients = maxClients;
        _time = time;
        _refill = TimeSpan.FromSeconds(burst / ratePerSecond);
    }

    /// <summary>Addresses remembered now (never more than the bound).</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _buckets.Count;
            }
        }
    }

    /// <summary>Takes one reply from <paramref name="address"/>'s budget; <see cref="TftpRefusalLimit.None"/> when it may be sent.</summary>
    public TftpRefusalLimit TryAcquire(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        var now = _time.GetTimestamp();
        lock (_gate)
        {
            if (!_buckets.TryGetValue(address, out var bucket))
            {
                if (_buckets.Count >= _maxClients && !Sweep(now))
                {
                    return TftpRefusalLimit.TableFull;
                }

                bucket = new Bucket { Tokens = _burst, Updated = now };
                _buckets.Add(address, bucket);
            }

            bucket.Tokens = Math.Min(_burst, bucket.Tokens + (_time.GetElapsedTime(bucket.Updated, now).TotalSeconds * _rate));
            bucket.Updated = now;
            if (bucket.Tokens < 1)
            {
                return TftpRefusalLimit.RateLimited;
            }

            bucket.Tokens -= 1;
            return TftpRefusalLimit.None;
        }
    }

    // Forgets every address whose bucket is full again; true when room was made.
    private bool Sweep(long now)
    {
        if (_swept && _time.GetElapsedTime(_lastSweep, now) < _refill)
        {
            return false;
        }

        _swept = true;
        _lastSweep = now;
        var budget = _burst - 1e-9;
        foreach (var (address, bucket) in _buckets)
        {
            if (bucket.Tokens + (_time.GetElapsedTime(bucket.Updated, now).TotalSeconds * _rate) >= budget)
            {
                _buckets.Remove(address);
            }
        }

        return _buckets.Count < _maxClients;
    }

    private sealed class Bucket
    {
        public double Tokens;
        public long Updated;
    }
}
