using System.Net;
using Microsoft.Extensions.Logging;
using Provisioner.Domain.Leases;
using Provisioner.Domain.Machines;
using Provisioner.Protocols.Dhcp;

namespace Provisioner.Edge.Dhcp;

/// <summary>
/// proxyDHCP (<c>dhcp.mode = proxy</c>, PXE 2.1 §2.2.3 and §2.2.6): the site's own DHCP server leases every address;
/// this edge only tells PXE clients what to boot.
/// <list type="bullet">
/// <item>Port 67: a PXE or iPXE client's DISCOVER gets a proxy OFFER: yiaddr 0.0.0.0, option 54 = this edge, option 60
/// <c>PXEClient</c>, siaddr and option 66 = this edge, the boot file in 'file' and option 67, option 97 echoed, and
/// option 43 where the firmware should boot that file without boot-server discovery. Every other packet (a non-PXE
/// client, a REQUEST, a RELEASE …) gets nothing: never an address, never a NAK.</item>
/// <item>Port 4011: a PXE client's unicast boot-server REQUEST (EDK2 sends one after a proxy OFFER without option 43)
/// gets an ACK naming the same boot file, sent back to where it came from.</item>
/// </list>
/// <para>
/// Where the boot is recorded: with no lease to make durable, the proxy DISCOVER is the one message every PXE client
/// sends us (iPXE boots from the OFFER itself, without a 4011 REQUEST), so it records the machine's boot through its
/// actor (<see cref="IMachineGateway.ExecuteAsync"/>: Discovered, Rebooted for an installed machine) before the OFFER
/// names anything, exactly the decision a REQUEST records in server mode. Safe because the decision is idempotent:
/// a retransmitted DISCOVER is answered from <see cref="DhcpReplyMemory"/> without asking again, a copy that reaches the
/// actor decides Unchanged, and the 4011 REQUEST that may follow asks the same command and changes nothing. What it
/// costs is one journal write per new PXE machine's DISCOVER rather than per REQUEST; non-PXE clients cost nothing.
/// </para>
/// </summary>
public sealed partial class DhcpHandler
{
    /// <summary>
    /// Option 43, PXE vendor options (PXE 2.1 §2.4, table 2-1): PXE_DISCOVERY_CONTROL (6) = 8, bit 3: "a boot file
    /// name is in this offer; download it" (no multicast, broadcast or unicast boot-server discovery, no menu), then End.
    /// </summary>
    private static ReadOnlySpan<byte> BootThisFile => [6, 1, 8, 255];

    /// <summary>PXE 2.1 §2.4, PXE_BOOT_ITEM: the boot server type and layer a client asks for on port 4011, echoed in the ACK.</summary>
    private const byte PxeBootItem = 71;

    /// <summary>New machines this proxy records per second at most (<see cref="DhcpServerOptions.ProxyNewMachinesPerSecond"/>).</summary>
    private readonly NewMachineRate _proxyNewMachines = new(options.ProxyNewMachinesPerSecond, (int)Math.Max(1, options.ProxyNewMachinesPerSecond * 5), clock);

    /// <summary>DISCOVERs of never-journaled machines dropped over <see cref="DhcpServerOptions.ProxyNewMachinesPerSecond"/>.</summary>
    public long ProxyNewMachinesRefused => _proxyNewMachines.Refused;

    private async Task<DhcpReplyPlan?> ProxyAsync(DhcpPacket request, DhcpMessageType type, MachineId mac, SubnetDefinition subnet, Client client, DhcpReceiveContext context, CancellationToken ct)
    {
        if (!client.Boots)
        {
            LogIgnored(request, "proxyDHCP answers only PXE clients (option 60 PXEClient or user class iPXE)");
            return null;
        }

        if (context.BootServerPort)
        {
            if (type != DhcpMessageType.Request || request.ClientAddress.IsAny)
            {
                LogIgnored(request, "port 4011 answers only a PXE client's boot-server REQUEST from its address (ciaddr)");
                return null;
            }

            return await BootServerAckAsync(request, mac, client, context, ct).ConfigureAwait(false);
        }

        if (type != DhcpMessageType.Discover)
        {
            // The REQUEST that follows is for the DHCP server that leased the address; ours are only OFFERs.
            LogIgnored(request, "proxyDHCP answers only DISCOVERs on the DHCP port");
            return null;
        }

        if (_answered.TryReplay(mac, request, subnet.Id, out var replay))
        {
            return replay;
        }

        return _answered.Remember(mac, request, subnet.Id, await ProxyOfferAsync(request, mac, client, ct).ConfigureAwait(false));
    }

