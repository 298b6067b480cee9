using Provisioner.Protocols.Dhcp;

namespace Provisioner.Domain.Leases;

/// <summary>The last MAC bound to an address and until when. Expired bindings are kept: they remember affinity and use.</summary>
public readonly record struct LeaseBinding(string Mac, DateTimeOffset ExpiresAt);

/// <summary>
/// One subnet's lease table, rebuilt by folding <see cref="ILeaseEvent"/>s with <see cref="LeaseTable.Apply"/>, which
/// changes it in place. Mutable maps and sets, owned by one subnet lease actor: a grant updates five indexes, and as
/// immutable collections (until the sixteenth session) each grant allocated a new path of nodes in every one of them,
/// about 7 % of a node's CPU at 4,000 new PXE machines/s plus its share of the GC. <see cref="LeaseTable.Decide"/>
/// only reads it. Tentative offers are not facts and not here: the subnet's <see cref="OfferBook"/> holds them.
/// </summary>
public sealed class LeaseTableState
{
    // The maps themselves, for LeaseTable to read and write without an interface call per lookup; the public
    // read-only views below are the same objects.
    internal readonly Dictionary<IPv4Address, LeaseBinding> BindingMap = [];
    internal readonly SortedSet<(DateTimeOffset ExpiresAt, IPv4Address Address)> ExpirySet = [];
    internal readonly Dictionary<string, IPv4Address> MacMap = new(StringComparer.Ordinal);
    internal readonly Dictionary<IPv4Address, DateTimeOffset> QuarantineMap = [];
    internal readonly Dictionary<string, LeaseEvents.FirstBootGranted> PendingMap = new(StringComparer.Ordinal);
    private readonly AddressBitmap _bound = new();

    private LeaseTableState(string subnetId) => SubnetId = subnetId;

    public static LeaseTableState Empty(string subnetId) => new(subnetId);

    public string SubnetId { get; }

    /// <summary>Address → last holder. An address absent here was never leased.</summary>
    public IReadOnlyDictionary<IPv4Address, LeaseBinding> Bindings => BindingMap;

    /// <summary><see cref="Bindings"/> ordered by expiry: finds the longest-expired address without scanning the table.</summary>
    public IReadOnlyCollection<(DateTimeOffset ExpiresAt, IPv4Address Address)> Expiries => ExpirySet;

    /// <summary>MAC → the address it holds or last held (its affinity).</summary>
    public IReadOnlyDictionary<string, IPv4Address> ByMac => MacMap;

    /// <summary>Declined addresses and when they may be used again.</summary>
    public IReadOnlyDictionary<IPv4Address, DateTimeOffset> Quarantine => QuarantineMap;

    /// <summary>
    /// First boots granted with a lease (<see cref="LeaseEvents.FirstBootGranted"/>) that their machines have not yet
    /// recorded, by MAC. Bounded by the pool: one per MAC that holds a lease.
    /// </summary>
    public IReadOnlyDictionary<string, LeaseEvents.FirstBootGranted> PendingBoots => PendingMap;

    /// <summary>The smallest address value ≥ <paramref name="from"/> that was never leased; null past 255.255.255.255.</summary>
    public uint? NextNeverBound(uint from) => _bound.NextAbsent(from);

    /// <summary>The machine recorded its first boot granted at <paramref name="at"/> (or a later one): nothing pending for it from then.</summary>
    public LeaseTableState WithBootRecorded(string mac, DateTimeOffset at)
    {
        if (PendingMap.TryGetValue(mac, out var pending) && pending.At <= at)
        {
            PendingMap.Remove(mac);
        }

        return this;
    }

    /// <summary>The unexpired lease of <paramref name="mac"/>, if any.</summary>
    public (IPv4Address Address, DateTimeOffset ExpiresAt)? ActiveLeaseOf(string mac, DateTimeOffset now) =>
        MacMap.TryGetValue(mac, out var address) && BindingMap.TryGetValue(address, out var b) && b.Mac == mac && b.ExpiresAt > now
            ? (address, b.ExpiresAt)
            : null;

