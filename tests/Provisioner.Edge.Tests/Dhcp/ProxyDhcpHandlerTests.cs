using System.Net;
using Provisioner.Domain.Machines;
using Provisioner.Edge.Dhcp;
using Provisioner.Protocols.Dhcp;
using Provisioner.Protocols.Tests.Dhcp;
using static Provisioner.Edge.Tests.Dhcp.HandlerFixture;

namespace Provisioner.Edge.Tests.Dhcp;

/// <summary>
/// proxyDHCP (<c>dhcp.mode = proxy</c>): PXE clients' DISCOVERs get an OFFER without an address, their port-4011
/// boot-server REQUESTs an ACK with the boot file; nothing else is ever answered and no lease is ever asked for.
/// </summary>
public sealed class ProxyDhcpHandlerTests
{
    private static readonly IPEndPoint BroadcastToClients = new(IPAddress.Broadcast, 68);

    private static HandlerFixture Proxy() => new(o => o with { Mode = DhcpMode.Proxy });

    private static Task<DhcpReplyPlan?> HandleOnBootServerPort(HandlerFixture f, DhcpPacket request, IPEndPoint source) =>
        f.Handler.HandleAsync(request, new DhcpReceiveContext(EdgeAddress, source, Relayed: false, BootServerPort: true), CancellationToken.None);

    /// <summary>Option 43 as written: sub-options then End.</summary>
    private static byte[]? VendorOptions(DhcpPacket packet) =>
        packet.Options.TryGet(DhcpOptionCode.VendorSpecificInformation, out var value) ? value.ToArray() : null;

    [Fact]
    public async Task Proxy_discover_from_ipxe_bios_gets_an_offer_without_an_address_naming_its_boot_script()
    {
        var f = Proxy();

        var plan = await f.Handle(Parse(DhcpGoldenPackets.IpxeBiosDiscover));

        var offer = Wire(plan!);
        Assert.Equal(DhcpMessageType.Offer, offer.MessageType);
        Assert.Equal(0x4f7aac67u, offer.TransactionId);
        Assert.Equal(IPv4Address.Any, offer.YourAddress);
        Assert.Equal(EdgeAddress, offer.Options.ServerIdentifier);
        Assert.Equal("PXEClient", offer.Options.VendorClassIdentifier);
        Assert.Equal(EdgeAddress, offer.ServerAddress);
        Assert.Equal("http://10.0.0.2:8080/boot/52:54:00:dc:00:11.ipxe", offer.Options.BootfileName);
        Assert.Equal(offer.Options.BootfileName, offer.BootFileName);
        // PXE_DISCOVERY_CONTROL = 8: boot this file, no boot-server discovery.
        Assert.Equal([6, 1, 8, 255], VendorOptions(offer));
        // A proxy offer carries no lease and must not tell iPXE to skip proxyDHCP.
        Assert.Null(offer.Options.LeaseTimeSeconds);
        Assert.Null(offer.Options.SubnetMask);
        Assert.Null(offer.Options.Routers);
        Assert.False(offer.Options.Contains(DhcpOptionCode.IpxeEncapsulated));
        Assert.True(offer.Broadcast);
        Assert.Equal(BroadcastToClients, plan!.Destination);
        // No lease asked for; the machine recorded its boot (no lease) through its actor before the OFFER.
        Assert.Empty(f.Leases.Calls);
        Assert.Empty(f.Machines.Previews);
        var boot = Assert.IsType<MachineCommands.RequestBoot>(Assert.Single(f.Machines.Commands).Command);
        Assert.Equal((0, true, (string?)null, (string?)null), (boot.Architecture, boot.FirmwareIsIpxe, boot.Address, boot.Subnet));
        Assert.Equal(new BootPath(BootPath.Proxied, null, BootPath.Ipxe), boot.Path);
    }

