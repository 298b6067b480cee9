using Provisioner.Protocols.Tests.Dhcp;
using System.Collections.Frozen;
using System.Net;
using Provisioner.Domain.Leases;
using Provisioner.Domain.Machines;
using Provisioner.Domain.Boot;
using Provisioner.Edge.Dhcp;
using Provisioner.Protocols.Dhcp;
using static Provisioner.Edge.Tests.Dhcp.HandlerFixture;

namespace Provisioner.Edge.Tests.Dhcp;

public sealed class DhcpHandlerTests
{
    private static readonly IPEndPoint BroadcastToClients = new(IPAddress.Broadcast, 68);

    [Fact]
    public async Task Ipxe_bios_discover_gets_an_offer_with_its_boot_script_url_and_no_pxedhcp()
    {
        var f = new HandlerFixture();

        var plan = await f.Handle(Parse(DhcpGoldenPackets.IpxeBiosDiscover));

        var offer = Wire(plan!);
        Assert.Equal(DhcpMessageType.Offer, offer.MessageType);
        Assert.Equal(0x4f7aac67u, offer.TransactionId);
        Assert.Equal(IPv4Address.Parse("10.0.0.10"), offer.YourAddress);
        Assert.Equal("http://10.0.0.2:8080/boot/52:54:00:dc:00:11.ipxe", offer.Options.BootfileName);
        Assert.True(offer.Options.IpxeNoPxeDhcp);
        Assert.Equal(EdgeAddress, offer.Options.ServerIdentifier);
        Assert.Equal(3600u, offer.Options.LeaseTimeSeconds);
        Assert.Equal(1800u, offer.Options.RenewalTimeSeconds);
        Assert.Equal(3150u, offer.Options.RebindingTimeSeconds);
        Assert.Equal(IPv4Address.Parse("255.255.255.0"), offer.Options.SubnetMask);
        Assert.Equal([IPv4Address.Parse("10.0.0.1")], offer.Options.Routers);
        Assert.Equal("lab.example", offer.Options.DomainName);
        // Client id echoed (RFC 6842); no address yet and no broadcast bit: broadcast on the segment.
        Assert.NotNull(offer.Options.ClientIdentifier);
        Assert.Equal(BroadcastToClients, plan!.Destination);
        // An OFFER commits nothing: the machine previews its boot, no command is recorded.
        Assert.Empty(f.Machines.Commands);
        var boot = Assert.Single(f.Machines.Previews).Request;
        Assert.Equal((0, true, (string?)null, (string?)null), (boot.Architecture, boot.FirmwareIsIpxe, boot.Profile, boot.Address));
    }

    [Fact]
    public async Task Discover_from_uefi_x64_edk2_client_gets_ipxe_efi_from_the_edge_over_tftp()
    {
        var f = new HandlerFixture();
        var discover = Parse(DhcpGoldenPackets.Edk2PxeDiscover);
        Assert.Null(discover.Options.ClientIdentifier);

        var plan = await f.Handle(discover);

        var offer = Wire(plan!);
        Assert.Equal(DhcpMessageType.Offer, offer.MessageType);
        Assert.Equal("ipxe.efi", offer.Options.BootfileName);
        Assert.Equal("ipxe.efi", offer.BootFileName);
        Assert.Equal(EdgeAddress, offer.ServerAddress);
        Assert.Equal("10.0.0.2", offer.Options.TftpServerName);
        Assert.True(offer.Options.IpxeNoPxeDhcp);
        Assert.True(offer.Broadcast);
        Assert.Equal(BroadcastToClients, plan!.Destination);
        // Keyed by chaddr: EDK2 sends no option 61.
        Assert.Equal("52:54:00:dc:00:12", Assert.Single(f.Leases.Calls).Command.Mac);
        Assert.Empty(f.Machines.Commands);
        var boot = Assert.Single(f.Machines.Previews).Request;
        Assert.Equal((7, false), (boot.Architecture, boot.FirmwareIsIpxe));
    }

    [Theory]
    [InlineData(0, null, "undionly.kpxe")]
    [InlineData(6, null, null)]
    [InlineData(6, "ipxe-i386.efi", "ipxe-i386.efi")]
    [InlineData(7, null, "ipxe.efi")]
    [InlineData(9, null, "ipxe.efi")]
    [InlineData(11, null, null)]
    [InlineData(11, "ipxe-arm64.efi", "ipxe-arm64.efi")]
    [InlineData(16, null, "http://10.0.0.2:8080/nbp/ipxe.efi")]
    public async Task Pxe_client_gets_the_network_boot_program_for_its_architecture(int architecture, string? configured, string? expected)
    {
        var f = new HandlerFixture(o => o with { BootFiles = BootFileTable.Default with { X86Uefi = architecture == 6 ? configured : null, Arm64Uefi = architecture == 11 ? configured : null } });
        var discover = Parse(DhcpGoldenPackets.Edk2PxeDiscover);
        discover.Options.ClientSystemArchitectures = [(ClientArchitecture)architecture];

        var offer = Wire((await f.Handle(discover))!);

        Assert.Equal(DhcpMessageType.Offer, offer.MessageType);
        Assert.Equal(expected, offer.Options.BootfileName);
        Assert.Equal(expected is null ? IPv4Address.Any : EdgeAddress, offer.ServerAddress);
    }

