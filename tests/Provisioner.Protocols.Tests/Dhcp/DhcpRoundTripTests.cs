using Provisioner.Protocols.Dhcp;

namespace Provisioner.Protocols.Tests.Dhcp;

public sealed class DhcpRoundTripTests
{
    internal static readonly byte[] Mac = { 0x52, 0x54, 0x00, 0xdc, 0x00, 0x42 };

    internal static readonly Guid MachineId = Guid.Parse("01234567-89ab-cdef-0123-456789abcdef");

    public static TheoryData<DhcpMessageType> MessageTypes()
    {
        var data = new TheoryData<DhcpMessageType>();
        foreach (var type in Enum.GetValues<DhcpMessageType>())
        {
            data.Add(type);
        }

        return data;
    }

    [Fact]
    public void Message_types_are_the_eight_of_rfc_2132()
    {
        Assert.Equal(Enumerable.Range(1, 8).Select(i => (DhcpMessageType)i), Enum.GetValues<DhcpMessageType>());
    }

    [Theory]
    [MemberData(nameof(MessageTypes))]
    public void Every_message_type_round_trips(DhcpMessageType type)
    {
        var fromServer = type is DhcpMessageType.Offer or DhcpMessageType.Ack or DhcpMessageType.Nak;
        var packet = new DhcpPacket
        {
            Op = fromServer ? DhcpOpCode.BootReply : DhcpOpCode.BootRequest,
            TransactionId = 0xdeadbeef,
            Seconds = 7,
            Broadcast = type == DhcpMessageType.Discover,
            ClientAddress = type is DhcpMessageType.Release or DhcpMessageType.Inform ? IPv4Address.Parse("192.0.2.100") : IPv4Address.Any,
            YourAddress = fromServer ? IPv4Address.Parse("192.0.2.100") : IPv4Address.Any,
        };
        packet.SetClientHardwareAddress(Mac);
        packet.MessageType = type;
        if (fromServer)
        {
            packet.Options.ServerIdentifier = IPv4Address.Parse("192.0.2.1");
        }

        var parsed = DhcpAssert.RoundTrip(packet);

        Assert.Equal(type, parsed.MessageType);
        Assert.Equal(DhcpAssert.Hex(Mac), DhcpAssert.Hex(parsed.ClientHardwareAddress));
        DhcpAssert.Equivalent(packet, parsed);
    }

    [Fact]
    public void Bootp_message_without_option_53_round_trips_with_null_message_type()
    {
        var packet = new DhcpPacket { TransactionId = 1, BootFileName = "pxelinux.0" };
        packet.SetClientHardwareAddress(Mac);

        var parsed = DhcpAssert.RoundTrip(packet);

        Assert.Null(parsed.MessageType);
        Assert.Empty(parsed.Options);
        Assert.Equal("pxelinux.0", parsed.BootFileName);
    }

    /// <summary>A packet carrying every option that has a typed accessor.</summary>
    internal static DhcpPacket EveryTypedOption()
    {
        var packet = new DhcpPacket
        {
            Op = DhcpOpCode.BootReply,
            Hops = 2,
            TransactionId = 0x01020304,
            Seconds = 12,
            Broadcast = true,
            ClientAddress = IPv4Address.Parse("192.0.2.10"),
            YourAddress = IPv4Address.Parse("192.0.2.11"),
            ServerAddress = IPv4Address.Parse("192.0.2.12"),
            RelayAgentAddress = IPv4Address.Parse("192.0.2.13"),
            ServerHostName = "boot.lab.test",
            BootFileName = "ipxe/snponly.efi",
        };
        packet.SetClientHardwareAddress(Mac);
        var o = packet.Options;
        o.MessageType = DhcpMessageType.Ack;
        o.SubnetMask = IPv4Address.Parse("255.255.255.0");
        o.Routers = new[] { IPv4Address.Parse("192.0.2.1"), IPv4Address.Parse("192.0.2.2") };
        o.DomainNameServers = new[] { IPv4Address.Parse("192.0.2.53") };
        o.HostName = "node-042";
        o.DomainName = "lab.test";
        o.BroadcastAddress = IPv4Address.Parse("192.0.2.255");
        o.VendorSpecificInformation = new byte[] { 6, 1, 8, 255 }; // PXE discovery control = 8, End
        o.RequestedIPAddress = IPv4Address.Parse("192.0.2.11");
        o.LeaseTimeSeconds = 3600;
        o.ServerIdentifier = IPv4Address.Parse("192.0.2.1");
        o.ParameterRequestList = new[] { DhcpOptionCode.SubnetMask, DhcpOptionCode.Router, DhcpOptionCode.BootfileName, (DhcpOptionCode)175 };
        o.MaxMessageSize = 1472;
        o.RenewalTimeSeconds = 1800;
        o.RebindingTimeSeconds = 3150;
        o.VendorClassIdentifier = "PXEClient";
        o.ClientIdentifier = new byte[] { 1, 0x52, 0x54, 0x00, 0xdc, 0x00, 0x42 };
        o.TftpServerName = "192.0.2.12";
        o.BootfileName = "http://192.0.2.12/boot.ipxe";
        o.UserClasses = new[] { "iPXE", "lab" };
        o.ClientSystemArchitectures = new[] { ClientArchitecture.X64Uefi, ClientArchitecture.Arm64Uefi };
        o.ClientNetworkInterface = new ClientNetworkInterface(1, 3, 16);
        o.ClientMachineIdentifier = MachineId;
        o.SubnetSelection = IPv4Address.Parse("198.51.100.0");
        o.IpxeNoPxeDhcp = true;
        // Last, where relay agents put it and where the writer always writes it (RFC 3046 §2.1).
        o.SetRelayAgentInformation("eth0:17"u8, "switch-7"u8, IPv4Address.Parse("198.51.100.0"));
        return packet;
    }

