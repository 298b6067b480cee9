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

    public const string SnapshotEveryPath = "provisioner.edge.dhcp.lease-snapshot-every";
    public const string FirstBootRecordersPath = "provisioner.edge.dhcp.first-boot-recorders";
    public const string FirstBootRecordersWhileGrantingPath = "provisioner.edge.dhcp.first-boot-recorders-while-granting";

    /// <summary>
    /// Core nodes host the lease region, each entity created with its <see cref="Domain.Leases.SubnetDefinition"/> from
    /// <c>provisioner.edge.dhcp.subnets</c> of this node's configuration; edge-only nodes get a proxy (role core, STACK.md P6).
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

        var subnets = SubnetConfig.ListFromConfig(settings.Hocon).ToDictionary(s => s.Id, StringComparer.Ordinal);
        var actorSettings = leaseSettings ?? SubnetLeaseSettings.Default with
        {
            // Optional tuning key (not in defaults.conf): lease tables are snapshotted far less often than machines.
            SnapshotEvery = settings.Hocon.GetInt(SnapshotEveryPath, SubnetLeaseSettings.Default.SnapshotEvery) is var n && n > 0
                ? n
                : throw new Akka.Configuration.ConfigurationException($"{SnapshotEveryPath}: must be greater than 0"),
            FirstBoots = SubnetLeaseSettings.Default.FirstBoots with
            {
                Concurrency = Positive(settings.Hocon, FirstBootRecordersPath, SubnetLeaseSettings.Default.FirstBoots.Concurrency),
                ConcurrencyWhileGranting = Positive(settings.Hocon, FirstBootRecordersWhileGrantingPath, SubnetLeaseSettings.Default.FirstBoots.ConcurrencyWhileGranting),
            },
        };
        var scratchSettings = actorSettings with { Scratch = true };
        return builder.WithShardRegion<SubnetLeaseRegion>(
            SubnetTypeName,
            subnetId => subnetId == WarmUpSubnet.Id
                ? Props.Create(() => new SubnetLeaseActor(subnetId, WarmUpSubnet.Definition, scratchSettings))
                : Props.Create(() => new SubnetLeaseActor(subnetId, subnets.GetValueOrDefault(subnetId), actorSettings)),
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

    private static int Positive(Akka.Configuration.Config hocon, string path, int fallback) =>
        hocon.GetInt(path, fallback) is var n && n > 0 ? n : throw new Akka.Configuration.ConfigurationException($"{path}: must be greater than 0");
}