    /// <summary>EDK2's HTTP boot DHCPDISCOVER (golden capture, arch 16), with option 60 and 93 set to another architecture.</summary>
    private static DhcpPacket HttpBootDiscover(int architecture)
    {
        var discover = Parse(DhcpGoldenPackets.Edk2HttpDiscover);
        discover.Options.VendorClassIdentifier = $"HTTPClient:Arch:{architecture:00000}:UNDI:003000";
        discover.Options.ClientSystemArchitectures = [(ClientArchitecture)architecture];
        return discover;
    }

    [Fact]
    public async Task Uefi_http_boot_x64_discover_and_request_get_the_ipxe_efi_url_and_option_60_httpclient()
    {
        var f = new HandlerFixture();
        var discover = Parse(DhcpGoldenPackets.Edk2HttpDiscover);
        Assert.True(discover.Options.IsHttpClient);
        Assert.False(discover.Options.IsPxeClient);

        var offer = Wire((await f.Handle(discover))!);
        var ack = Wire((await f.Handle(RequestFrom(discover, EdgeAddress, offer.YourAddress)))!);

        foreach (var (reply, type) in new[] { (offer, DhcpMessageType.Offer), (ack, DhcpMessageType.Ack) })
        {
            Assert.Equal(type, reply.MessageType);
            Assert.Equal("HTTPClient", reply.Options.VendorClassIdentifier); // without it EDK2 never REQUESTs
            Assert.Equal("http://10.0.0.2:8080/nbp/ipxe.efi", reply.Options.BootfileName);
            Assert.Equal("http://10.0.0.2:8080/nbp/ipxe.efi", reply.BootFileName);
            Assert.Null(reply.Options.TftpServerName); // nothing comes over TFTP
            Assert.Equal(IPv4Address.Parse("10.0.0.10"), reply.YourAddress);
        }

        var boot = Assert.Single(f.Machines.Previews).Request;
        Assert.Equal((16, false), (boot.Architecture, boot.FirmwareIsIpxe));
        var recorded = Assert.IsType<MachineCommands.RequestBoot>(Assert.Single(f.Machines.Commands).Command);
        Assert.Equal(16, recorded.Architecture);
    }

    [Fact]
    public async Task Uefi_http_boot_arm64_gets_the_arm64_nbp_url_when_one_is_configured_and_else_no_boot_file_and_no_httpclient()
    {
        var served = new HandlerFixture(o => o with { BootFiles = BootFileTable.Default with { Arm64Uefi = "ipxe-arm64.efi" } });
        var unserved = new HandlerFixture();

        var offer = Wire((await served.Handle(HttpBootDiscover(19)))!);
        var bare = Wire((await unserved.Handle(HttpBootDiscover(19)))!);

        Assert.Equal("HTTPClient", offer.Options.VendorClassIdentifier);
        Assert.Equal("http://10.0.0.2:8080/nbp/ipxe-arm64.efi", offer.Options.BootfileName);
        Assert.Equal("http://10.0.0.2:8080/nbp/ipxe-arm64.efi", offer.BootFileName);
        Assert.Equal(DhcpMessageType.Offer, bare.MessageType);
        Assert.Null(bare.Options.BootfileName);
        Assert.Null(bare.Options.VendorClassIdentifier);
        Assert.Equal(string.Empty, bare.BootFileName);
    }

    [Fact]
    public async Task Http_boot_client_without_option_93_is_known_by_the_architecture_in_its_option_60()
    {
        var f = new HandlerFixture();
        var discover = HttpBootDiscover(16);
        discover.Options.Remove(DhcpOptionCode.ClientSystemArchitecture);

        var offer = Wire((await f.Handle(discover))!);

        Assert.Equal("http://10.0.0.2:8080/nbp/ipxe.efi", offer.Options.BootfileName);
        Assert.Equal(16, Assert.Single(f.Machines.Previews).Request.Architecture);
    }

    [Fact]
    public async Task Real_arm64_uefi_discover_gets_the_arm64_boot_file_over_tftp_when_one_is_configured()
    {
        var f = new HandlerFixture(o => o with { BootFiles = BootFileTable.Default with { Arm64Uefi = "arm64/ipxe.efi" } });

        var plan = await f.Handle(Parse(DhcpGoldenPackets.AavmfPxeDiscover));

        var offer = Wire(plan!);
        Assert.Equal(DhcpMessageType.Offer, offer.MessageType);
        Assert.Equal("arm64/ipxe.efi", offer.Options.BootfileName);
        Assert.Equal("arm64/ipxe.efi", offer.BootFileName);
        Assert.Equal(EdgeAddress, offer.ServerAddress);
        Assert.Equal("52:54:00:dc:00:14", Assert.Single(f.Leases.Calls).Command.Mac);
        var boot = Assert.Single(f.Machines.Previews).Request;
        Assert.Equal((11, false), (boot.Architecture, boot.FirmwareIsIpxe));
    }

