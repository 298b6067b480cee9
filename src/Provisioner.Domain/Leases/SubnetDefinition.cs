using System.Globalization;
using Provisioner.Protocols.Dhcp;

namespace Provisioner.Domain.Leases;

/// <summary>A fixed address for one MAC (normalised <c>aa:bb:cc:dd:ee:ff</c>); it is only ever given to that MAC.</summary>
public sealed record SubnetReservation(string Mac, IPv4Address Address, string? Hostname);

/// <summary>
/// One DHCP subnet: the network, the dynamic pool, the options handed out with a lease, and reservations.
/// Built and checked by <see cref="Create"/>; bound from HOCON by <c>Provisioner.Cluster.Leases.SubnetConfig</c>
/// (the Domain project carries no Akka reference).
/// </summary>
public sealed record SubnetDefinition
{
    public required string Id { get; init; }

    public required IPv4Address Network { get; init; }

    public required int PrefixLength { get; init; }

    public required IPv4Address PoolStart { get; init; }

    public required IPv4Address PoolEnd { get; init; }

    public IPv4Address? Router { get; init; }

    public IReadOnlyList<IPv4Address> Dns { get; init; } = [];

    public string? Domain { get; init; }

    public required TimeSpan LeaseTime { get; init; }

    public IReadOnlyList<SubnetReservation> Reservations { get; init; } = [];

    /// <summary>The netmask (option 1) of <see cref="PrefixLength"/>.</summary>
    public IPv4Address Mask => new(PrefixLength == 0 ? 0u : uint.MaxValue << (32 - PrefixLength));

    public IPv4Address Broadcast => new(Network.Value | ~Mask.Value);

    /// <summary>CIDR text, e.g. <c>10.0.0.0/24</c> (what a machine's <c>LeaseRecorded.Subnet</c> names, together with the id).</summary>
    public string Cidr => string.Create(CultureInfo.InvariantCulture, $"{Network}/{PrefixLength}");

    public bool Contains(IPv4Address address) => (address.Value & Mask.Value) == Network.Value;

    public bool InPool(IPv4Address address) => address >= PoolStart && address <= PoolEnd;

    public SubnetReservation? ReservationFor(string mac)
    {
        foreach (var r in Reservations)
        {
            if (r.Mac == mac)
            {
                return r;
            }
        }

        return null;
    }

    public SubnetReservation? ReservationOf(IPv4Address address)
    {
        foreach (var r in Reservations)
        {
            if (r.Address == address)
            {
                return r;
            }
        }

        return null;
    }

    /// <summary>Parses <c>a.b.c.d/n</c>; the host bits must be zero.</summary>
    public static bool TryParseCidr(string? text, out IPv4Address network, out int prefixLength)
    {
        network = default;
        prefixLength = 0;
        var slash = text?.IndexOf('/', StringComparison.Ordinal) ?? -1;
        if (text is null || slash < 0
            || !IPv4Address.TryParse(text[..slash], out network)
            || !int.TryParse(text[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out prefixLength)
            || prefixLength is < 0 or > 32)
        {
            return false;
        }

        var mask = prefixLength == 0 ? 0u : uint.MaxValue << (32 - prefixLength);
        return (network.Value & ~mask) == 0;
    }

    /// <summary>
    /// Checks one subnet. Returns the offending key (relative to the subnet object: <c>pool-start</c>,
    /// <c>reservations.2.address</c> …) and why, or null when the definition is sound.
    /// </summary>
    public (string Key, string Problem)? Check()
    {
        if (string.IsNullOrWhiteSpace(Id))
        {
            return ("id", "missing");
        }

        if (PrefixLength is < 1 or > 30)
        {
            return ("network", $"prefix /{PrefixLength} leaves no room for hosts (use /1 to /30)");
        }

        if (!Contains(PoolStart) || PoolStart == Network || PoolStart == Broadcast)
        {
            return ("pool-start", $"{PoolStart} is not a host address of {Cidr}");
        }

        if (!Contains(PoolEnd) || PoolEnd == Network || PoolEnd == Broadcast)
        {
            return ("pool-end", $"{PoolEnd} is not a host address of {Cidr}");
        }

        if (PoolEnd < PoolStart)
        {
            return ("pool-end", $"{PoolEnd} is before pool-start {PoolStart}");
        }

        if (Router is { } router && !Contains(router))
        {
            return ("router", $"{router} is outside {Cidr}");
        }

        if (LeaseTime < TimeSpan.FromSeconds(60) || LeaseTime.TotalSeconds >= uint.MaxValue)
        {
            return ("lease-time", $"{LeaseTime} must be at least 60s");
        }

        var macs = new HashSet<string>(StringComparer.Ordinal);
        var addresses = new HashSet<IPv4Address>();
        for (var i = 0; i < Reservations.Count; i++)
        {
            var r = Reservations[i];
            var key = string.Create(CultureInfo.InvariantCulture, $"reservations.{i}");
            if (!Contains(r.Address) || r.Address == Network || r.Address == Broadcast)
            {
                return (key + ".address", $"{r.Address} is not a host address of {Cidr}");
            }

            if (!macs.Add(r.Mac))
            {
                return (key + ".mac", $"{r.Mac} is reserved twice");
            }

            if (!addresses.Add(r.Address))
            {
                return (key + ".address", $"{r.Address} is reserved twice");
            }
        }

        return null;
    }

    /// <summary>True when the two networks share any address.</summary>
    public bool Overlaps(SubnetDefinition other)
    {
        ArgumentNullException.ThrowIfNull(other);
        var shorter = Math.Min(PrefixLength, other.PrefixLength);
        var mask = shorter == 0 ? 0u : uint.MaxValue << (32 - shorter);
        return (Network.Value & mask) == (other.Network.Value & mask);
    }

    /// <summary>
    /// Checks a set of subnets: each one, unique ids, no overlapping networks. Returns the index of the
    /// offending subnet with the key and reason, or null.
    /// </summary>
    public static (int Index, string Key, string Problem)? CheckAll(IReadOnlyList<SubnetDefinition> subnets)
    {
        ArgumentNullException.ThrowIfNull(subnets);
        for (var i = 0; i < subnets.Count; i++)
        {
            if (subnets[i].Check() is { } problem)
            {
                return (i, problem.Key, problem.Problem);
            }

            for (var j = 0; j < i; j++)
            {
                if (subnets[j].Id == subnets[i].Id)
                {
                    return (i, "id", $"'{subnets[i].Id}' is used by another subnet");
                }

                if (subnets[j].Overlaps(subnets[i]))
                {
                    return (i, "network", $"{subnets[i].Cidr} overlaps subnet '{subnets[j].Id}' ({subnets[j].Cidr})");
                }
            }
        }

        return null;
    }
}