    private async Task<DhcpReplyPlan?> ProxyOfferAsync(DhcpPacket request, MachineId mac, Client client, CancellationToken ct)
    {
        // No pool bounds the machines a proxied segment brings: a MAC never journaled is recorded only within the rate.
        if (machines.IsSurelyNew(mac) && !_proxyNewMachines.TryTake())
        {
            if (_warnings.TryLog(DhcpWarning.ProxyNewMachines, out var more))
            {
                LogProxyNewMachinesRefused(mac, request.TransactionId, options.ProxyNewMachinesPerSecond, more);
            }

            return null;
        }

        var now = clock.GetUtcNow();
        // Recorded with BootPath via "proxy" (see BootRequest): machine show says the machine reached us through proxyDHCP.
        if (await CommitBootAsync(mac, client, now, request, null, null, ct).ConfigureAwait(false) is not { } boot)
        {
            return null;
        }

        var reply = DhcpPacket.CreateReply(request, DhcpMessageType.Offer);
        if (ProxyReply(request, reply, mac, client, boot, discoveryControl: !PlainUefiPxe(client)) is not { } file)
        {
            LogProxyNothingToBoot(mac, request.TransactionId, boot);
            return null;
        }

        // No yiaddr: the client can take this OFFER only as a broadcast (PXE 2.1 §2.2.3; a relay agent is sent it as usual).
        reply.Broadcast = true;
        LogProxyOffer(mac, request.TransactionId, new PxeClientOptions(request), file);
        return Plan(request, reply);
    }

    private async Task<DhcpReplyPlan?> BootServerAckAsync(DhcpPacket request, MachineId mac, Client client, DhcpReceiveContext context, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        // The same command as the DISCOVER's (recorded then): a repeat the machine decides Unchanged.
        if (await CommitBootAsync(mac, client, now, request, null, null, ct).ConfigureAwait(false) is not { } boot)
        {
            return null;
        }

        var reply = DhcpPacket.CreateReply(request, DhcpMessageType.Ack);
        if (ProxyReply(request, reply, mac, client, boot, discoveryControl: false) is not { } file)
        {
            LogProxyNothingToBoot(mac, request.TransactionId, boot);
            return null;
        }

        if (BootItem(request) is { } item)
        {
            Span<byte> vendor = stackalloc byte[7];
            vendor[0] = PxeBootItem;
            vendor[1] = 4;
            item.CopyTo(vendor[2..]);
            vendor[6] = 255;
            reply.Options.Set(DhcpOptionCode.VendorSpecificInformation, vendor);
        }

        // PXE 2.1 §2.2.6: the ACK goes back to the port and address the REQUEST came from.
        var destination = context.Source.Address.Equals(IPAddress.Any)
            ? new IPEndPoint(request.ClientAddress.ToIPAddress(), options.ClientPort)
            : context.Source;
        LogBootServerAck(mac, request.TransactionId, context.Source, new PxeClientOptions(request), file);
        return new DhcpReplyPlan(reply, destination);
    }

