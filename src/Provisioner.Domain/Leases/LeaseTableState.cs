using System.Collections.Immutable;
using Provisioner.Protocols.Dhcp;

namespace Provisioner.Domain.Leases;

/// <summary>The last MAC bound to an address and until when. Expired bindings are kept: they remember affinity and use.</summary>
public readonly record struct LeaseBinding(string Mac, DateTimeOffset ExpiresAt);

/// <summary>
/// One subnet's lease table, rebuilt by folding <see cref="ILeaseEvent"/>s with <see cref="LeaseTable.Apply"/>.
/// Immutable maps so Decide stays pure and Apply is O(log n) per event. Tentative offers are not facts and not here:
/// the subnet's <see cref="OfferBook"/> holds them.
/// </summary>
public sealed record LeaseTableState
{
    public static LeaseTableState Empty(string subnetId) => new() { SubnetId = subnetId };

    public string SubnetId { get; init; } = string.Empty;

    /// <summary>Address → last holder. An address absent here was never leased.</summary>
    public ImmutableDictionary<IPv4Address, LeaseBinding> Bindings { get; init; } = ImmutableDictionary<IPv4Address, LeaseBinding>.Empty;

    /// <summary>The keys of <see cref="Bindings"/> in order: finds the next never-used address in O(log² n).</summary>
    public ImmutableSortedSet<IPv4Address> BoundAddresses { get; init; } = ImmutableSortedSet<IPv4Address>.Empty;

    /// <summary><see cref="Bindings"/> ordered by expiry: finds the longest-expired address without scanning the table.</summary>
    public ImmutableSortedSet<(DateTimeOffset ExpiresAt, IPv4Address Address)> Expiries { get; init; } = ImmutableSortedSet<(DateTimeOffset ExpiresAt, IPv4Address Address)>.Empty;

    /// <summary>MAC → the address it holds or last held (its affinity).</summary>
    public ImmutableDictionary<string, IPv4Address> ByMac { get; init; } = ImmutableDictionary.Create<string, IPv4Address>(StringComparer.Ordinal);

    /// <summary>Declined addresses and when they may be used again.</summary>
    public ImmutableDictionary<IPv4Address, DateTimeOffset> Quarantine { get; init; } = ImmutableDictionary<IPv4Address, DateTimeOffset>.Empty;

    /// <summary>
    /// First boots granted with a lease (<see cref="LeaseEvents.FirstBootGranted"/>) that their machines have not yet
    /// recorded, by MAC. Bounded by the pool: one per MAC that holds a lease.
    /// </summary>
    public ImmutableDictionary<string, LeaseEvents.FirstBootGranted> PendingBoots { get; init; } = ImmutableDictionary.Create<string, LeaseEvents.FirstBootGranted>(StringComparer.Ordinal);

    /// <summary>The machine recorded its first boot granted at <paramref name="at"/> (or a later one): nothing pending for it from then.</summary>
    public LeaseTableState WithBootRecorded(string mac, DateTimeOffset at) =>
        PendingBoots.TryGetValue(mac, out var pending) && pending.At <= at ? this with { PendingBoots = PendingBoots.Remove(mac) } : this;

    /// <summary>The unexpired lease of <paramref name="mac"/>, if any.</summary>
    public (IPv4Address Address, DateTimeOffset ExpiresAt)? ActiveLeaseOf(string mac, DateTimeOffset now) =>
        ByMac.TryGetValue(mac, out var address) && Bindings.TryGetValue(address, out var b) && b.Mac == mac && b.ExpiresAt > now
            ? (address, b.ExpiresAt)
            : null;

    /// <summary>Who holds <paramref name="address"/> unexpired at <paramref name="now"/>, or null.</summary>
    public string? HolderOf(IPv4Address address, DateTimeOffset now) =>
        Bindings.TryGetValue(address, out var b) && b.ExpiresAt > now ? b.Mac : null;

    /// <summary>Sets one binding, keeping <see cref="BoundAddresses"/> and <see cref="Expiries"/> in step.</summary>
    public LeaseTableState WithBinding(IPv4Address address, LeaseBinding binding)
    {
        var expiries = Bindings.TryGetValue(address, out var old) ? Expiries.Remove((old.ExpiresAt, address)) : Expiries;
        return this with
        {
            Bindings = Bindings.SetItem(address, binding),
            BoundAddresses = BoundAddresses.Add(address),
            Expiries = expiries.Add((binding.ExpiresAt, address)),
        };
    }

    public LeaseTableSnapshot ToSnapshot()
    {
        var bindings = Bindings.OrderBy(kv => kv.Key).ToArray();
        var quarantine = Quarantine.OrderBy(kv => kv.Key).ToArray();
        return new LeaseTableSnapshot(
            SubnetId,
            bindings.Select(kv => kv.Key.ToString()).ToArray(),
            bindings.Select(kv => kv.Value.Mac).ToArray(),
            bindings.Select(kv => kv.Value.ExpiresAt).ToArray(),
            bindings.Select(kv => ByMac.TryGetValue(kv.Value.Mac, out var a) && a == kv.Key).ToArray(),
            quarantine.Select(kv => kv.Key.ToString()).ToArray(),
            quarantine.Select(kv => kv.Value).ToArray());
    }

    /// <summary>The table and the first boots still pending (the snapshot the lease actor writes).</summary>
    public SubnetSnapshot ToSubnetSnapshot() =>
        new(ToSnapshot(), PendingBoots.Values.OrderBy(b => b.Mac, StringComparer.Ordinal).ToArray());

    public static LeaseTableState FromSnapshot(SubnetSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var pending = ImmutableDictionary.CreateBuilder<string, LeaseEvents.FirstBootGranted>(StringComparer.Ordinal);
        foreach (var boot in snapshot.PendingBoots)
        {
            pending[boot.Mac] = boot;
        }

        return FromSnapshot(snapshot.Table) with { PendingBoots = pending.ToImmutable() };
    }

    public static LeaseTableState FromSnapshot(LeaseTableSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var bindings = ImmutableDictionary.CreateBuilder<IPv4Address, LeaseBinding>();
        var byMac = ImmutableDictionary.CreateBuilder<string, IPv4Address>(StringComparer.Ordinal);
        for (var i = 0; i < snapshot.Addresses.Length; i++)
        {
            var address = IPv4Address.Parse(snapshot.Addresses[i]);
            bindings[address] = new LeaseBinding(snapshot.Macs[i], snapshot.ExpiresAt[i]);
            if (snapshot.Current[i])
            {
                byMac[snapshot.Macs[i]] = address;
            }
        }

        var quarantine = ImmutableDictionary.CreateBuilder<IPv4Address, DateTimeOffset>();
        for (var i = 0; i < snapshot.QuarantinedAddresses.Length; i++)
        {
            quarantine[IPv4Address.Parse(snapshot.QuarantinedAddresses[i])] = snapshot.QuarantinedUntil[i];
        }

        return Empty(snapshot.SubnetId) with
        {
            Bindings = bindings.ToImmutable(),
            BoundAddresses = bindings.Keys.ToImmutableSortedSet(),
            Expiries = bindings.Select(kv => (kv.Value.ExpiresAt, kv.Key)).ToImmutableSortedSet(),
            ByMac = byMac.ToImmutable(),
            Quarantine = quarantine.ToImmutable(),
        };
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
