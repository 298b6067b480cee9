using Provisioner.Host.Simulate;
using Provisioner.Protocols.Dhcp;

namespace Provisioner.Host.Tests.Simulate;

public sealed class FirmwarePacketsTests
{
    private static readonly byte[] Mac = [0x52, 0x54, 0x01, 0x00, 0x00, 0x2a];
    private static readonly IPv4Address Relay = IPv4Address.Parse("10.88.0.1");

    private static DhcpPacket OnTheWire(DhcpPacket packet) =>
        DhcpPacket.TryParse(packet.ToArray(), out var parsed, out var error) ? parsed : throw new InvalidOperationException(error.ToString());

    [Fact]
    public void Pxe_rom_discover_is_relayed_and_carries_the_pxe_options_without_a_user_class()
    {
        var discover = OnTheWire(FirmwarePackets.Discover(Mac, 0x1234, Relay, 0, ipxe: false, seconds: 4));

        Assert.Equal((DhcpOpCode.BootRequest, DhcpMessageType.Discover, 0x1234u, (byte)1, Relay, (ushort)4), (discover.Op, discover.MessageType!.Value, discover.TransactionId, discover.Hops, discover.RelayAgentAddress, discover.Seconds));
        Assert.Equal(Mac, discover.ClientHardwareAddress.ToArray());
        Assert.Equal("PXEClient:Arch:00000:UNDI:002001", discover.Options.VendorClassIdentifier);
        Assert.True(discover.Options.IsPxeClient);
        Assert.Equal([ClientArchitecture.X86Bios], discover.Options.ClientSystemArchitectures);
        Assert.Equal(new ClientNetworkInterface(1, 2, 1), discover.Options.ClientNetworkInterface);
        Assert.Equal(FirmwarePackets.Uuid(Mac), discover.Options.ClientMachineIdentifier);
        Assert.False(discover.Options.HasIpxeUserClass);
        Assert.Null(discover.Options.RequestedIPAddress);
    }

    [Fact]
    public void Ipxe_discover_names_itself_by_user_class_and_sends_its_features_and_client_id()
    {
        var discover = OnTheWire(FirmwarePackets.Discover(Mac, 0x10001234, Relay, 7, ipxe: true, seconds: 0));

        Assert.True(discover.Options.HasIpxeUserClass);
        Assert.Equal("iPXE"u8.ToArray(), discover.Options.Get(DhcpOptionCode.UserClass)!.Value.ToArray()); // bare, as iPXE sends it
        Assert.Equal("PXEClient:Arch:00007:UNDI:003016", discover.Options.VendorClassIdentifier);
        Assert.Equal([ClientArchitecture.X64Uefi], discover.Options.ClientSystemArchitectures);
        Assert.Contains(discover.Options.IpxeEncapsulatedOptions!, o => o.Code == 19); // HTTP
        Assert.Equal([1, .. Mac], discover.Options.ClientIdentifier!.Value.ToArray());
        Assert.False(discover.Broadcast);
    }

    [Fact]
    public void Request_takes_the_offer_with_its_xid_server_id_and_address()
    {
        var offer = DhcpPacket.CreateReply(FirmwarePackets.Discover(Mac, 77, Relay, 0, false, 0), DhcpMessageType.Offer);
        offer.YourAddress = IPv4Address.Parse("10.88.0.50");
        offer.Options.ServerIdentifier = IPv4Address.Parse("10.77.0.1");

        var request = OnTheWire(FirmwarePackets.Request(Mac, 77, Relay, 0, false, 1, offer));

        Assert.Equal((DhcpMessageType.Request, 77u, Relay), (request.MessageType!.Value, request.TransactionId, request.RelayAgentAddress));
        Assert.Equal(IPv4Address.Parse("10.77.0.1"), request.Options.ServerIdentifier);
        Assert.Equal(IPv4Address.Parse("10.88.0.50"), request.Options.RequestedIPAddress);
        Assert.True(request.ClientAddress.IsAny);
    }