    [Fact]
    public async Task Real_arm64_uefi_discovers_with_nothing_configured_get_an_address_no_boot_file_and_one_log_line()
    {
        var f = new HandlerFixture();

        // The firmware's own retransmissions (same xid) and two more machines of the rack (new xids and MACs).
        var offers = new List<DhcpPacket>();
        for (var i = 0; i < 6; i++)
        {
            var discover = Parse(DhcpGoldenPackets.AavmfPxeDiscover);
            if (i >= 4)
            {
                discover.TransactionId += (uint)i;
                discover.SetClientHardwareAddress([0x52, 0x54, 0x00, 0xdc, 0x00, (byte)(0x20 + i)]);
            }

            offers.Add(Wire((await f.Handle(discover))!));
        }

        Assert.All(offers, offer =>
        {
            Assert.Equal(DhcpMessageType.Offer, offer.MessageType);
            Assert.StartsWith("10.0.0.", offer.YourAddress.ToString(), StringComparison.Ordinal);
            Assert.Null(offer.Options.BootfileName);
            Assert.Equal(string.Empty, offer.BootFileName);
            Assert.Equal(IPv4Address.Any, offer.ServerAddress);
        });
        var line = Assert.Single(f.Log.Entries, e => e.Message.Contains("no boot file configured", StringComparison.Ordinal));
        Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Warning, line.Level);
        Assert.Contains("52:54:00:dc:00:14", line.Message, StringComparison.Ordinal);
        Assert.Contains("11", line.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(10, "ipxe-arm32.efi")]
    [InlineData(7, "snponly.efi")]
    [InlineData(0, null)]
    public async Task Pxe_client_gets_the_boot_file_configured_for_its_architecture_number(int architecture, string? expected)
    {
        var byArch = new Dictionary<int, string?> { [10] = "ipxe-arm32.efi", [7] = "snponly.efi", [0] = null };
        var f = new HandlerFixture(o => o with { BootFiles = BootFileTable.Default with { ByArchitecture = byArch.ToFrozenDictionary() } });
        var discover = Parse(DhcpGoldenPackets.Edk2PxeDiscover);
        discover.Options.ClientSystemArchitectures = [(ClientArchitecture)architecture];

        var offer = Wire((await f.Handle(discover))!);

        Assert.Equal(DhcpMessageType.Offer, offer.MessageType);
        Assert.Equal(expected, offer.Options.BootfileName);
    }

    [Fact]
    public async Task Reply_names_what_the_boot_policy_says_and_nothing_of_its_own()
    {
        var f = new HandlerFixture();
        f.Policy.DhcpAnswer = new DhcpBootFile(DhcpBootKind.Nbp, "site/custom.efi");

        var offer = Wire((await f.Handle(Parse(DhcpGoldenPackets.Edk2PxeDiscover)))!);

        Assert.Equal("site/custom.efi", offer.Options.BootfileName);
        Assert.Equal("site/custom.efi", offer.BootFileName);
        Assert.Equal(EdgeAddress, offer.ServerAddress);
    }

    [Fact]
    public async Task Boot_policy_naming_nothing_leaves_the_reply_without_a_boot_file()
    {
        var f = new HandlerFixture();
        f.Policy.DhcpAnswer = new DhcpBootFile(DhcpBootKind.NoNbpForArchitecture, null);

        var offer = Wire((await f.Handle(Parse(DhcpGoldenPackets.Edk2PxeDiscover)))!);

        Assert.Equal(DhcpMessageType.Offer, offer.MessageType);
        Assert.Null(offer.Options.BootfileName);
        Assert.Equal(IPv4Address.Any, offer.ServerAddress);
    }

    [Fact]
    public async Task Plain_pxe_bios_rom_without_ipxe_user_class_gets_undionly_kpxe()
    {
        var f = new HandlerFixture();
        var discover = Parse(DhcpGoldenPackets.IpxeBiosDiscover);
        discover.Options.Remove(DhcpOptionCode.UserClass);

        var offer = Wire((await f.Handle(discover))!);

        Assert.Equal("undionly.kpxe", offer.Options.BootfileName);
    }

    [Fact]
    public async Task Installed_machine_gets_its_script_under_ipxe_and_no_boot_file_under_plain_pxe()
    {
        var f = new HandlerFixture();
        f.Machines.Boot["52:54:00:dc:00:11"] = BootAction.LocalDisk;
        f.Machines.Boot["52:54:00:dc:00:12"] = BootAction.LocalDisk;

        var ipxe = Wire((await f.Handle(Parse(DhcpGoldenPackets.IpxeBiosDiscover)))!);
        var pxe = Wire((await f.Handle(Parse(DhcpGoldenPackets.Edk2PxeDiscover)))!);

        Assert.Equal("http://10.0.0.2:8080/boot/52:54:00:dc:00:11.ipxe", ipxe.Options.BootfileName);
        Assert.Equal(DhcpMessageType.Offer, pxe.MessageType);
        Assert.Null(pxe.Options.BootfileName);
        Assert.Equal(IPv4Address.Any, pxe.ServerAddress);
    }

    [Fact]
    public async Task Machine_that_gets_no_boot_is_met_with_silence()
    {
        var f = new HandlerFixture();
        f.Machines.Boot["52:54:00:dc:00:12"] = BootAction.None;

        Assert.Null(await f.Handle(Parse(DhcpGoldenPackets.Edk2PxeDiscover)));
        // The offer was held (in memory only, it lapses) before the machine said to stay silent.
        Assert.IsType<LeaseCommands.Offer>(Assert.Single(f.Leases.Calls).Command);
    }

    [Fact]
    public async Task Installed_machine_pxe_booting_again_records_it_on_the_discover_since_no_request_follows()
    {
        var f = new HandlerFixture();
        f.Machines.Boot["52:54:00:dc:00:12"] = BootAction.LocalDisk;

        var offer = Wire((await f.Handle(Parse(DhcpGoldenPackets.Edk2PxeDiscover)))!);

        // No boot file: EDK2 ignores the offer and falls through to its disk, so it never sends a REQUEST.
        Assert.Null(offer.Options.BootfileName);
        var recorded = Assert.IsType<MachineCommands.RequestBoot>(Assert.Single(f.Machines.Commands).Command);
        Assert.Null(recorded.Address);
    }

