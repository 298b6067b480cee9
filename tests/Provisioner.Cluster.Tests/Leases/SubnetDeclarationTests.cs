using Akka.Actor;
using Provisioner.Cluster.Tests.Support;
using Provisioner.Domain.Leases;
using Provisioner.Protocols.Dhcp;
using static Provisioner.Cluster.Leases.SubnetLeaseProtocol;

namespace Provisioner.Cluster.Tests.Leases;

/// <summary>Subnets are declared by the edges that serve them and kept durably by their lease actors (no subnet list on a core node).</summary>
public sealed class SubnetDeclarationTests
{
    private static readonly DateTimeOffset T0 = LeaseNode.T0;
    private const string OtherEdge = "10.9.0.3:4054";

    private static SubnetDefinition Tiny(string poolEnd = "10.1.0.12") => Provisioner.Cluster.Leases.SubnetConfig.ListFromConfig(Akka.Configuration.ConfigurationFactory.ParseString(LeaseNode.Subnets))
        .Single(s => s.Id == "tiny") with { PoolEnd = IPv4Address.Parse(poolEnd) };

    [Fact]
    public async Task A_subnet_nobody_declared_answers_unknown_however_much_the_node_configures()
    {
        using var data = new TempDirectory();
        await using var node = await LeaseNode.StartAsync(data.Path, declare: false);

        var offer = await node.Ask(new Offer("tiny", LeaseNode.Mac(1), null, T0));

        Assert.Equal(LeaseOutcome.UnknownSubnet, offer.Outcome);
        Assert.Equal("subnet 'tiny' has not been declared by any edge node", offer.Reason);
    }

    [Fact]
    public async Task The_definition_survives_restarts_and_snapshots_without_being_declared_again()
    {
        using var data = new TempDirectory();
        await using (var node = await LeaseNode.StartAsync(data.Path, "provisioner.edge.dhcp.lease-snapshot-every = 3"))
        {
            // Past the snapshot interval: the next recovery starts from a snapshot taken after the definition.
            for (var i = 1; i <= 3; i++)
            {
                Assert.Equal(LeaseOutcome.Acked, (await node.Lease("tiny", LeaseNode.Mac(i), T0)).Outcome);
            }

            await node.Ask(new Release("tiny", LeaseNode.Mac(3), "10.1.0.12", T0.AddMinutes(1)));
            await Task.Delay(500); // the snapshot is written after the last persist callback
        }

        await using (var node = await LeaseNode.StartAsync(data.Path, "provisioner.edge.dhcp.lease-snapshot-every = 3", declare: false))
        {
            var offer = await node.Ask(new Offer("tiny", LeaseNode.Mac(9), null, T0.AddMinutes(2)));
            Assert.Equal(LeaseOutcome.Offered, offer.Outcome);
            Assert.Equal("10.1.0.12", offer.Address);
            Assert.Equal(LeaseOutcome.NoAddress, (await node.Ask(new Offer("tiny", LeaseNode.Mac(10), null, T0.AddMinutes(2)))).Outcome);
        }
    }

    [Fact]
    public async Task Another_node_with_a_different_definition_is_refused_and_the_subnet_keeps_serving_the_first()
    {
        using var data = new TempDirectory();
        await using var node = await LeaseNode.StartAsync(data.Path);

        var same = await node.Declare(Tiny(), OtherEdge, T0);
        var different = await node.Declare(Tiny("10.1.0.200"), OtherEdge, T0);

        Assert.Equal(SubnetDeclarationOutcome.Unchanged, same.Outcome);
        Assert.Equal(SubnetDeclarationOutcome.Refused, different.Outcome);
        Assert.Equal(LeaseNode.NodeName, different.DefinedBy);
        Assert.Contains($"node {LeaseNode.NodeName} as 10.1.0.0/24 pool 10.1.0.10-10.1.0.12", different.Reason, StringComparison.Ordinal);
        Assert.Contains($"node {OtherEdge} declares 10.1.0.0/24 pool 10.1.0.10-10.1.0.200", different.Reason, StringComparison.Ordinal);
        for (var i = 1; i <= 3; i++)
        {
            await node.Lease("tiny", LeaseNode.Mac(i), T0);
        }

        Assert.Equal(LeaseOutcome.NoAddress, (await node.Ask(new Offer("tiny", LeaseNode.Mac(4), null, T0))).Outcome);
    }

