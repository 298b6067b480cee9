using Provisioner.Protocols.Dhcp;
using static Provisioner.Protocols.Tests.Dhcp.DhcpGoldenPackets;

namespace Provisioner.Protocols.Tests.Dhcp;

/// <summary>What real clients and servers put on the wire, and that we read it as they meant it.</summary>
public sealed class DhcpGoldenTests
{
    private static readonly Guid QemuUuid = Guid.Parse("01234567-89ab-cdef-0123-456789abcdef");

    private static DhcpPacket Parse(byte[] bytes)
    {
        Assert.True(DhcpPacket.TryParse(bytes, out var packet, out var error), error.ToString());
        return packet;
    }

    private static IPv4Address Ip(string text) => IPv4Address.Parse(text);

    private static byte[] Mac(byte last) => new byte[] { 0x52, 0x54, 0x00, 0xdc, 0x00, last };

    public static TheoryData<string, string, int> EmbeddedPackets() => new()
    {
        { nameof(UdhcpcDiscover), "dhcp-udhcpc-kea.pcap", 0 },
        { nameof(KeaOfferToUdhcpc), "dhcp-udhcpc-kea.pcap", 1 },
        { nameof(DhclientDiscover), "dhcp-dhclient-kea.pcap", 0 },
        { nameof(IpxeBiosDiscover), "dhcp-ipxe-bios-slirp.pcap", 0 },
        { nameof(SlirpOffer), "dhcp-ipxe-bios-slirp.pcap", 1 },
        { nameof(Edk2PxeDiscover), "dhcp-edk2-pxe-slirp.pcap", 0 },
        { nameof(Edk2HttpDiscover), "dhcp-edk2-pxe-slirp.pcap", 4 },
        { nameof(IpxeEfiDiscover), "dhcp-ovmf-ipxe-efi-slirp.pcap", 0 },
        { nameof(AavmfPxeDiscover), "dhcp-aavmf-pxe-slirp.pcap", 0 },
        { nameof(AavmfHttpDiscover), "dhcp-aavmf-pxe-slirp.pcap", 4 },
    };

