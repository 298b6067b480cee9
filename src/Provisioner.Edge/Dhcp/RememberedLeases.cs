using Provisioner.Domain.Machines;
using Provisioner.Protocols.Dhcp;

namespace Provisioner.Edge.Dhcp;

/// <summary>A grant this edge passed on to a client: <see cref="Mac"/> holds <see cref="Address"/> in <see cref="Subnet"/> until <see cref="ExpiresAt"/>.</summary>
public sealed record RememberedGrant(string Subnet, MachineId Mac, IPv4Address Address, DateTimeOffset ExpiresAt);

/// <summary>
/// The grants this edge has seen acknowledged, one per subnet and MAC (the latest), so that while no core can be asked
/// a client can still renew what the subnet's lease actor holds for it. Bounded: past <c>capacity</c> the expired
/// grants go first, then the oldest (least recently granted); the live ones dropped that way are counted
/// (<see cref="Evicted"/>). Thread-safe.
/// </summary>
public sealed class RememberedLeases
{
    private readonly int _capacity;
    private readonly Lock _gate = new();
    private readonly Dictionary<(string Subnet, MachineId Mac), LinkedListNode<RememberedGrant>> _byKey = [];

    /// <summary>Oldest grant first: a grant moves to the end when it is renewed.</summary>
    private readonly LinkedList<RememberedGrant> _byAge = new();

    /// <summary>No grant held expires before this (a lower bound: a sweep before it would find nothing).</summary>
    private DateTimeOffset _earliestExpiry = DateTimeOffset.MaxValue;

    private long _evicted;

    public RememberedLeases(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _capacity = capacity;
    }

    public int Capacity => _capacity;

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _byKey.Count;
            }
        }
    }

    /// <summary>Grants dropped before they expired because the memory was full.</summary>
    public long Evicted => Interlocked.Read(ref _evicted);

    /// <summary>Remembers <paramref name="grant"/>, replacing what was held for its subnet and MAC.</summary>
    public void Remember(RememberedGrant grant, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(grant);
        lock (_gate)
        {
            var key = (grant.Subnet, grant.Mac);
            if (_byKey.Remove(key, out var held))
            {
                _byAge.Remove(held);
            }
            else if (_byKey.Count >= _capacity)
            {
                MakeRoom(now);
            }

            _byKey[key] = _byAge.AddLast(grant);
            if (grant.ExpiresAt < _earliestExpiry)
            {
                _earliestExpiry = grant.ExpiresAt;
            }
        }
    }

    /// <summary>The grant held for <paramref name="mac"/> in <paramref name="subnet"/>, if any (expired or not: the caller judges).</summary>
    public RememberedGrant? Find(string subnet, MachineId mac)
    {
        lock (_gate)
        {
            return _byKey.TryGetValue((subnet, mac), out var node) ? node.Value : null;
        }
    }

    /// <summary>Forgets the grant of <paramref name="address"/> to <paramref name="mac"/> (released, declined, refused by the subnet); another address is kept.</summary>
    public void Forget(string subnet, MachineId mac, IPv4Address address)
    {
        lock (_gate)
        {
            if (_byKey.TryGetValue((subnet, mac), out var node) && node.Value.Address == address)
            {
                _byKey.Remove((subnet, mac));
                _byAge.Remove(node);
            }
        }
    }

    /// <summary>Full: drop every expired grant; if none had, the oldest one.</summary>
    private void MakeRoom(DateTimeOffset now)
    {
        if (now >= _earliestExpiry)
        {
            var earliest = DateTimeOffset.MaxValue;
            for (var node = _byAge.First; node is not null;)
            {
                var next = node.Next;
                if (node.Value.ExpiresAt <= now)
                {
                    _byKey.Remove((node.Value.Subnet, node.Value.Mac));
                    _byAge.Remove(node);
                }
                else if (node.Value.ExpiresAt < earliest)
                {
                    earliest = node.Value.ExpiresAt;
                }

                node = next;
            }

            _earliestExpiry = earliest;
        }

        if (_byKey.Count >= _capacity && _byAge.First is { } oldest)
        {
            _byKey.Remove((oldest.Value.Subnet, oldest.Value.Mac));
            _byAge.RemoveFirst();
            Interlocked.Increment(ref _evicted);
        }
    }
}
