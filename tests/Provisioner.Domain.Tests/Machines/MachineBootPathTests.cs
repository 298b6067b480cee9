using Provisioner.Domain.Leases;
using Provisioner.Domain.Machines;
using static Provisioner.Domain.Machines.MachineCommands;
using static Provisioner.Domain.Machines.MachineEvents;
using C = Provisioner.Domain.Tests.Machines.Canonical;

namespace Provisioner.Domain.Tests.Machines;

/// <summary>A boot records how its request reached us (local segment, relay, proxy) and the firmware that sent it.</summary>
public sealed class MachineBootPathTests
{
    private static readonly BootPath Relayed = new(BootPath.Relayed, "10.78.5.1", BootPath.Pxe);

    [Fact]
    public void A_relayed_boot_records_its_relay_and_firmware_with_discovered()
    {
        var decision = Machine.Decide(MachineState.Empty(C.Mac), new RequestBoot(C.At(0), 7, false, "centos7", "10.78.5.100", "far", Relayed), MachinePolicy.Default);

        var discovered = Assert.IsType<DiscoveredOnPath>(decision.Events[0]);
        Assert.Equal(new DiscoveredOnPath(C.At(0), 7, false, "centos7", 1, BootPath.Relayed, "10.78.5.1", BootPath.Pxe), discovered);
        Assert.Equal(Relayed, discovered.Path);
        Assert.IsType<LeaseRecorded>(decision.Events[1]);
    }

    [Fact]
    public void A_boot_whose_path_is_not_known_records_a_plain_discovered_as_before()
    {
        var decision = Machine.Decide(MachineState.Empty(C.Mac), new RequestBoot(C.At(0), 0, true, "centos7"), MachinePolicy.Default);

        Assert.Equal(typeof(Discovered), Assert.Single(decision.Events).GetType());
    }

    [Fact]
    public void Discovered_on_a_path_applies_exactly_as_discovered_so_the_state_stays_fixed_size()
    {
        var plain = Machine.Replay(C.Mac, [new Discovered(C.At(0), 7, false, "centos7", 1)]);
        var onPath = Machine.Replay(C.Mac, [new DiscoveredOnPath(C.At(0), 7, false, "centos7", 1, BootPath.Relayed, "10.78.5.1", BootPath.Pxe)]);

        Assert.Equal(plain, onPath);
        Assert.Equal(MachineStage.Discovered, onPath.Stage);
    }

    [Fact]
    public void A_retransmitted_request_over_another_path_records_nothing_new()
    {
        var state = Machine.Replay(C.Mac, [new DiscoveredOnPath(C.At(0), 7, false, "centos7", 1, BootPath.Local, null, BootPath.Pxe)]);

        var again = Machine.Decide(state, new RequestBoot(C.At(0).AddSeconds(2), 7, false, "centos7", Path: Relayed), MachinePolicy.Default);

        Assert.Equal(DecisionOutcome.Unchanged, again.Outcome);
        Assert.Empty(again.Events);
    }

    [Theory]
    [InlineData(false, false, BootPath.Pxe)]
    [InlineData(false, true, BootPath.HttpBoot)]
    [InlineData(true, false, BootPath.Ipxe)]
    [InlineData(true, true, BootPath.Ipxe)]
    public void Firmware_is_ipxe_by_its_user_class_else_http_boot_by_option_60_else_pxe(bool ipxe, bool httpClient, string expected) =>
        Assert.Equal(expected, BootPath.FirmwareOf(ipxe, httpClient));

    [Theory]
    [InlineData(BootPath.Local, null, "local segment")]
    [InlineData(BootPath.Relayed, "10.78.5.1", "relay 10.78.5.1")]
    [InlineData(BootPath.Proxied, null, "proxy")]
    public void Via_reads_as_an_operator_expects(string via, string? relay, string expected) =>
        Assert.Equal(expected, new BootPath(via, relay, BootPath.Pxe).ViaText);

    [Fact]
    public void A_first_boot_granted_on_a_path_hands_its_path_on_through_the_combined_lease_event()
    {
        var lease = new LeaseEvents.LeaseGranted(C.At(1), C.Mac, "10.78.5.100", C.At(61));
        var boot = LeaseEvents.FirstBootGrantedOnPath.Of(C.At(0), C.Mac, "10.78.5.100", 0, true, "centos7", Relayed);

        var combined = LeaseEvents.FirstBootLeaseGranted.Of(lease, boot);

        Assert.IsType<LeaseEvents.FirstBootLeaseGrantedOnPath>(combined);
        Assert.Equal(boot, combined.Boot);
        Assert.Equal(Relayed, Assert.IsType<LeaseEvents.FirstBootGrantedOnPath>(combined.Boot).Path);
        Assert.Equal(lease, combined.Lease);
        // Without a path, the types written before.
        Assert.Equal(typeof(LeaseEvents.FirstBootGranted), LeaseEvents.FirstBootGrantedOnPath.Of(C.At(0), C.Mac, "10.78.5.100", 0, true, null, null).GetType());
        Assert.Equal(typeof(LeaseEvents.FirstBootLeaseGranted), LeaseEvents.FirstBootLeaseGranted.Of(lease, new LeaseEvents.FirstBootGranted(C.At(0), C.Mac, "10.78.5.100", 0, true, null)).GetType());
    }
}