    [Fact]
    public async Task Discover_that_cannot_be_offered_an_address_never_asks_the_machine()
    {
        var f = new HandlerFixture(o => o with { Subnets = [Local with { PoolStart = IPv4Address.Parse("10.0.0.10"), PoolEnd = IPv4Address.Parse("10.0.0.10") }] });
        var first = Parse(DhcpGoldenPackets.Edk2PxeDiscover);
        Assert.NotNull(await f.Handle(first));
        var second = Parse(DhcpGoldenPackets.Edk2PxeDiscover);
        second.SetClientHardwareAddress([0x52, 0x54, 0x00, 0xdc, 0x00, 0x13]);

        Assert.Null(await f.Handle(second));

        Assert.Equal(["52:54:00:dc:00:12"], f.Machines.Previews.Select(p => p.Mac));
    }

    [Fact]
    public async Task Udhcpc_gets_a_plain_offer_without_boot_options_and_the_machine_is_not_asked()
    {
        var f = new HandlerFixture();

        var offer = Wire((await f.Handle(Parse(DhcpGoldenPackets.UdhcpcDiscover)))!);

        Assert.Equal(DhcpMessageType.Offer, offer.MessageType);
        Assert.Equal(IPv4Address.Parse("10.0.0.10"), offer.YourAddress);
        Assert.Null(offer.Options.BootfileName);
        Assert.Null(offer.Options.IpxeEncapsulatedOptions);
        Assert.Equal(IPv4Address.Any, offer.ServerAddress);
        Assert.Empty(f.Machines.Commands);
    }

    [Fact]
    public async Task Udhcpc_is_met_with_silence_when_non_pxe_clients_are_ignored()
    {
        var f = new HandlerFixture(o => o with { NonPxeClients = NonPxeClientPolicy.Ignore });

        Assert.Null(await f.Handle(Parse(DhcpGoldenPackets.UdhcpcDiscover)));
        Assert.NotNull(await f.Handle(Parse(DhcpGoldenPackets.Edk2PxeDiscover)));
    }

    [Fact]
    public async Task Relayed_discover_is_served_from_the_giaddr_subnet_echoes_option_82_and_goes_back_to_the_relay_agent()
    {
        var f = new HandlerFixture();
        var discover = Parse(DhcpGoldenPackets.UdhcpcDiscover);
        discover.RelayAgentAddress = IPv4Address.Parse("10.20.0.1");
        discover.Hops = 1;
        discover.Options.SetRelayAgentInformation("eth7"u8, "sw-3"u8, null);

        var plan = await f.Handle(discover);

        var offer = Wire(plan!);
        Assert.Equal(IPv4Address.Parse("10.20.0.10"), offer.YourAddress);
        Assert.Equal(IPv4Address.Parse("10.20.0.1"), offer.RelayAgentAddress);
        Assert.Equal(0, offer.Hops);
        Assert.Equal("eth7"u8.ToArray(), offer.Options.RelayAgentCircuitId!.Value.ToArray());
        Assert.Equal("sw-3"u8.ToArray(), offer.Options.RelayAgentRemoteId!.Value.ToArray());
        Assert.Equal(new IPEndPoint(IPAddress.Parse("10.20.0.1"), 67), plan!.Destination);
        Assert.Equal("remote", Assert.Single(f.Leases.Calls).Subnet);
    }

    [Fact]
    public async Task Link_selection_and_subnet_selection_take_precedence_over_giaddr()
    {
        var f = new HandlerFixture();
        var byLink = Parse(DhcpGoldenPackets.UdhcpcDiscover);
        byLink.RelayAgentAddress = IPv4Address.Parse("192.0.2.1");
        byLink.Options.SetRelayAgentInformation([], [], IPv4Address.Parse("10.20.0.0"));
        var bySelection = Parse(DhcpGoldenPackets.UdhcpcDiscover);
        bySelection.RelayAgentAddress = IPv4Address.Parse("10.20.0.1");
        bySelection.Options.SubnetSelection = IPv4Address.Parse("10.0.0.0");

        var link = Wire((await f.Handle(byLink))!);
        var selection = Wire((await f.Handle(bySelection))!);

        Assert.Equal(IPv4Address.Parse("10.20.0.10"), link.YourAddress);
        Assert.Equal(IPv4Address.Parse("10.0.0.10"), selection.YourAddress);
        Assert.Equal(IPv4Address.Parse("10.0.0.0"), selection.Options.SubnetSelection);
    }

    [Fact]
    public async Task Relayed_request_from_an_unknown_network_is_met_with_silence()
    {
        var f = new HandlerFixture();
        var discover = Parse(DhcpGoldenPackets.UdhcpcDiscover);
        discover.RelayAgentAddress = IPv4Address.Parse("192.0.2.1");

        Assert.Null(await f.Handle(discover));
        Assert.Empty(f.Leases.Calls);
    }

