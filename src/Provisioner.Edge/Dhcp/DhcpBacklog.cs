namespace Provisioner.Edge.Dhcp;

/// <summary>
/// Requests waiting for a handler, shed early when the node is past its capacity. Two lanes:
/// <list type="bullet">
/// <item>follow-ups (REQUEST, DECLINE, RELEASE, INFORM) first and in order: a REQUEST completes an exchange the node
/// already invested an OFFER in, so it goes before any new DISCOVER;</item>
/// <item>DISCOVERs newest first: under overload the oldest are the ones whose firmware has given up or retransmitted
/// already, so serving the newest keeps the OFFERs that are sent on time, and the old ones age out.</item>
/// </list>
/// Each lane is bounded in count (the oldest DISCOVER makes room for a new one; a full follow-up lane refuses the new
/// one) and in age: an item that waited longer than its lane allows is dropped when it comes up, before any work is
/// done on it. Every drop is counted by cause. Thread-safe.
/// </summary>
public sealed class DhcpBacklog<T> : IDisposable
{
    private readonly Lane _discovers;
    private readonly Lane _followUps;
    private readonly TimeProvider _clock;
    private readonly Lock _lock = new();
    private readonly SemaphoreSlim _available = new(0);
    private long _shedFull;
    private long _shedStale;

    public DhcpBacklog(int capacity, TimeSpan maxDiscoverWait, TimeSpan maxFollowUpWait, TimeProvider? clock = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _discovers = new Lane(capacity, maxDiscoverWait);
        _followUps = new Lane(capacity, maxFollowUpWait);
        _clock = clock ?? TimeProvider.System;
    }

    /// <summary>Items dropped because their lane was full (for DISCOVERs: the oldest one, pushed out).</summary>
    public long ShedFull => Interlocked.Read(ref _shedFull);

    /// <summary>Items dropped because they waited longer than their lane allows.</summary>
    public long ShedStale => Interlocked.Read(ref _shedStale);

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _discovers.Count + _followUps.Count;
            }
        }
    }

    /// <summary>Queues an item received at <paramref name="receivedAt"/> (a <see cref="TimeProvider.GetTimestamp"/>); false when it was dropped at once.</summary>
    public bool Enqueue(T item, bool isDiscover, long receivedAt)
    {
        lock (_lock)
        {
            var lane = isDiscover ? _discovers : _followUps;
            if (lane.Count == lane.Capacity)
            {
                Interlocked.Increment(ref _shedFull);
                if (!isDiscover)
                {
                    return false;
                }

                lane.PopOldest();
            }

            lane.Push(item, receivedAt);
        }

        _available.Release();
        return true;
    }

    /// <summary>Waits for the next item worth handling; stale ones met on the way are dropped and counted.</summary>
    public async ValueTask<T> DequeueAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            await _available.WaitAsync(cancellationToken).ConfigureAwait(false);
            lock (_lock)
            {
                var now = _clock.GetTimestamp();
                if (_followUps.Count > 0)
                {
                    var (item, at) = _followUps.PopOldest();
                    if (_clock.GetElapsedTime(at, now) <= _followUps.MaxWait)
                    {
                        return item;
                    }
                }
                else if (_discovers.Count > 0)
                {
                    var (item, at) = _discovers.PopNewest();
                    if (_clock.GetElapsedTime(at, now) <= _discovers.MaxWait)
                    {
                        return item;
                    }
                }
                else
                {
                    // A DISCOVER pushed out by a newer one left its permit behind.
                    continue;
                }

                Interlocked.Increment(ref _shedStale);
            }
        }
    }

    public void Dispose() => _available.Dispose();

    /// <summary>A bounded double-ended ring of (item, received-at).</summary>
    private sealed class Lane(int capacity, TimeSpan maxWait)
    {
        private readonly (T Item, long At)[] _ring = new (T, long)[capacity];
        private int _head;

        public int Capacity => _ring.Length;

        public TimeSpan MaxWait { get; } = maxWait;

        public int Count { get; private set; }

        public void Push(T item, long at)
        {
            _ring[(_head + Count) % _ring.Length] = (item, at);
            Count++;
        }

        public (T Item, long At) PopOldest()
        {
            var entry = _ring[_head];
            _ring[_head] = default;
            _head = (_head + 1) % _ring.Length;
            Count--;
            return entry;
        }

        public (T Item, long At) PopNewest()
        {
            var index = (_head + Count - 1) % _ring.Length;
            var entry = _ring[index];
            _ring[index] = default;
            Count--;
            return entry;
        }
    }
}