    /// <summary>Who holds <paramref name="address"/> unexpired at <paramref name="now"/>, or null.</summary>
    public string? HolderOf(IPv4Address address, DateTimeOffset now) =>
        BindingMap.TryGetValue(address, out var b) && b.ExpiresAt > now ? b.Mac : null;

    /// <summary>Sets one binding, keeping the never-leased bitmap and <see cref="Expiries"/> in step.</summary>
    internal void SetBinding(IPv4Address address, LeaseBinding binding)
    {
        if (BindingMap.TryGetValue(address, out var old))
        {
            if (old == binding)
            {
                return;
            }

            ExpirySet.Remove((old.ExpiresAt, address));
        }

        BindingMap[address] = binding;
        _bound.Add(address.Value);
        ExpirySet.Add((binding.ExpiresAt, address));
    }

    public LeaseTableSnapshot ToSnapshot()
    {
        var bindings = BindingMap.OrderBy(kv => kv.Key).ToArray();
        var quarantine = QuarantineMap.OrderBy(kv => kv.Key).ToArray();
        return new LeaseTableSnapshot(
            SubnetId,
            bindings.Select(kv => kv.Key.ToString()).ToArray(),
            bindings.Select(kv => kv.Value.Mac).ToArray(),
            bindings.Select(kv => kv.Value.ExpiresAt).ToArray(),
            bindings.Select(kv => MacMap.TryGetValue(kv.Value.Mac, out var a) && a == kv.Key).ToArray(),
            quarantine.Select(kv => kv.Key.ToString()).ToArray(),
            quarantine.Select(kv => kv.Value).ToArray());
    }

    /// <summary>The table and the first boots still pending (the snapshot the lease actor writes).</summary>
    public SubnetSnapshot ToSubnetSnapshot() =>
        new(ToSnapshot(), PendingMap.Values.OrderBy(b => b.Mac, StringComparer.Ordinal).ToArray());

    public static LeaseTableState FromSnapshot(SubnetSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var state = FromSnapshot(snapshot.Table);
        foreach (var boot in snapshot.PendingBoots)
        {
            state.PendingMap[boot.Mac] = boot;
        }

        return state;
    }

    public static LeaseTableState FromSnapshot(LeaseTableSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var state = Empty(snapshot.SubnetId);
        for (var i = 0; i < snapshot.Addresses.Length; i++)
        {
            var address = IPv4Address.Parse(snapshot.Addresses[i]);
            state.SetBinding(address, new LeaseBinding(snapshot.Macs[i], snapshot.ExpiresAt[i]));
            if (snapshot.Current[i])
            {
                state.MacMap[snapshot.Macs[i]] = address;
            }
        }

        for (var i = 0; i < snapshot.QuarantinedAddresses.Length; i++)
        {
            state.QuarantineMap[IPv4Address.Parse(snapshot.QuarantinedAddresses[i])] = snapshot.QuarantinedUntil[i];
        }

        return state;
    }
}

/// <summary>
/// A lease table as stored by the snapshot store: parallel arrays of strings and times only, so it stays stable under
/// Hyperion (STACK.md P7). FROZEN like the events. <see cref="Current"/>[i] says binding i is its MAC's current address.
/// </summary>
public sealed record LeaseTableSnapshot(
    string SubnetId,
    string[] Addresses,
    string[] Macs,
    DateTimeOffset[] ExpiresAt,
    bool[] Current,
    string[] QuarantinedAddresses,
    DateTimeOffset[] QuarantinedUntil);

/// <summary>
/// A subnet's snapshot since first boots ride on the lease: the table as before and the first boots its machines have
/// not yet recorded. FROZEN like the events (STACK.md P7); snapshots written before it are plain
/// <see cref="LeaseTableSnapshot"/>s and still read.
/// </summary>
public sealed record SubnetSnapshot(LeaseTableSnapshot Table, LeaseEvents.FirstBootGranted[] PendingBoots);

/// <summary>
/// A subnet's snapshot once edges declare subnets: the table and pending boots as in <see cref="SubnetSnapshot"/>, and
/// the durable definition (recovery starts from the snapshot, so the definition must be in it). FROZEN like the events.
/// </summary>
public sealed record DefinedSubnetSnapshot(SubnetSnapshot Subnet, LeaseEvents.SubnetDefined Definition);
