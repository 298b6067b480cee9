using Akka.Actor;
using Akka.Hosting;
using Provisioner.Cluster.Leases;
using Provisioner.Cluster.Tests.Support;
using Provisioner.Domain.Leases;

namespace Provisioner.Cluster.Tests.Leases;

/// <summary>A <see cref="TestNode"/> with two subnets configured, and shortcuts to its lease region.</summary>
internal sealed class LeaseNode : IAsyncDisposable
{
    public static readonly DateTimeOffset T0 = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);

    public const string Subnets = """
        provisioner.edge.dhcp.subnets = [
          { id = lab, network = "10.0.0.0/24", pool-start = "10.0.0.10", pool-end = "10.0.0.250", router = "10.0.0.1",
            dns = ["10.0.0.1"], domain = "lab.example", lease-time = 1h,
            reservations = [ { mac = "52:54:00:00:09:99", address = "10.0.0.5", hostname = "db1" } ] }
          { id = tiny, network = "10.1.0.0/24", pool-start = "10.1.0.10", pool-end = "10.1.0.12", lease-time = 10m }
        ]
        """;

    private LeaseNode(TestNode node, IActorRef region)
    {
        Node = node;
        Region = region;
    }

    public TestNode Node { get; }

    public IActorRef Region { get; }

    /// <summary>The node name this fixture declares its subnets as.</summary>
    public const string NodeName = "127.0.0.1:4053";

    public static string Mac(int i) => $"52:54:00:00:{i / 256:x2}:{i % 256:x2}";

    /// <param name="declare">Declare the configured subnets as an edge does at start (false: the lease actors know only what their journals hold).</param>
    public static async Task<LeaseNode> StartAsync(string dataDirectory, string extraHocon = "", bool declare = true)
    {
        var node = await TestNode.StartAsync(TestNode.SettingsFor(dataDirectory, Subnets + "\n" + extraHocon), new ManualClock(T0));
        var region = await ActorRegistry.For(node.System).GetAsync<SubnetLeaseRegion>();

        // As an edge does at start: every subnet of its configuration declared to its lease actor.
        foreach (var subnet in declare ? SubnetConfig.ListFromConfig(node.Settings.Hocon) : [])
        {
            var declared = await region.Ask<SubnetLeaseProtocol.SubnetDeclared>(
                new SubnetLeaseProtocol.DeclareSubnet(subnet.Id, SubnetDeclarations.Declare(subnet, NodeName, T0)), TestNode.Timeout);
            Assert.NotEqual(SubnetDeclarationOutcome.Refused, declared.Outcome);
        }

        return new LeaseNode(node, region);
    }

    public Task<SubnetLeaseProtocol.LeaseResult> Ask(IWithSubnetId message) =>
        Region.Ask<SubnetLeaseProtocol.LeaseResult>(message, TestNode.Timeout);

    public Task<SubnetLeaseProtocol.SubnetDeclared> Declare(SubnetDefinition subnet, string node, DateTimeOffset at) =>
        Region.Ask<SubnetLeaseProtocol.SubnetDeclared>(new SubnetLeaseProtocol.DeclareSubnet(subnet.Id, SubnetDeclarations.Declare(subnet, node, at)), TestNode.Timeout);

    public Task<SubnetLeaseProtocol.LeaseList> List(string subnet) =>
        Region.Ask<SubnetLeaseProtocol.LeaseList>(new SubnetLeaseProtocol.GetLeases(subnet), TestNode.Timeout);

    public async Task<SubnetLeaseProtocol.LeaseResult> Lease(string subnet, string mac, DateTimeOffset at)
    {
        var offer = await Ask(new SubnetLeaseProtocol.Offer(subnet, mac, null, at));
        return await Ask(new SubnetLeaseProtocol.Request(subnet, mac, offer.Address!, false, at));
    }

    public ValueTask DisposeAsync() => Node.DisposeAsync();
}
