using Provisioner.Protocols.Dhcp;

namespace Provisioner.Protocols.Tests.Dhcp;

/// <summary><see cref="DhcpPacket.CreateReply"/> against RFC 2131 §4.3.1 table 3, RFC 3046 §2.2 and RFC 6842 §3.</summary>
public sealed class DhcpReplyTests
{
    private static DhcpPacket RelayedIpxeDiscover()
    {
        Assert.True(DhcpPacket.TryParse(DhcpGoldenPackets.IpxeBiosDiscover, out var request, out _));
        request.Hops = 1;
        request.RelayAgentAddress = IPv4Address.Parse("198.51.100.1");
        request.Broadcast = true;
        request.Options.SetRelayAgentInformation("Gi0/7"u8, "leaf-3"u8, IPv4Address.Parse("198.51.100.0"));
        return request;
    }

    [Fact]
    public void Reply_copies_xid_flags_giaddr_and_hardware_address_and_resets_hops()
    {
        var request = RelayedIpxeDiscover();

        var reply = DhcpPacket.CreateReply(request, DhcpMessageType.Offer);

        Assert.Equal(DhcpOpCode.BootReply, reply.Op);
        Assert.Equal(request.TransactionId, reply.TransactionId);
        Assert.Equal(request.Flags, reply.Flags);
        Assert.True(reply.Broadcast);
        Assert.Equal(IPv4Address.Parse("198.51.100.1"), reply.RelayAgentAddress);
        Assert.Equal(request.HardwareType, reply.HardwareType);
        Assert.Equal(request.HardwareAddressLength, reply.HardwareAddressLength);
        Assert.Equal(DhcpAssert.Hex(request.ClientHardwareAddress), DhcpAssert.Hex(reply.ClientHardwareAddress));
        Assert.Equal(0, reply.Hops);
        Assert.Equal(0, reply.Seconds);
        Assert.Equal(IPv4Address.Any, reply.YourAddress);
    }

    [Fact]
    public void Reply_echoes_client_id_and_relay_agent_information_and_nothing_else_from_the_request()
    {
        var request = RelayedIpxeDiscover();

        var reply = DhcpPacket.CreateReply(request, DhcpMessageType.Offer);

        Assert.Equal(
            new[] { DhcpOptionCode.MessageType, DhcpOptionCode.ClientIdentifier, DhcpOptionCode.RelayAgentInformation },
            reply.Options.Select(o => o.Code));
        Assert.Equal(DhcpMessageType.Offer, reply.MessageType);
        Assert.Equal(request.Options.ClientIdentifier!.Value.ToArray(), reply.Options.ClientIdentifier!.Value.ToArray());
        Assert.Equal(request.Options.RelayAgentInformation!.Value.ToArray(), reply.Options.RelayAgentInformation!.Value.ToArray());
    }

    [Fact]
    public void Reply_without_client_id_or_relay_information_in_the_request_has_neither()
    {
        Assert.True(DhcpPacket.TryParse(DhcpGoldenPackets.Edk2PxeDiscover, out var request, out _));

        var reply = DhcpPacket.CreateReply(request, DhcpMessageType.Offer);

        Assert.Null(reply.Options.ClientIdentifier);
        Assert.Null(reply.Options.RelayAgentInformation);
        Assert.True(reply.Broadcast); // EDK2 asked for a broadcast reply
    }

    [Fact]
    public void Written_reply_has_53_first_82_last_and_is_padded_to_300_bytes()
    {
        var reply = DhcpPacket.CreateReply(RelayedIpxeDiscover(), DhcpMessageType.Offer);
        reply.YourAddress = IPv4Address.Parse("198.51.100.20");
        reply.ServerAddress = IPv4Address.Parse("198.51.100.2");
        reply.Options.ServerIdentifier = IPv4Address.Parse("198.51.100.2");
        reply.Options.LeaseTimeSeconds = 600;
        reply.Options.IpxeNoPxeDhcp = true;

        var bytes = reply.ToArray();
        Assert.True(DhcpPacket.TryParse(bytes, out var parsed, out _));

        Assert.Equal(DhcpPacket.MinimumLength, bytes.Length);
        Assert.Equal(53, bytes[240]);
        Assert.Equal(DhcpOptionCode.MessageType, parsed.Options[0].Code);
        Assert.Equal(DhcpOptionCode.RelayAgentInformation, parsed.Options[^1].Code);
        Assert.Equal("Gi0/7"u8.ToArray(), parsed.Options.RelayAgentCircuitId!.Value.ToArray());
        Assert.Equal("leaf-3"u8.ToArray(), parsed.Options.RelayAgentRemoteId!.Value.ToArray());
        Assert.Equal(IPv4Address.Parse("198.51.100.0"), parsed.Options.RelayAgentLinkSelection);
        Assert.True(parsed.Options.IpxeNoPxeDhcp);
        Assert.Equal(IPv4Address.Parse("198.51.100.20"), parsed.YourAddress);
    }

    [Theory]
    [InlineData(DhcpMessageType.Offer, false)]
    [InlineData(DhcpMessageType.Ack, true)]
    [InlineData(DhcpMessageType.Nak, false)]
    public void Ciaddr_is_copied_only_into_an_ack(DhcpMessageType type, bool copied)
    {
        var request = new DhcpPacket { MessageType = DhcpMessageType.Request, ClientAddress = IPv4Address.Parse("192.0.2.50") };

        var reply = DhcpPacket.CreateReply(request, type);

        Assert.Equal(copied ? IPv4Address.Parse("192.0.2.50") : IPv4Address.Any, reply.ClientAddress);
    }

    [Fact]
    public void Changing_the_reply_does_not_change_the_request()
    {
        var request = RelayedIpxeDiscover();
        var mac = DhcpAssert.Hex(request.ClientHardwareAddress);

        var reply = DhcpPacket.CreateReply(request, DhcpMessageType.Ack);
        reply.SetClientHardwareAddress(new byte[] { 1, 2, 3, 4, 5, 6 });
        reply.Options.ClientIdentifier = new byte[] { 9 };

        Assert.Equal(mac, DhcpAssert.Hex(request.ClientHardwareAddress));
        Assert.Equal(7, request.Options.ClientIdentifier!.Value.Length);
    }
}