    [Fact]
    public void A_reply_answers_an_exchange_only_with_its_xid_chaddr_and_an_expected_type()
    {
        var ack = DhcpPacket.CreateReply(FirmwarePackets.Discover(Mac, 9, Relay, 0, false, 0), DhcpMessageType.Ack);

        Assert.True(FirmwarePackets.Answers(ack, 9, Mac, [DhcpMessageType.Ack, DhcpMessageType.Nak]));
        Assert.False(FirmwarePackets.Answers(ack, 9, Mac, [DhcpMessageType.Offer])); // a late ACK is no OFFER
        Assert.False(FirmwarePackets.Answers(ack, 10, Mac, [DhcpMessageType.Ack]));
        Assert.False(FirmwarePackets.Answers(ack, 9, [.. Mac[..5], 0x2b], [DhcpMessageType.Ack]));
        Assert.False(FirmwarePackets.Answers(FirmwarePackets.Discover(Mac, 9, Relay, 0, false, 0), 9, Mac, [DhcpMessageType.Discover])); // not a BOOTREPLY
    }

    [Fact]
    public void Boot_answer_reads_option_67_then_the_file_field_and_siaddr_then_option_66_then_the_server_id()
    {
        var ack = DhcpPacket.CreateReply(FirmwarePackets.Discover(Mac, 9, Relay, 0, false, 0), DhcpMessageType.Ack);
        ack.YourAddress = IPv4Address.Parse("10.88.0.50");
        ack.Options.ServerIdentifier = IPv4Address.Parse("10.77.0.1");
        ack.BootFileName = "from-file-field";
        Assert.Equal(new BootAnswer(ack.YourAddress, "from-file-field", IPv4Address.Parse("10.77.0.1")), FirmwarePackets.ReadBoot(ack, out _));

        ack.Options.TftpServerName = "10.77.0.2";
        ack.Options.BootfileName = "undionly.kpxe";
        Assert.Equal(new BootAnswer(ack.YourAddress, "undionly.kpxe", IPv4Address.Parse("10.77.0.2")), FirmwarePackets.ReadBoot(ack, out _));

        ack.ServerAddress = IPv4Address.Parse("10.77.0.3");
        Assert.Equal(IPv4Address.Parse("10.77.0.3"), FirmwarePackets.ReadBoot(ack, out _)!.NextServer);
    }

    [Fact]
    public void Boot_answer_without_an_address_or_a_boot_file_says_which()
    {
        var ack = DhcpPacket.CreateReply(FirmwarePackets.Discover(Mac, 9, Relay, 0, false, 0), DhcpMessageType.Ack);
        ack.Options.ServerIdentifier = IPv4Address.Parse("10.77.0.1");
        ack.Options.BootfileName = "undionly.kpxe";
        Assert.Null(FirmwarePackets.ReadBoot(ack, out var noAddress));
        Assert.Equal("Ack without an address (yiaddr 0.0.0.0)", noAddress);

        ack.YourAddress = IPv4Address.Parse("10.88.0.50");
        ack.Options.BootfileName = null;
        Assert.Null(FirmwarePackets.ReadBoot(ack, out var noFile));
        Assert.Equal("Ack names no boot file", noFile);
    }

    [Fact]
    public void Firmware_timers_are_the_pxe_spec_and_ipxe_defaults()
    {
        Assert.Equal((4, TimeSpan.FromSeconds(60)), (FirmwareTimers.PxeDiscover.Sends, FirmwareTimers.PxeDiscover.GiveUpAfter));
        Assert.Equal((4, TimeSpan.FromSeconds(10)), (FirmwareTimers.PxeRequest.Sends, FirmwareTimers.PxeRequest.GiveUpAfter));
        Assert.Equal((4, TimeSpan.FromSeconds(15)), (FirmwareTimers.IpxeDiscover.Sends, FirmwareTimers.IpxeDiscover.GiveUpAfter));
        Assert.Equal((6, TimeSpan.FromSeconds(15.75)), (FirmwareTimers.IpxeRequest.Sends, FirmwareTimers.IpxeRequest.GiveUpAfter));
        Assert.Equal((6, TimeSpan.FromSeconds(15.75)), (FirmwareTimers.Tftp.Sends, FirmwareTimers.Tftp.GiveUpAfter));
    }
}