    [Fact]
    public void Packet_with_every_typed_option_round_trips_every_value()
    {
        var packet = EveryTypedOption();

        var parsed = DhcpAssert.RoundTrip(packet);

        DhcpAssert.Equivalent(packet, parsed);
        Assert.Equal(DhcpOpCode.BootReply, parsed.Op);
        Assert.True(parsed.Broadcast);
        Assert.Equal(DhcpPacket.BroadcastFlag, parsed.Flags);
        Assert.Equal("boot.lab.test", parsed.ServerHostName);
        Assert.Equal("ipxe/snponly.efi", parsed.BootFileName);
        var o = parsed.Options;
        Assert.Equal(DhcpMessageType.Ack, o.MessageType);
        Assert.Equal(IPv4Address.Parse("255.255.255.0"), o.SubnetMask);
        Assert.Equal(new[] { IPv4Address.Parse("192.0.2.1"), IPv4Address.Parse("192.0.2.2") }, o.Routers);
        Assert.Equal(new[] { IPv4Address.Parse("192.0.2.53") }, o.DomainNameServers);
        Assert.Equal("node-042", o.HostName);
        Assert.Equal("lab.test", o.DomainName);
        Assert.Equal(IPv4Address.Parse("192.0.2.255"), o.BroadcastAddress);
        Assert.Equal(new byte[] { 6, 1, 8, 255 }, o.VendorSpecificInformation!.Value.ToArray());
        Assert.Equal(IPv4Address.Parse("192.0.2.11"), o.RequestedIPAddress);
        Assert.Equal(3600u, o.LeaseTimeSeconds);
        Assert.Equal(IPv4Address.Parse("192.0.2.1"), o.ServerIdentifier);
        Assert.Equal(new[] { DhcpOptionCode.SubnetMask, DhcpOptionCode.Router, DhcpOptionCode.BootfileName, DhcpOptionCode.IpxeEncapsulated }, o.ParameterRequestList);
        Assert.Equal((ushort)1472, o.MaxMessageSize);
        Assert.Equal(1800u, o.RenewalTimeSeconds);
        Assert.Equal(3150u, o.RebindingTimeSeconds);
        Assert.Equal("PXEClient", o.VendorClassIdentifier);
        Assert.True(o.IsPxeClient);
        Assert.Equal("01525400DC0042", DhcpAssert.Hex(o.ClientIdentifier!.Value.Span));
        Assert.Equal("192.0.2.12", o.TftpServerName);
        Assert.Equal("http://192.0.2.12/boot.ipxe", o.BootfileName);
        Assert.Equal(new[] { "iPXE", "lab" }, o.UserClasses);
        Assert.True(o.HasIpxeUserClass);
        Assert.Equal("eth0:17"u8.ToArray(), o.RelayAgentCircuitId!.Value.ToArray());
        Assert.Equal("switch-7"u8.ToArray(), o.RelayAgentRemoteId!.Value.ToArray());
        Assert.Equal(IPv4Address.Parse("198.51.100.0"), o.RelayAgentLinkSelection);
        Assert.Equal(new[] { ClientArchitecture.X64Uefi, ClientArchitecture.Arm64Uefi }, o.ClientSystemArchitectures);
        Assert.Equal(new ClientNetworkInterface(1, 3, 16), o.ClientNetworkInterface);
        Assert.Equal(MachineId, o.ClientMachineIdentifier);
        Assert.Equal(IPv4Address.Parse("198.51.100.0"), o.SubnetSelection);
        Assert.True(o.IpxeNoPxeDhcp);
        Assert.Equal("B00101", DhcpAssert.Hex(o.Get(DhcpOptionCode.IpxeEncapsulated)!.Value.Span));
    }

