using System.Buffers.Binary;
using System.Globalization;
using Provisioner.Protocols.Dhcp;

namespace Provisioner.Host.Simulate;

/// <summary>What an ACK told a booting machine: its address, and the boot file and the server to fetch it from.</summary>
public sealed record BootAnswer(IPv4Address Address, string BootFile, IPv4Address NextServer);

/// <summary>
/// The DHCP requests of a booting machine, as a relay agent forwards them (RFC 1542 §4: hops 1, giaddr the relay's
/// address), and what a machine reads from the answers. Two clients: the NIC's PXE ROM (option 60 PXEClient, 93, 94,
/// 97; no user class), whose options follow the EDK2 capture in DhcpGoldenPackets, and the iPXE it then loads (user
/// class "iPXE" sent bare as iPXE does, 175 feature flags, 61 client id), following the iPXE capture.
/// </summary>
public static class FirmwarePackets
{
    /// <summary>PXE 2.1 option 60: architecture and UNDI version (2.1 for BIOS ROMs, 3.16 for UEFI).</summary>
    public static string VendorClass(int architecture) => architecture == 0
        ? "PXEClient:Arch:00000:UNDI:002001"
        : string.Create(CultureInfo.InvariantCulture, $"PXEClient:Arch:{architecture:00000}:UNDI:003016");

    /// <summary>A stable SMBIOS UUID per machine (option 97): a fixed prefix, then the MAC.</summary>
    public static Guid Uuid(ReadOnlySpan<byte> mac)
    {
        Span<byte> bytes = stackalloc byte[16];
        "provisi"u8.CopyTo(bytes);
        bytes[7] = 0x4e; // version nibble 4 in the Guid layout
        bytes[8] = 0x80; // RFC 4122 variant
        mac.CopyTo(bytes[10..]);
        return new Guid(bytes);
    }

    public static DhcpPacket Discover(ReadOnlySpan<byte> mac, uint xid, IPv4Address relay, int architecture, bool ipxe, ushort seconds)
    {
        var packet = Base(mac, xid, relay, architecture, ipxe, seconds);
        packet.MessageType = DhcpMessageType.Discover;
        return Options(packet, mac, architecture, ipxe);
    }

    /// <summary>The REQUEST that takes <paramref name="offer"/> (RFC 2131 §4.3.2 SELECTING: same xid, option 54 and option 50).</summary>
    public static DhcpPacket Request(ReadOnlySpan<byte> mac, uint xid, IPv4Address relay, int architecture, bool ipxe, ushort seconds, DhcpPacket offer)
    {
        ArgumentNullException.ThrowIfNull(offer);
        var packet = Base(mac, xid, relay, architecture, ipxe, seconds);
        packet.MessageType = DhcpMessageType.Request;
        packet.Options.ServerIdentifier = offer.Options.ServerIdentifier ?? throw new ArgumentException("an OFFER without option 54", nameof(offer));
        packet.Options.RequestedIPAddress = offer.YourAddress;
        return Options(packet, mac, architecture, ipxe);
    }

    /// <summary>
    /// Whether <paramref name="reply"/> answers the exchange <paramref name="xid"/> of <paramref name="mac"/>: a
    /// BOOTREPLY with that xid and chaddr, of one of the <paramref name="expected"/> types.
    /// </summary>
    public static bool Answers(DhcpPacket reply, uint xid, ReadOnlySpan<byte> mac, ReadOnlySpan<DhcpMessageType> expected)
    {
        ArgumentNullException.ThrowIfNull(reply);
        return reply.Op == DhcpOpCode.BootReply
            && reply.TransactionId == xid
            && reply.ClientHardwareAddress.SequenceEqual(mac)
            && reply.MessageType is { } type
            && expected.Contains(type);
    }

