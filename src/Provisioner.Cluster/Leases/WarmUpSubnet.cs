using Provisioner.Domain.Leases;
using Provisioner.Protocols.Dhcp;

namespace Provisioner.Cluster.Leases;

/// <summary>
/// The scratch subnet a DHCP edge exercises its own hot path on before it opens its socket (a node that has just started
/// otherwise spends its first seconds compiling and resolving code while the first real clients wait). Its lease actor
/// runs the same code as every subnet's, journal writes included, but hands no first boot to any machine, takes no
/// snapshot, and deletes its journal when told to <see cref="SubnetLeaseProtocol.Forget"/> it. No packet can select it:
/// it is in no node's <c>dhcp.subnets</c>, and its id has a character configured ids may not hold.
/// </summary>
public static class WarmUpSubnet
{
    /// <summary>'~' is refused in configured subnet ids, so no real subnet (nor its journal) can be this one.</summary>
    public const string Id = "~warm-up";

    /// <summary>198.18.0.0/15, the range RFC 2544 sets aside for benchmarking: never a real segment's addresses.</summary>
    public static SubnetDefinition Definition { get; } = new()
    {
        Id = Id,
        Network = IPv4Address.Parse("198.18.0.0"),
        PrefixLength = 15,
        PoolStart = IPv4Address.Parse("198.18.0.10"),
        PoolEnd = IPv4Address.Parse("198.19.255.254"),
        Router = IPv4Address.Parse("198.18.0.1"),
        LeaseTime = TimeSpan.FromHours(1),
    };
}