    [Fact]
    public void Typed_options_are_written_with_the_exact_rfc_encodings()
    {
        var packet = new DhcpPacket();
        var o = packet.Options;
        o.LeaseTimeSeconds = 0x01020304;
        o.MaxMessageSize = 576;
        o.ClientSystemArchitectures = new[] { ClientArchitecture.X64Uefi };
        o.ClientNetworkInterface = new ClientNetworkInterface(1, 2, 1);
        o.ClientMachineIdentifier = MachineId;
        o.UserClasses = new[] { "iPXE" };
        o.SetRelayAgentInformation("ab"u8, default, null);

        var bytes = packet.ToArray();

        Assert.Equal(
            "33040102030439020240" + "5D020007" + "5E03010201" + "611100" + "67452301AB89EFCD0123456789ABCDEF"
            + "4D0504" + "69505845" + "520401026162" + "FF",
            Convert.ToHexString(bytes.AsSpan(240, bytes.AsSpan(240).IndexOf((byte)0xFF) + 1)));
    }

    [Fact]
    public void Writer_places_relay_agent_information_last()
    {
        var packet = new DhcpPacket { MessageType = DhcpMessageType.Offer };
        packet.Options.SetRelayAgentInformation("c"u8, default, null);
        packet.Options.LeaseTimeSeconds = 60;

        var parsed = DhcpAssert.RoundTrip(packet);

        Assert.Equal(
            new[] { DhcpOptionCode.MessageType, DhcpOptionCode.LeaseTime, DhcpOptionCode.RelayAgentInformation },
            parsed.Options.Select(o => o.Code));
    }

    [Fact]
    public void Writer_pads_to_300_bytes_with_zeros_after_end()
    {
        var packet = new DhcpPacket { MessageType = DhcpMessageType.Discover };

        var bytes = packet.ToArray();

        Assert.Equal(DhcpPacket.MinimumLength, bytes.Length);
        Assert.Equal(new byte[] { 0x63, 0x82, 0x53, 0x63, 53, 1, 1, 255 }, bytes[236..244]);
        Assert.All(bytes[244..], b => Assert.Equal(0, b));
    }

    [Fact]
    public void Writer_does_not_pad_a_packet_already_longer_than_300_bytes()
    {
        var packet = new DhcpPacket { MessageType = DhcpMessageType.Offer };
        packet.Options.HostName = new string('h', 100);

        var bytes = packet.ToArray();

        Assert.Equal(240 + 3 + 102 + 1, bytes.Length);
        Assert.Equal(255, bytes[^1]);
    }

    [Fact]
    public void TryWrite_into_a_short_buffer_fails_without_writing()
    {
        var packet = EveryTypedOption();
        var needed = packet.GetWriteLength();
        var buffer = new byte[needed - 1];
        Array.Fill(buffer, (byte)0xAA);

        Assert.False(packet.TryWrite(buffer, out var written));
        Assert.Equal(0, written);
        Assert.All(buffer, b => Assert.Equal(0xAA, b));
        Assert.True(packet.TryWrite(new byte[needed], out written));
        Assert.Equal(needed, written);
    }

    [Fact]
    public void Setting_message_type_places_option_53_first()
    {
        var packet = new DhcpPacket();
        packet.Options.HostName = "x";
        packet.MessageType = DhcpMessageType.Request;

        Assert.Equal(DhcpOptionCode.MessageType, packet.Options[0].Code);
        Assert.Equal(53, packet.ToArray()[240]);
    }

    [Fact]
    public void Setting_an_existing_option_replaces_it_in_place_and_null_removes_it()
    {
        var packet = new DhcpPacket();
        packet.Options.HostName = "a";
        packet.Options.DomainName = "b";
        packet.Options.HostName = "c";

        Assert.Equal(new[] { DhcpOptionCode.HostName, DhcpOptionCode.DomainName }, packet.Options.Select(o => o.Code));
        Assert.Equal("c", packet.Options.HostName);

        packet.Options.HostName = null;
        Assert.Null(packet.Options.HostName);
        Assert.Single(packet.Options);
    }