    /// <summary>
    /// Fills a proxy reply: option 54 and 60, the boot file (siaddr, 66, 67, 'file'), option 97 echoed, and option 43
    /// when <paramref name="discoveryControl"/>. Returns the boot file, or null when the machine gets none (an installed
    /// machine's PXE firmware, an architecture without a boot program): then nothing is sent, and the firmware boots
    /// from the site DHCP server's answer alone, which names no boot file, so it falls through to its next device.
    /// </summary>
    private string? ProxyReply(DhcpPacket request, DhcpPacket reply, MachineId mac, Client client, BootAction boot, bool discoveryControl)
    {
        reply.Options.ServerIdentifier = options.Address;
        // PXE 2.1 §2.2.3: a proxyDHCP reply carries option 60 "PXEClient", or PXE firmware takes it for an ordinary offer.
        reply.Options.VendorClassIdentifier = "PXEClient";
        if (ApplyBoot(reply, mac, client, boot, proxy: true) is not { } file)
        {
            return null;
        }

        if (request.Options.TryGet(DhcpOptionCode.ClientMachineIdentifier, out var guid))
        {
            // RFC 4578 §2.3 / PXE 2.1: the client's UUID echoed.
            reply.Options.Set(DhcpOptionCode.ClientMachineIdentifier, guid.Span);
        }

        if (discoveryControl)
        {
            reply.Options.Set(DhcpOptionCode.VendorSpecificInformation, BootThisFile);
        }

        return file;
    }

    /// <summary>
    /// UEFI PXE firmware that is not iPXE (EDK2's PxeBcDxe): its proxy OFFER carries no option 43, which EDK2 takes
    /// for a "BINL" offer and asks the boot file of this edge's port 4011 (pixiecore found that every UEFI firmware
    /// does this, while some ignore an OFFER whose option 43 skips discovery). BIOS PXE ROMs and iPXE boot the OFFER's
    /// file as option 43 tells them.
    /// </summary>
    private static bool PlainUefiPxe(Client client) => !client.Ipxe && client.Architecture > 0;

    /// <summary>Option 43 sub-option 71 (type and layer, 4 bytes) of a boot-server REQUEST, if it has one.</summary>
    private static byte[]? BootItem(DhcpPacket request)
    {
        if (!request.Options.TryGet(DhcpOptionCode.VendorSpecificInformation, out var vendor))
        {
            return null;
        }

        var span = vendor.Span;
        for (var i = 0; i + 1 < span.Length;)
        {
            var code = span[i];
            if (code == 255)
            {
                break;
            }

            if (code == 0)
            {
                i++;
                continue;
            }

            var length = span[i + 1];
            if (i + 2 + length > span.Length)
            {
                break;
            }

            if (code == PxeBootItem && length == 4)
            {
                return span.Slice(i + 2, 4).ToArray();
            }

            i += 2 + length;
        }

        return null;
    }

    /// <summary>What a PXE client said about itself (options 60, 77, 93, 94, 97), formatted only when logged.</summary>
    private readonly struct PxeClientOptions(DhcpPacket request)
    {
        public override string ToString()
        {
            var o = request.Options;
            var guid = o.TryGet(DhcpOptionCode.ClientMachineIdentifier, out var g) ? Convert.ToHexString(g.Span) : "-";
            var architectures = o.ClientSystemArchitectures is { } a ? string.Join('/', a.Select(x => (int)x)) : "-";
            var userClass = o.UserClasses is { } u ? string.Join('/', u) : "-";
            return $"60 '{o.VendorClassIdentifier}', 77 {userClass}, 93 {architectures}, 94 {o.ClientNetworkInterface?.ToString() ?? "-"}, 97 {guid}";
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "proxyDHCP {Mac} DISCOVER xid 0x{Xid:x8} ({Client}) -> proxy OFFER boot file {BootFile}")]
    private partial void LogProxyOffer(MachineId mac, uint xid, PxeClientOptions client, string bootFile);

    [LoggerMessage(Level = LogLevel.Information, Message = "proxyDHCP {Mac} boot-server REQUEST xid 0x{Xid:x8} on port 4011 from {Source} ({Client}) -> ACK boot file {BootFile}")]
    private partial void LogBootServerAck(MachineId mac, uint xid, IPEndPoint source, PxeClientOptions client, string bootFile);

    [LoggerMessage(Level = LogLevel.Information, Message = "proxyDHCP {Mac} xid 0x{Xid:x8}: the machine's answer is {Boot}, which names no boot file for this client; silent (its firmware boots its next device)")]
    private partial void LogProxyNothingToBoot(MachineId mac, uint xid, BootAction boot);
}
