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

    /// <param name="compiledMethods">The JIT's count as the warm-up sees it; by default one that never moves (a settled JIT).</param>
    private static DhcpWarmUp WarmUp(ILeaseGateway leases, Func<long>? compiledMethods = null) =>
        new(Options, leases, new ManualClock(T0), BootPolicy.For(Options), (_, _) => "centos7", NullLogger<DhcpWarmUp>.Instance, compiledMethods ?? (() => 0));

    private static readonly JitSettling Settling = new(Exchanges: 20, MaxPasses: 5, Quiet: 40, Pause: TimeSpan.FromMilliseconds(10));

    [Fact]
    public async Task Warm_up_plays_new_pxe_machines_dora_on_the_scratch_subnet_only_and_forgets_it()
    {
        var leases = new FakeLeaseGateway([Local, Remote]);

        var report = await WarmUp(leases).RunAsync(exchanges: 50, concurrency: 8, within: TimeSpan.FromSeconds(30), CancellationToken.None, JitSettling.None);

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

        // A JIT that keeps compiling: still no settling round, since no exchange went through.
        var compiled = 0L;
        var report = await WarmUp(leases, () => compiled += 100).RunAsync(exchanges: 20, concurrency: 4, within: TimeSpan.FromSeconds(30), CancellationToken.None, Settling);

        Assert.Equal((0, 20, 1), (report.Exchanges, report.Failed, report.Passes));
        Assert.False(report.Settled);
        Assert.Equal(1, leases.Forgotten);
    }

    [Fact]
    public async Task Settling_rounds_go_on_until_one_compiles_fewer_methods_than_quiet_and_play_new_machines()
    {
        var leases = new FakeLeaseGateway([Local]);
        // The JIT compiles 5 methods per exchange for the first 90 exchanges, then nothing: rounds 2 and 3 (exchanges
        // 50-69, 70-89) compile 100 methods each, round 4 none, so round 4 ends the warm-up as settled.
        var report = await WarmUp(leases, () => 5L * Math.Min(leases.FirstBootCount, 90)).RunAsync(exchanges: 50, concurrency: 8, within: TimeSpan.FromSeconds(30), CancellationToken.None, Settling);

        Assert.Equal((110, 0, 4, 450L, true), (report.Exchanges, report.Failed, report.Passes, report.MethodsCompiled, report.Settled));
        Assert.Equal([100L, 100L, 0L], report.CompiledPerRound);
        Assert.Equal("settled", report.JitOutcome);
        // Every round played new machines, and the scratch subnet was forgotten once, at the end.
        Assert.Equal(110, leases.FirstBoots.Select(b => b.Mac).Distinct().Count());
        Assert.Equal((1, 220L), (leases.Forgotten, report.EventsForgotten));
    }

    [Fact]
    public async Task The_first_settling_round_alone_never_ends_it_since_call_counting_may_not_have_started()
    {
        var leases = new FakeLeaseGateway([Local]);
        // Round 2 compiles nothing (the runtime had not started counting calls), round 3 compiles 100, round 4 nothing.
        var report = await WarmUp(leases, () => 5L * Math.Clamp(leases.FirstBootCount - 70, 0, 20)).RunAsync(exchanges: 50, concurrency: 8, within: TimeSpan.FromSeconds(30), CancellationToken.None, Settling);

        Assert.Equal([0L, 100L, 0L], report.CompiledPerRound);
        Assert.True(report.Settled);
    }

    [Fact]
    public async Task Settling_stops_after_its_most_rounds_when_the_jit_never_goes_quiet()
    {
        var leases = new FakeLeaseGateway([Local]);

        var report = await WarmUp(leases, () => 5L * leases.FirstBootCount).RunAsync(exchanges: 50, concurrency: 8, within: TimeSpan.FromSeconds(30), CancellationToken.None, Settling);

        Assert.Equal((50 + (5 * 20), 6, false), (report.Exchanges, report.Passes, report.Settled));
        Assert.Equal("still compiling after 5 rounds", report.JitOutcome);
    }

    [Fact]
    public async Task Settling_rounds_stay_inside_the_warm_ups_time_bound()
    {
        var leases = new FakeLeaseGateway([Local]);
        var slow = Settling with { MaxPasses = 1000, Pause = TimeSpan.FromMilliseconds(100) };
        var started = DateTime.UtcNow;

        // 2 s: a round takes ~0.2 s (two pauses), so several complete even on a loaded machine before the bound ends it.
        var report = await WarmUp(leases, () => 5L * leases.FirstBootCount).RunAsync(exchanges: 20, concurrency: 4, within: TimeSpan.FromSeconds(2), CancellationToken.None, slow);

        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(12), $"took {DateTime.UtcNow - started}");
        Assert.InRange(report.Passes, 2, 999);
        Assert.False(report.Settled);
        Assert.Equal("stopped at the time bound", report.JitOutcome);
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