    private static byte[] Embedded(string name) => name switch
    {
        nameof(UdhcpcDiscover) => UdhcpcDiscover,
        nameof(KeaOfferToUdhcpc) => KeaOfferToUdhcpc,
        nameof(DhclientDiscover) => DhclientDiscover,
        nameof(IpxeBiosDiscover) => IpxeBiosDiscover,
        nameof(SlirpOffer) => SlirpOffer,
        nameof(Edk2PxeDiscover) => Edk2PxeDiscover,
        nameof(Edk2HttpDiscover) => Edk2HttpDiscover,
        nameof(IpxeEfiDiscover) => IpxeEfiDiscover,
        nameof(AavmfPxeDiscover) => AavmfPxeDiscover,
        nameof(AavmfHttpDiscover) => AavmfHttpDiscover,
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    [Theory]
    [MemberData(nameof(EmbeddedPackets))]
    public void Embedded_bytes_are_the_captured_bytes(string name, string pcap, int index)
    {
        var captured = Pcap.ReadUdp(Path.Combine(DhcpTestPackets.GoldenDirectory, pcap));

        Assert.Equal(DhcpAssert.Hex(captured[index].Payload), DhcpAssert.Hex(Embedded(name)));
    }

    [Fact]
    public void Every_packet_of_every_capture_parses_and_carries_a_message_type()
    {
        var packets = DhcpTestPackets.Captured().ToList();

        Assert.Equal(4 + 4 + 6 + 12 + 18 + 12, packets.Count);
        foreach (var (name, bytes) in packets)
        {
            Assert.True(DhcpPacket.TryParse(bytes, out var packet, out var error), $"{name}: {error}");
            Assert.NotNull(packet.MessageType);
            Assert.Equal(packet.MessageType is DhcpMessageType.Offer or DhcpMessageType.Ack ? DhcpOpCode.BootReply : DhcpOpCode.BootRequest, packet.Op);
        }
    }

    /// <summary>
    /// No client pads between options or repeats a code, so our writer reproduces each message exactly up
    /// to End; after End the original holds only zero padding (or nothing).
    /// </summary>
    [Fact]
    public void Every_captured_packet_is_rewritten_byte_for_byte_up_to_end()
    {
        foreach (var (name, bytes) in DhcpTestPackets.Captured())
        {
            var packet = Parse(bytes);
            var rewritten = packet.ToArray();

            var used = DhcpPacket.HeaderLength + packet.Options.Sum(o => 2 + o.Data.Length) + 1;
            Assert.True(DhcpAssert.Hex(bytes.AsSpan(0, used)) == DhcpAssert.Hex(rewritten.AsSpan(0, used)), name);
            Assert.All(bytes[used..], b => Assert.Equal(0, b));
            Assert.Equal(Math.Max(300, used), rewritten.Length);
        }
    }

    [Fact]
    public void Discover_from_udhcpc_has_client_id_from_mac_and_max_size_576()
    {
        var packet = Parse(UdhcpcDiscover);

        Assert.Equal(DhcpMessageType.Discover, packet.MessageType);
        Assert.Equal(300, UdhcpcDiscover.Length);
        Assert.False(packet.Broadcast);
        Assert.Equal(DhcpAssert.Hex(Mac(0x01)), DhcpAssert.Hex(packet.ClientHardwareAddress));
        Assert.Equal(new byte[] { 1 }.Concat(Mac(0x01)).ToArray(), packet.Options.ClientIdentifier!.Value.ToArray());
        Assert.Equal((ushort)576, packet.Options.MaxMessageSize);
        Assert.Equal("udhcp 1.35.0", packet.Options.VendorClassIdentifier);
        Assert.False(packet.Options.IsPxeClient);
        Assert.Equal(
            new[] { DhcpOptionCode.SubnetMask, DhcpOptionCode.Router, DhcpOptionCode.DomainNameServer, DhcpOptionCode.HostName, DhcpOptionCode.DomainName, DhcpOptionCode.BroadcastAddress, (DhcpOptionCode)42 },
            packet.Options.ParameterRequestList);
        Assert.Equal(new byte[] { 53, 57, 55, 60, 61 }, packet.Options.Select(o => (byte)o.Code));
    }

    [Fact]
    public void Discover_from_dhclient_has_host_name_and_no_client_id()
    {
        var packet = Parse(DhclientDiscover);

        Assert.Equal(DhcpMessageType.Discover, packet.MessageType);
        Assert.Equal("vm", packet.Options.HostName);
        Assert.Null(packet.Options.ClientIdentifier);
        Assert.Null(packet.Options.VendorClassIdentifier);
        Assert.Null(packet.Options.MaxMessageSize);
        Assert.Equal(new byte[] { 1, 28, 2, 3, 15, 6, 119, 12, 44, 47, 26, 121, 42 }, packet.Options.ParameterRequestList!.Select(c => (byte)c));
        Assert.Equal(new byte[] { 53, 12, 55 }, packet.Options.Select(o => (byte)o.Code));
    }

    [Fact]
    public void Offer_from_kea_echoes_client_id_and_carries_lease_timers_and_boot_file_field()
    {
        var discover = Parse(UdhcpcDiscover);
        var offer = Parse(KeaOfferToUdhcpc);

        Assert.Equal(DhcpMessageType.Offer, offer.MessageType);
        Assert.Equal(DhcpOpCode.BootReply, offer.Op);
        Assert.Equal(discover.TransactionId, offer.TransactionId);
        Assert.Equal(Ip("192.0.2.100"), offer.YourAddress);
        Assert.Equal(Ip("192.0.2.1"), offer.ServerAddress);
        Assert.Equal("undionly.kpxe", offer.BootFileName);
        Assert.Equal(string.Empty, offer.ServerHostName);
        Assert.Equal(Ip("255.255.255.0"), offer.Options.SubnetMask);
        Assert.Equal(new[] { Ip("192.0.2.1") }, offer.Options.Routers);
        Assert.Equal(new[] { Ip("192.0.2.1") }, offer.Options.DomainNameServers);
        Assert.Equal("lab.test", offer.Options.DomainName);
        Assert.Equal(600u, offer.Options.LeaseTimeSeconds);
        Assert.Equal(300u, offer.Options.RenewalTimeSeconds);
        Assert.Equal(525u, offer.Options.RebindingTimeSeconds);
        Assert.Equal(Ip("192.0.2.1"), offer.Options.ServerIdentifier);
        Assert.Equal(discover.Options.ClientIdentifier!.Value.ToArray(), offer.Options.ClientIdentifier!.Value.ToArray());

        // Kea does not pad its 305-byte reply: the 300-byte minimum is already met.
        Assert.Equal(305, KeaOfferToUdhcpc.Length);
        Assert.Equal(255, KeaOfferToUdhcpc[^1]);
    }

    [Fact]
    public void Discover_from_ipxe_bios_rom_has_arch_0_undi_2_1_plain_user_class_and_feature_options()
    {
        var packet = Parse(IpxeBiosDiscover);
        var o = packet.Options;

        Assert.Equal(DhcpMessageType.Discover, packet.MessageType);
        Assert.False(packet.Broadcast);
        Assert.Equal((ushort)4, packet.Seconds);
        Assert.Equal("PXEClient:Arch:00000:UNDI:002001", o.VendorClassIdentifier);
        Assert.True(o.IsPxeClient);
        Assert.Equal(new[] { ClientArchitecture.X86Bios }, o.ClientSystemArchitectures);
        Assert.Equal(new ClientNetworkInterface(1, 2, 1), o.ClientNetworkInterface);
        Assert.Equal((ushort)1472, o.MaxMessageSize);

        // 77 is the bare string "iPXE", not RFC 3004's length-prefixed list.
        Assert.Equal("iPXE"u8.ToArray(), o.Get(DhcpOptionCode.UserClass)!.Value.ToArray());
        Assert.True(o.HasIpxeUserClass);
        Assert.Equal(new[] { "iPXE" }, o.UserClasses);

        Assert.Equal(new byte[] { 1 }.Concat(Mac(0x11)).ToArray(), o.ClientIdentifier!.Value.ToArray());
        Assert.Equal(QemuUuid, o.ClientMachineIdentifier);
        Assert.Contains(DhcpOptionCode.IpxeEncapsulated, o.ParameterRequestList!);

        var features = o.IpxeEncapsulatedOptions!;
        Assert.Equal("011AF41000", DhcpAssert.Hex(features.Single(f => f.Code == 177).Data.Span)); // bus id: PCI 1af4:1000 virtio-net
        Assert.Equal("010000", DhcpAssert.Hex(features.Single(f => f.Code == 235).Data.Span)); // version 1.0.0
        Assert.Equal("02", DhcpAssert.Hex(features.Single(f => f.Code == 16).Data.Span)); // PXE API extensions v2
        Assert.Equal(
            new byte[] { 17, 18, 19, 21, 23, 24, 25, 33, 34, 39, 41 }, // iSCSI AoE HTTP TFTP DNS bzImage multiboot PXE ELF menu NFS
            features.Where(f => f.Code is >= 17 and <= 41).Select(f => f.Code).Order());
        Assert.False(o.IpxeNoPxeDhcp);

        Assert.Equal(new byte[] { 53, 57, 93, 94, 60, 77, 55, 175, 61, 97 }, o.Select(x => (byte)x.Code));
    }

    [Fact]
    public void Discover_from_ipxe_efi_driver_has_arch_7_undi_3_10_and_efi_feature()
    {
        var packet = Parse(IpxeEfiDiscover);
        var o = packet.Options;

        Assert.Equal("PXEClient:Arch:00007:UNDI:003010", o.VendorClassIdentifier);
        Assert.Equal(new[] { ClientArchitecture.X64Uefi }, o.ClientSystemArchitectures);
        Assert.Equal(new ClientNetworkInterface(1, 3, 10), o.ClientNetworkInterface);
        Assert.True(o.HasIpxeUserClass);
        Assert.Contains(o.IpxeEncapsulatedOptions!, f => f.Code == 36); // EFI image support
        Assert.DoesNotContain(o.IpxeEncapsulatedOptions!, f => f.Code == 24); // no bzImage on EFI
        Assert.NotNull(o.ClientIdentifier);
        Assert.Equal(QemuUuid, o.ClientMachineIdentifier);
        Assert.Equal(388, IpxeEfiDiscover.Length);
        Assert.Equal(new byte[] { 53, 57, 93, 94, 60, 77, 55, 175, 61, 97 }, o.Select(x => (byte)x.Code));
    }

    [Fact]
    public void Discover_from_edk2_has_arch_7_broadcast_flag_and_no_client_id()
    {
        var packet = Parse(Edk2PxeDiscover);
        var o = packet.Options;

        Assert.Equal(DhcpMessageType.Discover, packet.MessageType);
        Assert.True(packet.Broadcast);
        Assert.Equal("PXEClient:Arch:00007:UNDI:003000", o.VendorClassIdentifier);
        Assert.Equal(new[] { ClientArchitecture.X64Uefi }, o.ClientSystemArchitectures);
        Assert.Equal(new ClientNetworkInterface(1, 3, 0), o.ClientNetworkInterface);
        Assert.Null(o.ClientIdentifier);
        Assert.Null(o.UserClasses);
        Assert.False(o.HasIpxeUserClass);
        Assert.Null(o.IpxeEncapsulatedOptions);
        Assert.Equal(QemuUuid, o.ClientMachineIdentifier);
        Assert.Equal((ushort)1472, o.MaxMessageSize);
        Assert.Equal(35, o.ParameterRequestList!.Count);

        // Unpadded 347 bytes, options in EDK2's own order (97 94 93 60 last).
        Assert.Equal(347, Edk2PxeDiscover.Length);
        Assert.Equal(new byte[] { 53, 57, 55, 97, 94, 93, 60 }, o.Select(x => (byte)x.Code));
    }

    [Fact]
    public void Discover_from_edk2_http_boot_has_arch_16_and_httpclient_vendor_class()
    {
        var o = Parse(Edk2HttpDiscover).Options;

        Assert.Equal("HTTPClient:Arch:00016:UNDI:003000", o.VendorClassIdentifier);
        Assert.False(o.IsPxeClient);
        Assert.True(o.IsHttpClient);
        Assert.Equal(new[] { ClientArchitecture.X64UefiHttp }, o.ClientSystemArchitectures);
        Assert.Null(o.ClientIdentifier);
        Assert.Contains((DhcpOptionCode)241, o.ParameterRequestList!);
    }

    [Fact]
    public void Discover_from_arm64_edk2_has_arch_11_and_the_same_shape_as_x64()
    {
        var packet = Parse(AavmfPxeDiscover);
        var o = packet.Options;

        Assert.Equal(DhcpMessageType.Discover, packet.MessageType);
        Assert.True(packet.Broadcast);
        Assert.Equal("PXEClient:Arch:00011:UNDI:003000", o.VendorClassIdentifier);
        Assert.True(o.IsPxeClient);
        Assert.Equal(new[] { ClientArchitecture.Arm64Uefi }, o.ClientSystemArchitectures);
        Assert.Equal(new ClientNetworkInterface(1, 3, 0), o.ClientNetworkInterface);
        Assert.Null(o.ClientIdentifier);
        Assert.Null(o.UserClasses);
        Assert.Equal(QemuUuid, o.ClientMachineIdentifier);
        // The same EDK2 network stack as OVMF's: 347 bytes, options in the same order.
        Assert.Equal(347, AavmfPxeDiscover.Length);
        Assert.Equal(new byte[] { 53, 57, 55, 97, 94, 93, 60 }, o.Select(x => (byte)x.Code));
    }

    [Fact]
    public void Discover_from_arm64_edk2_http_boot_has_arch_19_httpclient_and_a_pad_in_its_request_list()
    {
        var o = Parse(AavmfHttpDiscover).Options;

        Assert.Equal("HTTPClient:Arch:00019:UNDI:003000", o.VendorClassIdentifier);
        Assert.False(o.IsPxeClient);
        Assert.Equal(new[] { ClientArchitecture.Arm64UefiHttp }, o.ClientSystemArchitectures);
        // Where x64's OVMF asks for 241, this build lists a 0 (Pad): a reader must not take it for a terminator.
        Assert.Equal(27, o.ParameterRequestList!.Count);
        Assert.Equal((DhcpOptionCode)0, o.ParameterRequestList![24]);
        Assert.Equal(DhcpOptionCode.BootfileName, o.ParameterRequestList![25]);
    }

    [Fact]
    public void Request_from_edk2_advertises_max_message_size_65280_unlike_its_discover()
    {
        var request = Parse(Pcap.ReadUdp(Path.Combine(DhcpTestPackets.GoldenDirectory, "dhcp-edk2-pxe-slirp.pcap"))[2].Payload);

        Assert.Equal(DhcpMessageType.Request, request.MessageType);
        Assert.Equal((ushort)65280, request.Options.MaxMessageSize);
        Assert.Equal(Ip("10.0.2.15"), request.Options.RequestedIPAddress);
        Assert.Equal(Ip("10.0.2.2"), request.Options.ServerIdentifier);
        Assert.Equal(new byte[] { 53, 54, 50, 57, 55, 97, 94, 93, 60 }, request.Options.Select(x => (byte)x.Code));
    }

    [Fact]
    public void Offer_from_qemu_slirp_names_the_boot_file_only_in_the_file_field()
    {
        var offer = Parse(SlirpOffer);

        Assert.Equal(DhcpMessageType.Offer, offer.MessageType);
        Assert.Equal("boot.missing", offer.BootFileName);
        Assert.Null(offer.Options.BootfileName);
        Assert.Equal(Ip("10.0.2.15"), offer.YourAddress);
        Assert.Equal(Ip("10.0.2.2"), offer.ServerAddress);
        Assert.Equal(Ip("10.0.2.2"), offer.Options.ServerIdentifier);
        Assert.Equal(new[] { Ip("10.0.2.3") }, offer.Options.DomainNameServers);
        Assert.Equal(86400u, offer.Options.LeaseTimeSeconds);
        Assert.Null(offer.Options.ClientIdentifier); // slirp does not echo 61 (RFC 6842 says it should)
        Assert.Equal(548, SlirpOffer.Length);
    }

    [Fact]
    public void Client_machine_id_of_ipxe_and_edk2_reads_as_the_uuid_given_to_qemu()
    {
        foreach (var bytes in new[] { IpxeBiosDiscover, IpxeEfiDiscover, Edk2PxeDiscover, Edk2HttpDiscover, AavmfPxeDiscover, AavmfHttpDiscover })
        {
            var o = Parse(bytes).Options;

            Assert.Equal(QemuUuid, o.ClientMachineIdentifier);
            Assert.Equal("0067452301AB89EFCD0123456789ABCDEF", DhcpAssert.Hex(o.Get(DhcpOptionCode.ClientMachineIdentifier)!.Value.Span));
        }
    }
}
