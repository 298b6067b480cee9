using Microsoft.Extensions.Logging.Abstractions;
using Provisioner.Cluster.Leases;
using Provisioner.Domain.Boot;
using Provisioner.Domain.Leases;
using Provisioner.Domain.Machines;
using Provisioner.Edge.Dhcp;
using Provisioner.Protocols.Dhcp;
using static Provisioner.Edge.Tests.Dhcp.HandlerFixture;

namespace Provisioner.Edge.Tests.Dhcp;

/// <summary>
/// The node's warm-up before it serves (<see cref="DhcpWarmUp"/>): new PXE machines' DORAs through the real handler on
/// the scratch subnet only, no machine asked anything, the scratch journal forgotten at the end, and bounded in time
/// whatever the cluster does.
/// </summary>
public sealed class DhcpWarmUpTests
{
    private static readonly DhcpServerOptions Options = new() { Address = EdgeAddress, Subnets = [Local, Remote], HttpPort = 8080 };

    private static DhcpWarmUp WarmUp(ILeaseGateway leases) =>
        new(Options, leases, new ManualClock(T0), BootPolicy.For(Options), (_, _) => "centos7", NullLogger<DhcpWarmUp>.Instance);

    [Fact]
    public async Task Warm_up_plays_new_pxe_machines_dora_on_the_scratch_subnet_only_and_forgets_it()
    {
        var leases = new FakeLeaseGateway([Local, Remote]);

        var report = await WarmUp(leases).RunAsync(exchanges: 50, concurrency: 8, within: TimeSpan.FromSeconds(30), CancellationToken.None);

        Assert.Equal((50, 0), (report.Exchanges, report.Failed));
        Assert.All(leases.Calls, c => Assert.Equal(WarmUpSubnet.Id, c.Subnet));
        Assert.Equal(50, leases.Calls.Count(c => c.Command is LeaseCommands.Offer));
        // Every REQUEST took the rollout's path: the first boot rides on the lease, decided without any machine.
        Assert.Equal(50, leases.FirstBoots.Count);
        Assert.All(leases.FirstBoots, b => Assert.Equal((WarmUpSubnet.Id, 0, "centos7"), (b.Subnet, b.Boot.Architecture, b.Boot.Profile)));
        Assert.Equal(50, leases.FirstBoots.Select(b => b.Mac).Distinct().Count());
        Assert.All(leases.FirstBoots, b => Assert.StartsWith("0e:77:75:", b.Mac, StringComparison.Ordinal));
        Assert.Equal(1, leases.Forgotten);
        Assert.Equal(100, report.EventsForgotten);
        Assert.Empty(leases.Table(Local.Id).Bindings);
    }

    [Fact]
    public async Task Warm_up_counts_failed_exchanges_and_still_forgets_the_scratch_subnet()
    {
        var leases = new FakeLeaseGateway([Local]) { Throw = new TimeoutException("no core node answers") };

        var report = await WarmUp(leases).RunAsync(exchanges: 20, concurrency: 4, within: TimeSpan.FromSeconds(30), CancellationToken.None);

        Assert.Equal((0, 20), (report.Exchanges, report.Failed));
        Assert.Equal(1, leases.Forgotten);
    }

    [Fact]
    public async Task Warm_up_gives_up_at_its_bound_when_the_cluster_never_answers()
    {
        var leases = new SilentLeaseGateway();
        var started = DateTime.UtcNow;

        var report = await WarmUp(leases).RunAsync(exchanges: 1000, concurrency: 4, within: TimeSpan.FromMilliseconds(300), CancellationToken.None);

        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(15), $"took {DateTime.UtcNow - started}");
        Assert.Equal(0, report.Exchanges);
        Assert.Equal(4, report.Failed);
        Assert.Equal(-1, report.EventsForgotten);
    }

    /// <summary>A cluster that never answers (an edge whose core nodes are not up): every ask waits for its cancellation.</summary>
    private sealed class SilentLeaseGateway : ILeaseGateway
    {
        public Task<LeaseAnswer> OfferAsync(string subnetId, MachineId mac, IPv4Address? requested, DateTimeOffset at, CancellationToken cancellationToken) => Never<LeaseAnswer>(cancellationToken);

        public Task<LeaseAnswer> RequestAsync(string subnetId, MachineId mac, IPv4Address address, bool renewing, DateTimeOffset at, CancellationToken cancellationToken) => Never<LeaseAnswer>(cancellationToken);

        public Task<LeaseAnswer> RequestFirstBootAsync(string subnetId, MachineId mac, IPv4Address address, MachineCommands.RequestBoot boot, CancellationToken cancellationToken) => Never<LeaseAnswer>(cancellationToken);

        public Task<bool> FlushFirstBootAsync(string subnetId, MachineId mac, CancellationToken cancellationToken) => Never<bool>(cancellationToken);

        public Task<LeaseAnswer> ReleaseAsync(string subnetId, MachineId mac, IPv4Address address, DateTimeOffset at, CancellationToken cancellationToken) => Never<LeaseAnswer>(cancellationToken);

        public Task<SubnetLeaseProtocol.SubnetDeclared> DeclareAsync(SubnetDefinition subnet, string node, DateTimeOffset at, CancellationToken cancellationToken) => Never<SubnetLeaseProtocol.SubnetDeclared>(cancellationToken);

        public Task<LeaseAnswer> DeclineAsync(string subnetId, MachineId mac, IPv4Address address, DateTimeOffset at, CancellationToken cancellationToken) => Never<LeaseAnswer>(cancellationToken);

        public Task<long> ForgetWarmUpAsync(CancellationToken cancellationToken) => Never<long>(cancellationToken);

        private static async Task<T> Never<T>(CancellationToken cancellationToken)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
            throw new InvalidOperationException("unreachable");
        }
    }
}