    [Fact]
    public async Task The_defining_node_changes_its_subnet_and_the_change_is_durable()
    {
        using var data = new TempDirectory();
        await using (var node = await LeaseNode.StartAsync(data.Path))
        {
            for (var i = 1; i <= 3; i++)
            {
                await node.Lease("tiny", LeaseNode.Mac(i), T0);
            }

            var bigger = await node.Declare(Tiny("10.1.0.20"), LeaseNode.NodeName, T0.AddMinutes(1));
            Assert.Equal(SubnetDeclarationOutcome.Redefined, bigger.Outcome);
            Assert.Equal(3, bigger.Leases);
        }

        await using (var node = await LeaseNode.StartAsync(data.Path, declare: false))
        {
            var offer = await node.Ask(new Offer("tiny", LeaseNode.Mac(4), null, T0.AddMinutes(2)));
            Assert.Equal("10.1.0.13", offer.Address);
            Assert.Equal(3, (await node.List("tiny")).Leases.Length);
        }
    }

    [Fact]
    public async Task A_handover_lets_the_new_edge_change_the_definition_and_it_survives_a_restart()
    {
        using var data = new TempDirectory();
        await using (var node = await LeaseNode.StartAsync(data.Path))
        {
            await node.Lease("tiny", LeaseNode.Mac(1), T0);
            Assert.Equal(SubnetDeclarationOutcome.Refused, (await node.Declare(Tiny("10.1.0.20"), OtherEdge, T0)).Outcome);

            var handed = await node.Region.Ask<SubnetDeclared>(new HandOverSubnet("tiny", OtherEdge, T0.AddMinutes(1)), TestNode.Timeout);
            Assert.Equal((SubnetDeclarationOutcome.Redefined, OtherEdge), (handed.Outcome, handed.DefinedBy));
            Assert.Contains($"handed over from node {LeaseNode.NodeName} to node {OtherEdge}", handed.Reason, StringComparison.Ordinal);

            // The definition itself did not change: still the three-address pool.
            for (var i = 2; i <= 3; i++)
            {
                await node.Lease("tiny", LeaseNode.Mac(i), T0);
            }

            Assert.Equal(LeaseOutcome.NoAddress, (await node.Ask(new Offer("tiny", LeaseNode.Mac(4), null, T0))).Outcome);
            Assert.Equal(SubnetDeclarationOutcome.Refused, (await node.Declare(Tiny("10.1.0.30"), LeaseNode.NodeName, T0.AddMinutes(2))).Outcome);
            Assert.Equal(SubnetDeclarationOutcome.Redefined, (await node.Declare(Tiny("10.1.0.20"), OtherEdge, T0.AddMinutes(2))).Outcome);
        }

        await using (var node = await LeaseNode.StartAsync(data.Path, declare: false))
        {
            Assert.Equal("10.1.0.13", (await node.Ask(new Offer("tiny", LeaseNode.Mac(4), null, T0.AddMinutes(3)))).Address);
            var again = await node.Region.Ask<SubnetDeclared>(new HandOverSubnet("tiny", OtherEdge, T0.AddMinutes(3)), TestNode.Timeout);
            Assert.Equal(SubnetDeclarationOutcome.Unchanged, again.Outcome);
            var nothing = await node.Region.Ask<SubnetDeclared>(new HandOverSubnet("never-declared", OtherEdge, T0.AddMinutes(3)), TestNode.Timeout);
            Assert.Equal(SubnetDeclarationOutcome.Refused, nothing.Outcome);
            Assert.Contains("has no definition to hand over", nothing.Reason, StringComparison.Ordinal);
        }
    }
}