    [Fact]
    public async Task Request_selecting_our_offer_is_acked_and_the_boot_and_lease_recorded_on_the_machine_in_one_command()
    {
        var f = new HandlerFixture();
        var discover = Parse(DhcpGoldenPackets.Edk2PxeDiscover);
        var offer = Wire((await f.Handle(discover))!);

        var plan = await f.Handle(RequestFrom(discover, EdgeAddress, offer.YourAddress));

        var ack = Wire(plan!);
        Assert.Equal(DhcpMessageType.Ack, ack.MessageType);
        Assert.Equal(offer.YourAddress, ack.YourAddress);
        Assert.Equal("ipxe.efi", ack.Options.BootfileName);
        Assert.Equal(3600u, ack.Options.LeaseTimeSeconds);
        Assert.Equal(BroadcastToClients, plan!.Destination);
        var recorded = Assert.IsType<MachineCommands.RequestBoot>(Assert.Single(f.Machines.Commands).Command);
        Assert.Equal(("10.0.0.10", "local", 7), (recorded.Address, recorded.Subnet, recorded.Architecture));
    }

    [Fact]
    public async Task New_machine_dora_never_asks_the_machine_and_its_first_boot_rides_on_the_acked_lease()
    {
        var f = new HandlerFixture();
        var discover = Parse(DhcpGoldenPackets.Edk2PxeDiscover);
        f.Machines.SurelyNew.Add("52:54:00:dc:00:12");

        var offer = Wire((await f.Handle(discover))!);
        var plan = await f.Handle(RequestFrom(discover, EdgeAddress, offer.YourAddress));

        // The same answers as through the machine: the empty state's rule (a new UEFI x64 machine gets its NBP).
        Assert.Equal((DhcpMessageType.Offer, "ipxe.efi"), (offer.MessageType, offer.Options.BootfileName));
        var ack = Wire(plan!);
        Assert.Equal((DhcpMessageType.Ack, "ipxe.efi"), (ack.MessageType, ack.Options.BootfileName));
        Assert.Equal(offer.YourAddress, ack.YourAddress);
        // No machine actor asked, neither to preview nor to record: the lease carries the first boot.
        Assert.Empty(f.Machines.Previews);
        Assert.Empty(f.Machines.Commands);
        var (subnet, mac, boot) = Assert.Single(f.Leases.FirstBoots);
        Assert.Equal(("local", "52:54:00:dc:00:12"), (subnet, mac));
        Assert.Equal((7, false, "10.0.0.10", "local", T0), (boot.Architecture, boot.FirmwareIsIpxe, boot.Address, boot.Subnet, boot.At));
        Assert.Equal(ack.YourAddress, f.Leases.Table("local").ActiveLeaseOf(mac, T0)?.Address);
    }

    [Fact]
    public async Task New_machine_renewing_or_a_known_machine_takes_the_ordinary_path_through_its_actor()
    {
        var f = new HandlerFixture();
        var known = Parse(DhcpGoldenPackets.IpxeBiosDiscover);
        var offer = Wire((await f.Handle(known))!);
        await f.Handle(RequestFrom(known, EdgeAddress, offer.YourAddress));
        Assert.Empty(f.Leases.FirstBoots);
        Assert.Single(f.Machines.Previews);
        Assert.IsType<MachineCommands.RequestBoot>(Assert.Single(f.Machines.Commands).Command);

        // A machine the node calls new but that renews (ciaddr set) is not a first boot: the machine decides.
        f.Machines.SurelyNew.Add("52:54:00:dc:00:11");
        var renew = await f.Handle(RequestFrom(known, null, null, ciaddr: offer.YourAddress));
        Assert.Equal(DhcpMessageType.Ack, Wire(renew!).MessageType);
        Assert.Empty(f.Leases.FirstBoots);
        Assert.Equal(2, f.Machines.Commands.Count);
    }

    [Fact]
    public async Task A_retransmitted_request_gets_the_same_ack_and_records_nothing_again_even_after_the_install_moved_on()
    {
        var f = new HandlerFixture();
        var discover = Parse(DhcpGoldenPackets.IpxeBiosDiscover);
        var offer = Wire((await f.Handle(discover))!);
        var request = RequestFrom(discover, EdgeAddress, offer.YourAddress);
        var ack = await f.Handle(request);
        Assert.Single(f.Machines.Commands);

        // The machine installs; then a copy of its REQUEST (same xid) comes up, late, from a queue: were it decided
        // again, an installed machine's boot request would record a reboot.
        f.Machines.Boot["52:54:00:dc:00:11"] = BootAction.LocalDisk;
        f.Clock.Advance(TimeSpan.FromSeconds(20));
        var copy = await f.Handle(request);
        var discoverCopy = await f.Handle(discover);

        // The same datagram to the same place (the memory holds what was sent, and parses it again for a copy).
        Assert.Equal(ack!.Packet.ToArray(), copy!.Packet.ToArray());
        Assert.Equal(ack.Destination, copy.Destination);
        Assert.Equal(offer.YourAddress, Wire(discoverCopy!).YourAddress);
        Assert.Single(f.Machines.Commands);
        Assert.Single(f.Machines.Previews);
        Assert.Equal(2, f.Handler.RepliesReplayed);

        // The machine's next boot is a new exchange (a new xid): its actor decides it.
        var next = Parse(DhcpGoldenPackets.IpxeBiosDiscover);
        next.TransactionId ^= 0x5a5a;
        Assert.Equal(BootAction.LocalDisk, f.Machines.Boot["52:54:00:dc:00:11"]);
        await f.Handle(next);
        Assert.Equal(2, f.Machines.Previews.Count);

        // A copy older than any firmware retransmits is decided again.
        f.Clock.Advance(DhcpReplyMemory.Lifetime);
        await f.Handle(request);
        Assert.Equal(2, f.Machines.Commands.Count);
    }