    [Fact]
    public async Task Proxy_discover_from_edk2_gets_ipxe_efi_over_tftp_and_no_option_43_so_it_asks_port_4011()
    {
        var f = Proxy();
        var discover = Parse(DhcpGoldenPackets.Edk2PxeDiscover);

        var offer = Wire((await f.Handle(discover))!);

        Assert.Equal(DhcpMessageType.Offer, offer.MessageType);
        Assert.Equal(IPv4Address.Any, offer.YourAddress);
        Assert.Equal("PXEClient", offer.Options.VendorClassIdentifier);
        Assert.Equal(EdgeAddress, offer.Options.ServerIdentifier);
        Assert.Equal("ipxe.efi", offer.Options.BootfileName);
        Assert.Equal("ipxe.efi", offer.BootFileName);
        Assert.Equal(EdgeAddress, offer.ServerAddress);
        Assert.Equal("10.0.0.2", offer.Options.TftpServerName);
        Assert.Null(VendorOptions(offer));
        Assert.Equal(discover.Options.Get(DhcpOptionCode.ClientMachineIdentifier)?.ToArray(), offer.Options.Get(DhcpOptionCode.ClientMachineIdentifier)?.ToArray());
        Assert.Empty(f.Leases.Calls);
        Assert.Equal((7, false), ((MachineCommands.RequestBoot)Assert.Single(f.Machines.Commands).Command) is var b ? (b.Architecture, b.FirmwareIsIpxe) : default);
    }

    [Fact]
    public async Task Boot_server_request_on_port_4011_gets_an_ack_with_the_boot_file_sent_back_where_it_came_from()
    {
        var f = Proxy();
        var discover = Parse(DhcpGoldenPackets.Edk2PxeDiscover);
        var request = RequestFrom(discover, serverId: null, requested: null, ciaddr: IPv4Address.Parse("10.0.0.57"));
        // PXE_BOOT_ITEM (71): type 0, layer 0, then End.
        request.Options.Set(DhcpOptionCode.VendorSpecificInformation, [71, 4, 0, 0, 0, 0, 255]);
        var source = new IPEndPoint(IPAddress.Parse("10.0.0.57"), 4011);

        var plan = await HandleOnBootServerPort(f, request, source);

        var ack = Wire(plan!);
        Assert.Equal(DhcpMessageType.Ack, ack.MessageType);
        Assert.Equal(request.TransactionId, ack.TransactionId);
        Assert.Equal(IPv4Address.Parse("10.0.0.57"), ack.ClientAddress);
        Assert.Equal(IPv4Address.Any, ack.YourAddress);
        Assert.Equal(EdgeAddress, ack.Options.ServerIdentifier);
        Assert.Equal("PXEClient", ack.Options.VendorClassIdentifier);
        Assert.Equal("ipxe.efi", ack.Options.BootfileName);
        Assert.Equal("ipxe.efi", ack.BootFileName);
        Assert.Equal(EdgeAddress, ack.ServerAddress);
        Assert.Equal([71, 4, 0, 0, 0, 0, 255], VendorOptions(ack));
        Assert.Null(ack.Options.LeaseTimeSeconds);
        Assert.Equal(source, plan!.Destination);
        Assert.Empty(f.Leases.Calls);
        var boot = Assert.IsType<MachineCommands.RequestBoot>(Assert.Single(f.Machines.Commands).Command);
        Assert.Equal(new BootPath(BootPath.Proxied, null, BootPath.Pxe), boot.Path);
    }

    [Fact]
    public async Task Boot_server_port_answers_no_discover_and_no_request_without_a_client_address()
    {
        var f = Proxy();
        var discover = Parse(DhcpGoldenPackets.Edk2PxeDiscover);
        var source = new IPEndPoint(IPAddress.Parse("10.0.0.57"), 68);

        Assert.Null(await HandleOnBootServerPort(f, discover, source));
        Assert.Null(await HandleOnBootServerPort(f, RequestFrom(discover, null, null), source));
        Assert.Empty(f.Machines.Commands);
    }

    [Fact]
    public async Task Non_pxe_client_gets_nothing_in_proxy_mode_whatever_non_pxe_clients_says()
    {
        var f = new HandlerFixture(o => o with { Mode = DhcpMode.Proxy, NonPxeClients = NonPxeClientPolicy.PlainDhcp });
        var discover = Parse(DhcpGoldenPackets.UdhcpcDiscover);

        Assert.Null(await f.Handle(discover));
        Assert.Null(await f.Handle(RequestFrom(discover, IPv4Address.Parse("10.0.0.1"), IPv4Address.Parse("10.0.0.50"))));
        Assert.Null(await HandleOnBootServerPort(f, RequestFrom(discover, null, null, IPv4Address.Parse("10.0.0.50")), new IPEndPoint(IPAddress.Parse("10.0.0.50"), 68)));
        Assert.Empty(f.Leases.Calls);
        Assert.Empty(f.Machines.Commands);
        Assert.Empty(f.Machines.Previews);
    }

