using System.Net;
using Provisioner.Domain.Machines;
using Provisioner.Protocols.Dhcp;
using Provisioner.Protocols.Tests.Dhcp;
using static Provisioner.Edge.Tests.Dhcp.HandlerFixture;

namespace Provisioner.Edge.Tests.Dhcp;

/// <summary>
/// Relayed PXE exchanges at the packet level: which subnet answers (RFC 3011 option 118, RFC 3527 option 82
/// sub-option 5, giaddr), where the replies go (the relay agent's server port, RFC 2131 §4.1), and the path the
/// machine's boot is recorded with (relay + giaddr, local segment; firmware from option 60 / user class).
/// </summary>
public sealed class DhcpRelayPathTests
{
    private static readonly IPv4Address Relay = IPv4Address.Parse("10.20.0.1");

    private static DhcpPacket Relayed(byte[] golden, IPv4Address giaddr)
    {
        var packet = Parse(golden);
        packet.RelayAgentAddress = giaddr;
        packet.Hops = 1;
        return packet;
    }

    [Fact]
    public async Task Relayed_pxe_dora_is_answered_from_the_giaddr_subnet_to_the_relays_port_67_and_the_boot_records_the_relay()
    {
        var f = new HandlerFixture();
        var discover = Relayed(DhcpGoldenPackets.Edk2PxeDiscover, Relay);

        var offerPlan = await f.Handle(discover);
        var offer = Wire(offerPlan!);
        var ackPlan = await f.Handle(RequestFrom(discover, EdgeAddress, offer.YourAddress));
        var ack = Wire(ackPlan!);

        Assert.Equal(new IPEndPoint(IPAddress.Parse("10.20.0.1"), 67), offerPlan!.Destination);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("10.20.0.1"), 67), ackPlan!.Destination);
        Assert.Equal((DhcpMessageType.Ack, IPv4Address.Parse("10.20.0.10")), (ack.MessageType, ack.YourAddress));
        Assert.Equal(Relay, ack.RelayAgentAddress);
        Assert.Equal([IPv4Address.Parse("10.20.0.1")], ack.Options.Routers);
        var preview = Assert.Single(f.Machines.Previews).Request;
        var recorded = Assert.IsType<MachineCommands.RequestBoot>(Assert.Single(f.Machines.Commands).Command);
        var expected = new BootPath(BootPath.Relayed, "10.20.0.1", BootPath.Pxe);
        Assert.Equal(expected, preview.Path);
        Assert.Equal(expected, recorded.Path);
        Assert.Equal(("10.20.0.10", "remote", 7), (recorded.Address, recorded.Subnet, recorded.Architecture));
    }

    [Fact]
    public async Task A_relayed_first_boot_carries_its_path_on_the_lease()
    {
        var f = new HandlerFixture();
        var discover = Relayed(DhcpGoldenPackets.IpxeBiosDiscover, Relay);
        f.Machines.SurelyNew.Add(MachineId.FromBytes(discover.ClientHardwareAddress).Value);

        var offer = Wire((await f.Handle(discover))!);
        var ack = await f.Handle(RequestFrom(discover, EdgeAddress, offer.YourAddress));

        Assert.Equal(new IPEndPoint(IPAddress.Parse("10.20.0.1"), 67), ack!.Destination);
        var (subnet, _, boot) = Assert.Single(f.Leases.FirstBoots);
        Assert.Equal("remote", subnet);
        Assert.Equal(new BootPath(BootPath.Relayed, "10.20.0.1", BootPath.Ipxe), boot.Path);
    }

    [Fact]
    public async Task A_boot_on_the_local_segment_records_local_and_its_firmware()
    {
        var f = new HandlerFixture();
        var discover = Parse(DhcpGoldenPackets.Edk2PxeDiscover);

        var offer = Wire((await f.Handle(discover))!);
        await f.Handle(RequestFrom(discover, EdgeAddress, offer.YourAddress));

        var recorded = Assert.IsType<MachineCommands.RequestBoot>(Assert.Single(f.Machines.Commands).Command);
        Assert.Equal(new BootPath(BootPath.Local, null, BootPath.Pxe), recorded.Path);
    }

    [Fact]
    public async Task Option_118_chooses_the_subnet_over_giaddr_and_the_reply_still_goes_to_the_relay()
    {
        var f = new HandlerFixture();
        // A relay whose own address is on no served subnet; it names the client's link with option 118 (RFC 3011).
        var discover = Relayed(DhcpGoldenPackets.Edk2PxeDiscover, IPv4Address.Parse("192.0.2.1"));
        discover.Options.SubnetSelection = IPv4Address.Parse("10.20.0.0");

        var plan = await f.Handle(discover);

        var offer = Wire(plan!);
        Assert.Equal(IPv4Address.Parse("10.20.0.10"), offer.YourAddress);
        Assert.Equal(IPv4Address.Parse("10.20.0.0"), offer.Options.SubnetSelection);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("192.0.2.1"), 67), plan!.Destination);
        Assert.Equal(new BootPath(BootPath.Relayed, "192.0.2.1", BootPath.Pxe), Assert.Single(f.Machines.Previews).Request.Path);
    }

    [Fact]
    public async Task Option_82_link_selection_chooses_the_subnet_over_giaddr_and_the_reply_still_goes_to_the_relay()
    {
        var f = new HandlerFixture();
        // RFC 3527: giaddr is where the server answers, sub-option 5 the client's link.
        var discover = Relayed(DhcpGoldenPackets.Edk2PxeDiscover, IPv4Address.Parse("192.0.2.1"));
        discover.Options.SetRelayAgentInformation("ge-0/0/7"u8, [], IPv4Address.Parse("10.20.0.0"));

        var plan = await f.Handle(discover);

        var offer = Wire(plan!);
        Assert.Equal(IPv4Address.Parse("10.20.0.10"), offer.YourAddress);
        Assert.Equal(IPv4Address.Parse("10.20.0.0"), offer.Options.RelayAgentLinkSelection);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("192.0.2.1"), 67), plan!.Destination);
    }

    [Fact]
    public async Task Option_118_wins_over_option_82_link_selection()
    {
        var f = new HandlerFixture();
        var discover = Relayed(DhcpGoldenPackets.Edk2PxeDiscover, IPv4Address.Parse("192.0.2.1"));
        discover.Options.SetRelayAgentInformation([], [], IPv4Address.Parse("10.20.0.0"));
        discover.Options.SubnetSelection = IPv4Address.Parse("10.0.0.0");

        var offer = Wire((await f.Handle(discover))!);

        Assert.Equal(IPv4Address.Parse("10.0.0.10"), offer.YourAddress);
    }

    [Fact]
    public async Task A_relayed_nak_goes_to_the_relays_port_67_with_the_broadcast_bit_for_the_relay_to_broadcast()
    {
        var f = new HandlerFixture();
        var discover = Relayed(DhcpGoldenPackets.Edk2PxeDiscover, Relay);
        // INIT-REBOOT for an address of another network than the relay's.
        var request = RequestFrom(discover, null, IPv4Address.Parse("10.0.0.50"));

        var plan = await f.Handle(request);

        var nak = Wire(plan!);
        Assert.Equal(DhcpMessageType.Nak, nak.MessageType);
        Assert.True(nak.Broadcast);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("10.20.0.1"), 67), plan!.Destination);
    }
}