    [Fact]
    public async Task Reply_memory_tells_exchanges_apart_by_what_they_ask_and_forgets_a_mac_that_declines()
    {
        var clock = new ManualClock(HandlerFixture.T0);
        var memory = new DhcpReplyMemory(clock);
        var discover = Parse(DhcpGoldenPackets.IpxeBiosDiscover);
        var mac = MachineId.FromBytes(discover.ClientHardwareAddress);
        var offer = DhcpPacket.CreateReply(discover, DhcpMessageType.Offer);
        var plan = new DhcpReplyPlan(offer, new System.Net.IPEndPoint(System.Net.IPAddress.Broadcast, 68));

        Assert.Same(plan, memory.Remember(mac, discover, "lab", plan));
        Assert.True(memory.TryReplay(mac, discover, "lab", out _));
        Assert.False(memory.TryReplay(mac, discover, "other-subnet", out _));
        var asksAnother = Parse(DhcpGoldenPackets.IpxeBiosDiscover);
        asksAnother.Options.RequestedIPAddress = IPv4Address.Parse("10.0.0.99");
        Assert.False(memory.TryReplay(mac, asksAnother, "lab", out _));

        // Silence and NAKs are not remembered: they are decided again.
        var nak = new DhcpReplyPlan(DhcpPacket.CreateReply(asksAnother, DhcpMessageType.Nak), plan.Destination);
        memory.Remember(mac, asksAnother, "lab", nak);
        memory.Remember(mac, asksAnother, "lab", null);
        Assert.False(memory.TryReplay(mac, asksAnother, "lab", out _));

        memory.Forget(mac);
        Assert.False(memory.TryReplay(mac, discover, "lab", out _));
        Assert.Equal(1, memory.Replayed);
    }

    [Theory]
    [InlineData("PXEClient:Arch:00007:UNDI:003016", false, BootPath.Pxe)]
    [InlineData("HTTPClient:Arch:00016:UNDI:003001", false, BootPath.HttpBoot)]
    [InlineData("PXEClient:Arch:00000:UNDI:002001", true, BootPath.Ipxe)]
    [InlineData(null, false, BootPath.Pxe)]
    public void Firmware_is_read_from_option_60_and_the_ipxe_user_class(string? vendorClass, bool ipxe, string expected)
    {
        var request = Parse(DhcpGoldenPackets.Edk2PxeDiscover);
        request.Options.VendorClassIdentifier = vendorClass;

        Assert.Equal(expected, DhcpHandler.PathOf(request, ipxe).Firmware);
    }

    [Fact]
    public void The_boot_path_names_each_relay_whichever_came_before_and_the_firmware_from_option_60()
    {
        var request = Parse(DhcpGoldenPackets.Edk2PxeDiscover);
        var relays = new[] { "10.78.5.1", "10.78.6.1", "10.78.5.1", "10.78.5.1", "192.0.2.254" };
        foreach (var relay in relays)
        {
            request.RelayAgentAddress = IPv4Address.Parse(relay);
            Assert.Equal(new BootPath(BootPath.Relayed, relay, BootPath.Pxe), DhcpHandler.PathOf(request, ipxe: false));
        }

        request.RelayAgentAddress = IPv4Address.Any;
        Assert.Equal(new BootPath(BootPath.Local, null, BootPath.Ipxe), DhcpHandler.PathOf(request, ipxe: true));
        request.Options.VendorClassIdentifier = "HTTPClient:Arch:00016:UNDI:003001";
        Assert.Equal(new BootPath(BootPath.Local, null, BootPath.HttpBoot), DhcpHandler.PathOf(request, ipxe: false));
    }

    [Fact]
    public void Reply_memory_is_bounded()
    {
        var clock = new ManualClock(HandlerFixture.T0);
        var memory = new DhcpReplyMemory(clock);
        var discover = Parse(DhcpGoldenPackets.IpxeBiosDiscover);
        var plan = new DhcpReplyPlan(DhcpPacket.CreateReply(discover, DhcpMessageType.Offer), new System.Net.IPEndPoint(System.Net.IPAddress.Broadcast, 68));

        for (var i = 0; i < DhcpReplyMemory.Capacity + 10; i++)
        {
            var mac = MachineId.FromBytes([0x02, 0, (byte)(i >> 24), (byte)(i >> 16), (byte)(i >> 8), (byte)i]);
            memory.Remember(mac, discover, "lab", plan);
            clock.Advance(TimeSpan.FromTicks(1));
        }

        Assert.InRange(memory.Count, 1, DhcpReplyMemory.Capacity);
    }

    [Fact]
    public void Reply_memory_counts_what_it_holds_while_many_threads_remember_and_forget()
    {
        var memory = new DhcpReplyMemory(new ManualClock(HandlerFixture.T0));
        var discover = Parse(DhcpGoldenPackets.IpxeBiosDiscover);
        var plan = new DhcpReplyPlan(DhcpPacket.CreateReply(discover, DhcpMessageType.Offer), new System.Net.IPEndPoint(System.Net.IPAddress.Broadcast, 68));
        static MachineId Mac(int i) => MachineId.FromBytes([0x02, 0, 0, 0, (byte)(i >> 8), (byte)i]);

        // Four threads on the same 1,000 MACs: every add races another thread's add or update of the same MAC.
        Parallel.For(0, 4, _ =>
        {
            for (var i = 0; i < 1_000; i++)
            {
                memory.Remember(Mac(i), discover, "lab", plan);
            }
        });
        Assert.Equal(1_000, memory.Count);

        Parallel.For(0, 4, t =>
        {
            for (var i = 0; i < 1_000; i++)
            {
                memory.Forget(Mac(i));
            }
        });
        Assert.Equal(0, memory.Count);
    }