    [Fact]
    public async Task Pxe_clients_request_on_port_67_gets_nothing_not_even_a_nak()
    {
        var f = Proxy();
        var discover = Parse(DhcpGoldenPackets.Edk2PxeDiscover);

        // SELECTING the site server's offer, INIT-REBOOT for an address off our network (a NAK in server mode), RENEWING.
        Assert.Null(await f.Handle(RequestFrom(discover, IPv4Address.Parse("10.0.0.3"), IPv4Address.Parse("10.0.0.57"))));
        Assert.Null(await f.Handle(RequestFrom(discover, null, IPv4Address.Parse("192.168.9.9"))));
        Assert.Null(await f.Handle(RequestFrom(discover, null, null, IPv4Address.Parse("10.0.0.57"))));
        var release = RequestFrom(discover, null, null, IPv4Address.Parse("10.0.0.57"));
        release.MessageType = DhcpMessageType.Release;
        Assert.Null(await f.Handle(release));
        Assert.Empty(f.Leases.Calls);
        Assert.Empty(f.Machines.Commands);
    }

    [Fact]
    public async Task Installed_machines_pxe_firmware_gets_no_proxy_offer_after_the_machine_recorded_the_boot()
    {
        var f = Proxy();
        var discover = Parse(DhcpGoldenPackets.Edk2PxeDiscover);
        f.Machines.Boot[MachineId.FromBytes(discover.ClientHardwareAddress).Value] = BootAction.LocalDisk;

        Assert.Null(await f.Handle(discover));

        // The machine's actor was asked (and records Rebooted): the decision goes through it as in server mode.
        Assert.IsType<MachineCommands.RequestBoot>(Assert.Single(f.Machines.Commands).Command);
        Assert.Empty(f.Leases.Calls);
    }

    [Fact]
    public async Task Installed_machines_ipxe_gets_its_boot_script_which_boots_the_local_disk()
    {
        var f = Proxy();
        var discover = Parse(DhcpGoldenPackets.IpxeBiosDiscover);
        f.Machines.Boot[MachineId.FromBytes(discover.ClientHardwareAddress).Value] = BootAction.LocalDisk;

        var offer = Wire((await f.Handle(discover))!);

        Assert.Equal("http://10.0.0.2:8080/boot/52:54:00:dc:00:11.ipxe", offer.Options.BootfileName);
    }

    [Fact]
    public async Task Retransmitted_proxy_discover_gets_the_same_offer_without_asking_the_machine_again()
    {
        var f = Proxy();
        var discover = Parse(DhcpGoldenPackets.IpxeBiosDiscover);

        var first = Wire((await f.Handle(discover))!);
        var again = Wire((await f.Handle(Parse(DhcpGoldenPackets.IpxeBiosDiscover)))!);

        Assert.Equal(first.ToArray(), again.ToArray());
        Assert.Single(f.Machines.Commands);
    }

    [Fact]
    public async Task New_machines_over_the_proxy_rate_are_dropped_counted_and_logged_once_while_known_ones_pass()
    {
        // 1 new machine a second, a burst of 5.
        var f = new HandlerFixture(o => o with { Mode = DhcpMode.Proxy, ProxyNewMachinesPerSecond = 1 });
        DhcpPacket Discover(int n)
        {
            var discover = Parse(DhcpGoldenPackets.IpxeBiosDiscover);
            discover.TransactionId = 0x1000u + (uint)n;
            discover.SetClientHardwareAddress([0x02, 0x00, 0x00, 0x00, 0x01, (byte)n]);
            f.Machines.SurelyNew.Add($"02:00:00:00:01:{n:x2}");
            return discover;
        }

        var answered = 0;
        for (var n = 0; n < 8; n++)
        {
            answered += await f.Handle(Discover(n)) is null ? 0 : 1;
        }

        Assert.Equal(5, answered);
        Assert.Equal(3, f.Handler.ProxyNewMachinesRefused);
        Assert.Equal(5, f.Machines.Commands.Count);
        var line = Assert.Single(f.Log.Entries, e => e.Message.Contains("more new machines than 1/s", StringComparison.Ordinal));
        Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Warning, line.Level);

        // A machine already in the journal is never held back by the rate.
        Assert.NotNull(await f.Handle(Parse(DhcpGoldenPackets.IpxeBiosDiscover)));

        // Two seconds later two more new machines get through.
        f.Clock.Advance(TimeSpan.FromSeconds(2));
        Assert.NotNull(await f.Handle(Discover(20)));
        Assert.NotNull(await f.Handle(Discover(21)));
        Assert.Null(await f.Handle(Discover(22)));
        Assert.Equal(4, f.Handler.ProxyNewMachinesRefused);
    }
}
