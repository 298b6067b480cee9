using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Cluster.Sharding;
using Akka.Hosting;
using Provisioner.Cluster.Hosting;

namespace Provisioner.Cluster.Leases;

/// <summary>Registry key for the subnet lease shard region (or its proxy on edge-only nodes).</summary>
public sealed class SubnetLeaseRegion;

public static class SubnetLeaseHosting
{
    public const string SubnetTypeName = "subnet";

    /// <summary>Where the lease actors' tuning keys live (<c>lease-snapshot-every</c>, <c>first-boot-recorders</c>, …).</summary>
    private const string DhcpSection = "provisioner.edge.dhcp";

    /// <summary>
    /// Core nodes host the lease region; each entity learns its <see cref="Domain.Leases.SubnetDefinition"/> from its own
    /// journal, where the edges that serve the subnet declared it (<see cref="SubnetLeaseProtocol.DeclareSubnet"/>). Edge-only
    /// nodes get a proxy (role core, STACK.md P6).
    /// </summary>
    public static AkkaConfigurationBuilder AddSubnetLeaseRegion(this AkkaConfigurationBuilder builder, ProvisionerSettings settings, SubnetLeaseSettings? leaseSettings = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(settings);

        var extractor = new SubnetMessageExtractor(settings.Shards);
        if (!settings.IsCore)
        {
            return builder.WithShardRegionProxy<SubnetLeaseRegion>(SubnetTypeName, Roles.Core, extractor);
        }

        var dhcp = new ConfigKeys(settings.Hocon.HasPath(DhcpSection) ? settings.Hocon.GetConfig(DhcpSection) : Akka.Configuration.Config.Empty, DhcpSection);
        var defaults = SubnetLeaseSettings.Default;
        var actorSettings = leaseSettings ?? defaults with
        {
            // Optional tuning key (not in defaults.conf): lease tables are snapshotted far less often than machines.
            SnapshotEvery = dhcp.PositiveWhole("lease-snapshot-every", defaults.SnapshotEvery),
            FirstBoots = defaults.FirstBoots with
            {
                Concurrency = dhcp.PositiveWhole("first-boot-recorders", defaults.FirstBoots.Concurrency),
                ConcurrencyWhileGranting = dhcp.PositiveWhole("first-boot-recorders-while-granting", defaults.FirstBoots.ConcurrencyWhileGranting),
            },
        };
        var scratchSettings = actorSettings with { Scratch = true };
        return builder.WithShardRegion<SubnetLeaseRegion>(
            SubnetTypeName,
            subnetId => subnetId == WarmUpSubnet.Id
                ? Props.Create(() => new SubnetLeaseActor(subnetId, WarmUpSubnet.Definition, scratchSettings))
                // Every real subnet learns its definition from its journal: edges declare it (no subnet list on a core node).
                : Props.Create(() => new SubnetLeaseActor(subnetId, null, actorSettings)),
            extractor,
            new ShardOptions
            {
                Role = Roles.Core,
                RememberEntities = false,
                StateStoreMode = StateStoreMode.DData,
                // A lease table is small and costly to recover relative to its traffic: keep it awake.
                ShouldPassivateIdleEntities = false,
            });
    }
}