    [Fact]
    public void Reply_memory_keeps_the_newest_four_exchanges_of_a_mac()
    {
        var memory = new DhcpReplyMemory(new ManualClock(HandlerFixture.T0));
        var mac = MachineId.FromBytes([0x02, 0, 0, 0, 0, 1]);
        var asked = Enumerable.Range(0, 6).Select(i =>
        {
            var discover = Parse(DhcpGoldenPackets.IpxeBiosDiscover);
            discover.TransactionId = (uint)(0x1000 + i);
            return discover;
        }).ToArray();
        foreach (var discover in asked)
        {
            memory.Remember(mac, discover, "lab", new DhcpReplyPlan(DhcpPacket.CreateReply(discover, DhcpMessageType.Offer), new System.Net.IPEndPoint(System.Net.IPAddress.Broadcast, 68)));
        }

        // The same exchange again replaces its answer instead of taking a second place.
        memory.Remember(mac, asked[5], "lab", new DhcpReplyPlan(DhcpPacket.CreateReply(asked[5], DhcpMessageType.Offer), new System.Net.IPEndPoint(System.Net.IPAddress.Broadcast, 68)));

        Assert.Equal([false, false, true, true, true, true], asked.Select(d => memory.TryReplay(mac, d, "lab", out _)));
        Assert.Equal(1, memory.Count);
    }

    [Fact]
    public async Task New_machine_nakked_for_another_machines_address_records_no_first_boot()
    {
        var f = new HandlerFixture();
        var first = Parse(DhcpGoldenPackets.Edk2PxeDiscover);
        var offer = Wire((await f.Handle(first))!);
        await f.Handle(RequestFrom(first, EdgeAddress, offer.YourAddress));
        var thief = Parse(DhcpGoldenPackets.IpxeBiosDiscover);
        f.Machines.SurelyNew.Add("52:54:00:dc:00:11");

        var nak = await f.Handle(RequestFrom(thief, EdgeAddress, offer.YourAddress));

        Assert.Equal(DhcpMessageType.Nak, Wire(nak!).MessageType);
        Assert.Empty(f.Leases.FirstBoots);
    }

    [Fact]
    public async Task Request_for_another_servers_offer_is_met_with_silence()
    {
        var f = new HandlerFixture();
        var discover = Parse(DhcpGoldenPackets.UdhcpcDiscover);
        await f.Handle(discover);
        f.Leases.Calls.Clear();

        Assert.Null(await f.Handle(RequestFrom(discover, IPv4Address.Parse("10.0.0.254"), IPv4Address.Parse("10.0.0.10"))));
        Assert.Empty(f.Leases.Calls);
    }

    [Fact]
    public async Task Init_reboot_request_for_an_address_on_the_wrong_network_is_nakked_by_broadcast()
    {
        var f = new HandlerFixture();

        var plan = await f.Handle(RequestFrom(Parse(DhcpGoldenPackets.UdhcpcDiscover), null, IPv4Address.Parse("192.168.1.50")));

        var nak = Wire(plan!);
        Assert.Equal(DhcpMessageType.Nak, nak.MessageType);
        Assert.Equal(IPv4Address.Any, nak.YourAddress);
        Assert.Equal(EdgeAddress, nak.Options.ServerIdentifier);
        Assert.Null(nak.Options.LeaseTimeSeconds);
        Assert.True(nak.Options.Contains((DhcpOptionCode)56));
        Assert.Equal(BroadcastToClients, plan!.Destination);
    }

    [Fact]
    public async Task Request_for_an_address_leased_to_another_machine_is_nakked()
    {
        var f = new HandlerFixture();
        var other = Parse(DhcpGoldenPackets.Edk2PxeDiscover);
        var otherOffer = Wire((await f.Handle(other))!);
        await f.Handle(RequestFrom(other, EdgeAddress, otherOffer.YourAddress));

        var nak = Wire((await f.Handle(RequestFrom(Parse(DhcpGoldenPackets.UdhcpcDiscover), null, otherOffer.YourAddress)))!);

        Assert.Equal(DhcpMessageType.Nak, nak.MessageType);
        Assert.Contains("leased to another machine", nak.Options.Get((DhcpOptionCode)56) is { } m ? System.Text.Encoding.ASCII.GetString(m.Span) : "");
    }