    /// <summary>
    /// The boot answer of an OFFER or ACK: yiaddr, the boot file (option 67, else the 'file' field) and the server to
    /// fetch it from (siaddr, else option 66 if it is an address, else option 54). Null with <paramref name="problem"/>
    /// when the reply names no address or no boot file.
    /// </summary>
    public static BootAnswer? ReadBoot(DhcpPacket reply, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(reply);
        problem = null;
        if (reply.YourAddress.IsAny)
        {
            problem = $"{reply.MessageType} without an address (yiaddr 0.0.0.0)";
            return null;
        }

        var file = reply.Options.BootfileName is { Length: > 0 } option ? option : reply.BootFileName;
        if (string.IsNullOrEmpty(file))
        {
            problem = $"{reply.MessageType} names no boot file";
            return null;
        }

        var next = !reply.ServerAddress.IsAny ? reply.ServerAddress
            : IPv4Address.TryParse(reply.Options.TftpServerName, out var named) ? named
            : reply.Options.ServerIdentifier ?? IPv4Address.Any;
        if (next.IsAny)
        {
            problem = $"{reply.MessageType} names no server to fetch {file} from";
            return null;
        }

        return new BootAnswer(reply.YourAddress, file, next);
    }

    private static DhcpPacket Base(ReadOnlySpan<byte> mac, uint xid, IPv4Address relay, int architecture, bool ipxe, ushort seconds)
    {
        // Relayed: a relay agent forwards the client's packet with hops + 1 and its own address as giaddr.
        var packet = new DhcpPacket { TransactionId = xid, Seconds = seconds, Hops = 1, RelayAgentAddress = relay };
        // EDK2's PXE sets the broadcast bit, iPXE does not; through a relay it only tells the relay how to deliver.
        packet.Broadcast = !ipxe && architecture != 0;
        packet.SetClientHardwareAddress(mac);
        return packet;
    }

    private static DhcpPacket Options(DhcpPacket packet, ReadOnlySpan<byte> mac, int architecture, bool ipxe)
    {
        var options = packet.Options;
        Span<byte> word = stackalloc byte[2];
        options.MaxMessageSize = 1472;
        if (ipxe)
        {
            BinaryPrimitives.WriteUInt16BigEndian(word, (ushort)architecture);
            options.Set(DhcpOptionCode.ClientSystemArchitecture, word);
            options.Set(DhcpOptionCode.ClientNetworkInterface, architecture == 0 ? [1, 2, 1] : [1, 3, 16]);
            options.VendorClassIdentifier = VendorClass(architecture);
            options.Set(DhcpOptionCode.UserClass, "iPXE"u8); // bare, as iPXE sends it (not RFC 3004 length-prefixed)
            options.Set(DhcpOptionCode.ParameterRequestList, [1, 3, 6, 7, 12, 15, 17, 26, 43, 60, 66, 67, 119, 128, 129, 130, 131, 132, 133, 134, 135, 175, 203]);
            // 175: iPXE's feature flags: 19 HTTP, 21 TFTP, 24 bzImage, 33 PXE, 16 PXE extensions 2.
            options.Set(DhcpOptionCode.IpxeEncapsulated, [19, 1, 1, 21, 1, 1, 24, 1, 1, 33, 1, 1, 16, 1, 2]);
            Span<byte> clientId = stackalloc byte[7];
            clientId[0] = 1; // htype Ethernet, then the MAC (RFC 2132 §9.14)
            mac.CopyTo(clientId[1..]);
            options.Set(DhcpOptionCode.ClientIdentifier, clientId);
            options.ClientMachineIdentifier = Uuid(mac);
        }
        else
        {
            options.Set(DhcpOptionCode.ParameterRequestList, [1, 2, 3, 4, 5, 6, 12, 13, 15, 17, 18, 22, 23, 28, 40, 41, 42, 43, 50, 51, 54, 58, 59, 60, 66, 67, 97, 128, 129, 130, 131, 132, 133, 134, 135]);
            options.ClientMachineIdentifier = Uuid(mac);
            options.Set(DhcpOptionCode.ClientNetworkInterface, architecture == 0 ? [1, 2, 1] : [1, 3, 16]);
            BinaryPrimitives.WriteUInt16BigEndian(word, (ushort)architecture);
            options.Set(DhcpOptionCode.ClientSystemArchitecture, word);
            options.VendorClassIdentifier = VendorClass(architecture);
        }

        return packet;
    }
}