    [Theory]
    [InlineData(DhcpOptionCode.Pad)]
    [InlineData(DhcpOptionCode.End)]
    [InlineData(DhcpOptionCode.Overload)]
    public void Framing_options_cannot_be_set_by_hand(DhcpOptionCode code)
    {
        var packet = new DhcpPacket();

        Assert.Throws<ArgumentException>(() => packet.Options.Set(code, new byte[] { 1 }));
    }

    [Fact]
    public void Setting_ipxe_no_pxedhcp_keeps_other_ipxe_sub_options()
    {
        var options = new DhcpOptions();
        options.IpxeEncapsulatedOptions = new[] { new DhcpSubOption(19, new byte[] { 1 }) };

        options.IpxeNoPxeDhcp = true;

        Assert.Equal("130101B00101", DhcpAssert.Hex(options.Get(DhcpOptionCode.IpxeEncapsulated)!.Value.Span));
        options.IpxeNoPxeDhcp = false;
        Assert.False(options.IpxeNoPxeDhcp);
        Assert.Equal("130101", DhcpAssert.Hex(options.Get(DhcpOptionCode.IpxeEncapsulated)!.Value.Span));
    }

    [Fact]
    public void User_class_accepts_plain_ipxe_string_and_rfc_3004_lists()
    {
        var plain = new DhcpOptions();
        plain.Set(DhcpOptionCode.UserClass, "iPXE"u8);
        var rfc3004 = new DhcpOptions();
        rfc3004.Set(DhcpOptionCode.UserClass, "\u0003abc\u0004iPXE"u8);
        var other = new DhcpOptions();
        other.Set(DhcpOptionCode.UserClass, "gPXE"u8);

        Assert.Equal(new[] { "iPXE" }, plain.UserClasses);
        Assert.True(plain.HasIpxeUserClass);
        Assert.Equal(new[] { "abc", "iPXE" }, rfc3004.UserClasses);
        Assert.True(rfc3004.HasIpxeUserClass);
        Assert.Equal(new[] { "gPXE" }, other.UserClasses);
        Assert.False(other.HasIpxeUserClass);
    }

    [Fact]
    public void Absent_raw_options_read_as_null_and_empty_ones_as_empty()
    {
        var o = new DhcpOptions();
        o.Set((DhcpOptionCode)80, default); // rapid commit (RFC 4039) is legitimately empty

        Assert.Null(o.Get(DhcpOptionCode.ClientIdentifier));
        Assert.Null(o.ClientIdentifier);
        Assert.Null(o.VendorSpecificInformation);
        Assert.Null(o.RelayAgentInformation);
        Assert.Null(o.RelayAgentCircuitId);
        Assert.True(o.Get((DhcpOptionCode)80) is { IsEmpty: true });
    }

    [Fact]
    public void Typed_getters_return_null_for_values_of_the_wrong_shape()
    {
        var o = new DhcpOptions();
        o.Set(DhcpOptionCode.SubnetMask, new byte[] { 255, 255, 255 });
        o.Set(DhcpOptionCode.Router, new byte[] { 1, 2, 3, 4, 5 });
        o.Set(DhcpOptionCode.MessageType, new byte[] { 1, 2 });
        o.Set(DhcpOptionCode.MaxMessageSize, new byte[] { 5 });
        o.Set(DhcpOptionCode.LeaseTime, default);
        o.Set(DhcpOptionCode.ClientSystemArchitecture, new byte[] { 0, 7, 0 });
        o.Set(DhcpOptionCode.ClientNetworkInterface, new byte[] { 1, 2 });
        o.Set(DhcpOptionCode.ClientMachineIdentifier, new byte[17].Select((_, i) => (byte)(i == 0 ? 1 : 0)).ToArray());
        o.Set(DhcpOptionCode.RelayAgentInformation, new byte[] { 1, 9, 0 });
        o.Set(DhcpOptionCode.IpxeEncapsulated, new byte[] { 176, 4, 1 });

        Assert.Null(o.SubnetMask);
        Assert.Null(o.Routers);
        Assert.Null(o.MessageType);
        Assert.Null(o.MaxMessageSize);
        Assert.Null(o.LeaseTimeSeconds);
        Assert.Null(o.ClientSystemArchitectures);
        Assert.Null(o.ClientNetworkInterface);
        Assert.Null(o.ClientMachineIdentifier);
        Assert.Null(o.RelayAgentCircuitId);
        Assert.Null(o.IpxeEncapsulatedOptions);
        Assert.False(o.IpxeNoPxeDhcp);
    }
}