    [Fact]
    public async Task Renewing_client_is_acked_by_unicast_to_its_address_and_an_unknown_one_is_nakked()
    {
        var f = new HandlerFixture();
        var discover = Parse(DhcpGoldenPackets.UdhcpcDiscover);
        var offer = Wire((await f.Handle(discover))!);
        await f.Handle(RequestFrom(discover, EdgeAddress, offer.YourAddress));
        f.Clock.Advance(TimeSpan.FromMinutes(30));

        var renew = await f.Handle(RequestFrom(discover, null, null, ciaddr: offer.YourAddress));
        var stranger = await f.Handle(RequestFrom(discover, null, null, ciaddr: IPv4Address.Parse("10.0.0.77")));

        var ack = Wire(renew!);
        Assert.Equal(DhcpMessageType.Ack, ack.MessageType);
        Assert.Equal(offer.YourAddress, ack.ClientAddress);
        Assert.Equal(3600u, ack.Options.LeaseTimeSeconds);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("10.0.0.10"), 68), renew!.Destination);
        Assert.Equal(DhcpMessageType.Nak, Wire(stranger!).MessageType);
    }

    [Fact]
    public async Task Release_frees_the_lease_without_a_reply()
    {
        var f = new HandlerFixture();
        var discover = Parse(DhcpGoldenPackets.UdhcpcDiscover);
        var offer = Wire((await f.Handle(discover))!);
        await f.Handle(RequestFrom(discover, EdgeAddress, offer.YourAddress));
        var release = RequestFrom(discover, EdgeAddress, null, ciaddr: offer.YourAddress);
        release.MessageType = DhcpMessageType.Release;

        Assert.Null(await f.Handle(release));
        Assert.Null(f.Leases.Table("local").HolderOf(offer.YourAddress, T0.AddSeconds(1)));
    }

    [Fact]
    public async Task Decline_quarantines_the_address_without_a_reply()
    {
        var f = new HandlerFixture();
        var discover = Parse(DhcpGoldenPackets.UdhcpcDiscover);
        var offer = Wire((await f.Handle(discover))!);
        await f.Handle(RequestFrom(discover, EdgeAddress, offer.YourAddress));
        var decline = RequestFrom(discover, EdgeAddress, offer.YourAddress);
        decline.MessageType = DhcpMessageType.Decline;

        Assert.Null(await f.Handle(decline));
        Assert.True(f.Leases.Table("local").Quarantine.ContainsKey(offer.YourAddress));
        var next = Wire((await f.Handle(Parse(DhcpGoldenPackets.UdhcpcDiscover)))!);
        Assert.NotEqual(offer.YourAddress, next.YourAddress);
    }

    [Fact]
    public async Task Inform_is_acked_with_the_subnet_options_but_no_address_or_lease()
    {
        var f = new HandlerFixture();
        var inform = RequestFrom(Parse(DhcpGoldenPackets.UdhcpcDiscover), null, null, ciaddr: IPv4Address.Parse("10.0.0.200"));
        inform.MessageType = DhcpMessageType.Inform;

        var plan = await f.Handle(inform);

        var ack = Wire(plan!);
        Assert.Equal(DhcpMessageType.Ack, ack.MessageType);
        Assert.Equal(IPv4Address.Any, ack.YourAddress);
        Assert.Null(ack.Options.LeaseTimeSeconds);
        Assert.Equal(IPv4Address.Parse("255.255.255.0"), ack.Options.SubnetMask);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("10.0.0.200"), 68), plan!.Destination);
        Assert.Empty(f.Leases.Calls);
    }

    [Fact]
    public async Task Reserved_machine_gets_its_address_and_hostname()
    {
        var f = new HandlerFixture();
        var discover = Parse(DhcpGoldenPackets.UdhcpcDiscover);
        discover.SetClientHardwareAddress([0x52, 0x54, 0x00, 0xdc, 0x00, 0x99]);

        var offer = Wire((await f.Handle(discover))!);

        Assert.Equal(IPv4Address.Parse("10.0.0.5"), offer.YourAddress);
        Assert.Equal("db1", offer.Options.HostName);
    }

    [Fact]
    public async Task Exhausted_pool_is_met_with_silence()
    {
        var f = new HandlerFixture(o => o with { Subnets = [HandlerFixture.Local with { PoolEnd = IPv4Address.Parse("10.0.0.10") }] });
        await f.Handle(Parse(DhcpGoldenPackets.UdhcpcDiscover));

        Assert.Null(await f.Handle(Parse(DhcpGoldenPackets.Edk2PxeDiscover)));
    }

    [Fact]
    public async Task Bootp_replies_and_non_ethernet_requests_are_ignored()
    {
        var f = new HandlerFixture();
        var reply = Parse(DhcpGoldenPackets.UdhcpcDiscover);
        reply.Op = DhcpOpCode.BootReply;
        var bootp = Parse(DhcpGoldenPackets.UdhcpcDiscover);
        bootp.MessageType = null;
        var infiniband = Parse(DhcpGoldenPackets.UdhcpcDiscover);
        infiniband.HardwareType = 32;

        Assert.Null(await f.Handle(reply));
        Assert.Null(await f.Handle(bootp));
        Assert.Null(await f.Handle(infiniband));
    }

    [Fact]
    public async Task Gateway_failure_propagates_so_the_server_counts_it()
    {
        var f = new HandlerFixture();
        f.Leases.Throw = new TimeoutException("lease actor did not answer");

        await Assert.ThrowsAsync<TimeoutException>(() => f.Handle(Parse(DhcpGoldenPackets.UdhcpcDiscover)));
    }

    [Fact]
    public async Task Second_discover_from_another_mac_gets_another_address_while_the_first_offer_is_held()
    {
        var f = new HandlerFixture();

        var first = Wire((await f.Handle(Parse(DhcpGoldenPackets.UdhcpcDiscover)))!);
        var second = Wire((await f.Handle(Parse(DhcpGoldenPackets.Edk2PxeDiscover)))!);
        var firstAgain = Wire((await f.Handle(Parse(DhcpGoldenPackets.UdhcpcDiscover)))!);

        Assert.NotEqual(first.YourAddress, second.YourAddress);
        Assert.Equal(first.YourAddress, firstAgain.YourAddress);
    }
}
