using System.Globalization;
using System.Net;
using Microsoft.Extensions.Logging;
using Provisioner.Domain.Boot;
using Provisioner.Domain.Leases;
using Provisioner.Domain.Machines;
using Provisioner.Protocols.Dhcp;

namespace Provisioner.Edge.Dhcp;

/// <summary>
/// Where a request came in: the local address of the receiving interface, the sender, whether a relay agent forwarded
/// it, and whether it came to the PXE boot-server port (4011, proxyDHCP only) rather than the DHCP server port.
/// </summary>
public sealed record DhcpReceiveContext(IPv4Address InterfaceAddress, IPEndPoint Source, bool Relayed, bool BootServerPort = false);

/// <summary>A reply and where to send it.</summary>
public sealed record DhcpReplyPlan(DhcpPacket Packet, IPEndPoint Destination)
{
    private byte[]? _datagram;

    public bool IsBroadcast => Destination.Address.Equals(IPAddress.Broadcast);

    /// <summary>
    /// <see cref="Packet"/> as it goes on the wire, encoded once: the reply memory keeps these bytes and the server sends
    /// them. A plan is final once encoded (nothing changes its packet after the handler returns it).
    /// </summary>
    public byte[] ToDatagram() => _datagram ??= Packet.ToArray();
}

/// <summary>
/// The DHCP server's logic without a socket: one request (and where it came from) in, one reply plan or silence out.
/// Addresses come from the subnet's lease actor (<see cref="ILeaseGateway"/>); for PXE and iPXE clients the boot
/// answer comes from the machine's actor (<see cref="IMachineGateway"/>). Leases are keyed by chaddr (EDK2 sends no
/// option 61). Gateway failures propagate: the client retransmits, and the server counts the failure.
/// <para>
/// While no core node is reachable the lease gateway answers at once (<see cref="RememberingLeaseGateway"/>): a
/// REQUEST for a grant this edge remembers is ACKed with its original expiry, and for a client that does not PXE-boot
/// (an installer's or an installed system's DHCP client) without any actor; a PXE client's boot needs its machine's
/// actor, so it stays silent, as does everything answered <see cref="LeaseOutcome.Unavailable"/>.
/// </para>
/// </summary>
/// <param name="profileOf">Which profile a machine gets (by MAC and, if known, address), recorded with its Discovered event; null = unknown here.</param>
/// <param name="bootPolicy">What the machine's boot answer names in a reply; null = <see cref="BootPolicy.For"/> these options.</param>
public sealed partial class DhcpHandler(DhcpServerOptions options, ILeaseGateway leases, IMachineGateway machines, TimeProvider clock, ILogger<DhcpHandler> logger, Func<MachineId, IPv4Address?, string?>? profileOf = null, IBootPolicy? bootPolicy = null)
{
    private readonly IBootPolicy _boot = bootPolicy ?? BootPolicy.For(options);

    /// <summary>Warnings a peer can repeat at will: one line per cause every 10 s, with how many were left out.</summary>
    private readonly LogSummary<DhcpWarning> _warnings = new(TimeSpan.FromSeconds(10), clock);

    private enum DhcpWarning
    {
        NoSubnet,
        RefusedSubnet,
        NoLease,
        CoresUnreachable,
        NoBootFile,
        SilentBoot,
        Nak,
        ProxyNewMachines,
    }

    /// <summary>The OFFERs and ACKs sent lately, by exchange: a retransmission gets the same answer and commits nothing.</summary>
    private readonly DhcpReplyMemory _answered = new(clock);

    /// <summary>Retransmitted DISCOVERs and REQUESTs answered from <see cref="DhcpReplyMemory"/>, without asking any actor.</summary>
    public long RepliesReplayed => _answered.Replayed;

    /// <summary>Subnets the cluster refused this node's definition of: their requests are dropped, never answered from another node's definition.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _refused = new(StringComparer.Ordinal);

    /// <summary>
    /// The cluster holds a different definition of <paramref name="subnetId"/>, made by another node: this node stops
    /// answering the subnet (its addresses would come from a pool it does not know). <paramref name="reason"/> names both.
    /// </summary>
    public void RefuseSubnet(string subnetId, string reason) => _refused[subnetId] = reason;

    /// <summary>The cluster accepted this node's definition of <paramref name="subnetId"/> (again).</summary>
    public void AcceptSubnet(string subnetId) => _refused.TryRemove(subnetId, out _);

    public async Task<DhcpReplyPlan?> HandleAsync(DhcpPacket request, DhcpReceiveContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);

        if (request.Op != DhcpOpCode.BootRequest || request.MessageType is not { } type)
        {
            LogIgnored(request, "not a DHCP request");
            return null;
        }

        if (request.HardwareType != 1 || request.HardwareAddressLength != 6)
        {
            LogIgnored(request, "not an Ethernet client (htype 1, hlen 6)");
            return null;
        }

        var mac = MachineId.FromBytes(request.ClientHardwareAddress);
        var xid = request.TransactionId;
        var subnet = SelectSubnet(request, context);
        if (subnet is null)
        {
            if (_warnings.TryLog(DhcpWarning.NoSubnet, out var more))
            {
                LogNoSubnet(mac, type, xid, request.RelayAgentAddress, more);
            }

            return null;
        }

        if (!_refused.IsEmpty && _refused.TryGetValue(subnet.Id, out var refusal))
        {
            if (_warnings.TryLog(DhcpWarning.RefusedSubnet, out var more))
            {
                LogRefusedSubnet(mac, type, xid, subnet.Id, refusal, more);
            }

            return null;
        }

        var client = Classify(request);
        if (options.Mode == DhcpMode.Proxy)
        {
            return await ProxyAsync(request, type, mac, subnet, client, context, cancellationToken).ConfigureAwait(false);
        }

        if (!client.Boots && options.NonPxeClients == NonPxeClientPolicy.Ignore)
        {
            LogIgnored(request, "non-PXE client and non-pxe-clients = ignore");
            return null;
        }

        // A copy of an exchange already answered (firmware retransmits on its own timers, and under load a copy can be
        // handled after the original): the same answer, and nothing recorded again. Otherwise a late copy of an install's
        // REQUEST, handled after the machine had installed, would be taken for a reboot.
        if (type is DhcpMessageType.Discover or DhcpMessageType.Request && _answered.TryReplay(mac, request, subnet.Id, out var replay))
        {
            return replay;
        }

        if (type is DhcpMessageType.Decline or DhcpMessageType.Release)
        {
            _answered.Forget(mac);
        }

        var now = clock.GetUtcNow();
        return type switch
        {
            DhcpMessageType.Discover => _answered.Remember(mac, request, subnet.Id, await DiscoverAsync(request, mac, subnet, client, now, cancellationToken).ConfigureAwait(false)),
            DhcpMessageType.Request => _answered.Remember(mac, request, subnet.Id, await RequestAsync(request, mac, subnet, client, now, cancellationToken).ConfigureAwait(false)),
            DhcpMessageType.Decline => await DeclineAsync(request, mac, subnet, now, cancellationToken).ConfigureAwait(false),
            DhcpMessageType.Release => await ReleaseAsync(request, mac, subnet, now, cancellationToken).ConfigureAwait(false),
            DhcpMessageType.Inform => Inform(request, mac, subnet),
            _ => null,
        };
    }

    // ------------------------------------------------------------------------------------------
    // Message types (RFC 2131 §4.3)
    // ------------------------------------------------------------------------------------------

    private async Task<DhcpReplyPlan?> DiscoverAsync(DhcpPacket request, MachineId mac, SubnetDefinition subnet, Client client, DateTimeOffset now, CancellationToken ct)
    {
        // Neither answer touches a journal: the subnet holds the offer in memory, the machine previews its boot. The
        // address first: a DISCOVER that cannot be offered one (a pool drained by a flood of new MACs) costs no
        // machine actor. An offer held for a machine that then stays silent lapses on its own.
        var lease = await leases.OfferAsync(subnet.Id, mac, request.Options.RequestedIPAddress, now, ct).ConfigureAwait(false);
        if (lease.Outcome != LeaseOutcome.Offered || lease.Address is not { } address)
        {
            NoLease(mac, DhcpMessageType.Discover, request.TransactionId, subnet.Id, lease);
            return null;
        }

        if (lease.FromMemory && client.Boots)
        {
            return SilentWithoutActor(mac, DhcpMessageType.Discover, request.TransactionId, subnet.Id);
        }

        var boot = client.Boots && machines.IsSurelyNew(mac)
            ? FirstBoot(mac, client, now, request)
            : await PreviewBootAsync(mac, client, now, request, ct).ConfigureAwait(false);
        if (boot is null)
        {
            return null;
        }

        if (boot == BootAction.LocalDisk && !client.Ipxe)
        {
            // An installed machine PXE-booting again is told nothing to boot, so its firmware sends no REQUEST: this
            // DISCOVER is the last word it says, and the machine records it (Rebooted, once) before the OFFER.
            boot = await CommitBootAsync(mac, client, now, request, null, null, ct).ConfigureAwait(false);
            if (boot is null)
            {
                return null;
            }
        }

        var reply = LeaseReply(request, DhcpMessageType.Offer, subnet, mac, address, lease.ExpiresAt ?? now + subnet.LeaseTime, now);
        var file = ApplyBoot(reply, mac, client, boot.Value);
        LogOffer(mac, request.TransactionId, address, file);
        return Plan(request, reply);
    }

    private async Task<DhcpReplyPlan?> RequestAsync(DhcpPacket request, MachineId mac, SubnetDefinition subnet, Client client, DateTimeOffset now, CancellationToken ct)
    {
        IPv4Address address;
        bool renewing;
        if (request.Options.ServerIdentifier is { } serverId)
        {
            // SELECTING: the client chose an offer; only ours concerns us.
            if (serverId != options.Address)
            {
                LogOtherServer(request, serverId);
                return null;
            }

            if (request.Options.RequestedIPAddress is not { } requested)
            {
                LogIgnored(request, "SELECTING REQUEST without option 50");
                return null;
            }

            (address, renewing) = (requested, false);
        }
        else if (request.ClientAddress.IsAny)
        {
            // INIT-REBOOT: the client asks for the address it remembers.
            if (request.Options.RequestedIPAddress is not { } requested)
            {
                LogIgnored(request, "INIT-REBOOT REQUEST without option 50");
                return null;
            }

            if (!subnet.Contains(requested))
            {
                return Nak(request, mac, $"{requested} is not on this network ({subnet.Cidr})");
            }

            (address, renewing) = (requested, false);
        }
        else
        {
            // RENEWING (unicast) or REBINDING (broadcast): ciaddr is the address held.
            (address, renewing) = (request.ClientAddress, true);
        }

        if (client.Boots && !renewing && machines.IsSurelyNew(mac))
        {
            return await RequestFirstBootAsync(request, mac, subnet, client, address, now, ct).ConfigureAwait(false);
        }

        // The lease first (durable in the subnet's journal, batched with every other REQUEST in flight), then the
        // machine records its boot and that lease in one write: an ACK waits for two batched writes, never a read.
        var lease = await leases.RequestAsync(subnet.Id, mac, address, renewing, now, ct).ConfigureAwait(false);
        if (lease is not { Outcome: LeaseOutcome.Acked, Address: { } granted })
        {
            return NotAcked(request, mac, subnet, lease);
        }

        if (_answered.TryReplay(mac, request, subnet.Id, out var answeredMeanwhile))
        {
            // Another copy of this REQUEST was ACKed while the lease was being granted: its boot is recorded already.
            return answeredMeanwhile;
        }

        if (lease.FromMemory && client.Boots)
        {
            return SilentWithoutActor(mac, DhcpMessageType.Request, request.TransactionId, subnet.Id);
        }

        return await CommitBootAsync(mac, client, now, request, granted, subnet, ct).ConfigureAwait(false) is { } boot
            ? Ack(request, mac, subnet, client, granted, lease, boot, now)
            : null;
    }

    /// <summary>
    /// A REQUEST of a machine this node knows has nothing in any journal (a rollout's new machine): its first boot is
    /// decided here from the empty state (the same rule its actor applies) and made durable with the lease, in one
    /// batched subnet write; the subnet has the machine record it afterwards. No machine actor is created or read.
    /// </summary>
    private async Task<DhcpReplyPlan?> RequestFirstBootAsync(DhcpPacket request, MachineId mac, SubnetDefinition subnet, Client client, IPv4Address address, DateTimeOffset now, CancellationToken ct)
    {
        var bootRequest = BootRequest(mac, client, now, request, address.ToString(), subnet.Id);
        if (FirstBoot(mac, bootRequest, request) is not { } boot)
        {
            return null;
        }

        var lease = await leases.RequestFirstBootAsync(subnet.Id, mac, address, bootRequest, ct).ConfigureAwait(false);
        return lease is { Outcome: LeaseOutcome.Acked, Address: { } granted }
            ? Ack(request, mac, subnet, client, granted, lease, boot, now)
            : NotAcked(request, mac, subnet, lease);
    }

    /// <summary>
    /// A PXE client's lease answered from this edge's memory: no core is reachable, so neither is the machine's actor,
    /// which decides (and records) what the client boots. Silent; the firmware retransmits.
    /// </summary>
    private DhcpReplyPlan? SilentWithoutActor(MachineId mac, DhcpMessageType type, uint xid, string subnet)
    {
        if (_warnings.TryLog(DhcpWarning.CoresUnreachable, out var more))
        {
            LogUnavailable(mac, type, xid, subnet, "a PXE boot needs its machine's actor", more);
        }

        return null;
    }

    /// <summary>The ACK of a durable grant, naming the machine's boot.</summary>
    private DhcpReplyPlan Ack(DhcpPacket request, MachineId mac, SubnetDefinition subnet, Client client, IPv4Address granted, LeaseAnswer lease, BootAction boot, DateTimeOffset now)
    {
        var reply = LeaseReply(request, DhcpMessageType.Ack, subnet, mac, granted, lease.ExpiresAt ?? now + subnet.LeaseTime, now);
        var file = ApplyBoot(reply, mac, client, boot);
        if (lease.FromMemory)
        {
            LogAckFromMemory(mac, request.TransactionId, granted, lease.ExpiresAt);
        }
        else
        {
            LogReply(mac, DhcpMessageType.Request, request.TransactionId, DhcpMessageType.Ack, granted, file);
        }

        return Plan(request, reply);
    }

    /// <summary>A REQUEST the subnet did not grant: a NAK when it said no, else silence (no address, unknown subnet).</summary>
    private DhcpReplyPlan? NotAcked(DhcpPacket request, MachineId mac, SubnetDefinition subnet, LeaseAnswer lease)
    {
        if (lease.Outcome == LeaseOutcome.Nakked)
        {
            return Nak(request, mac, lease.Reason ?? "address not available");
        }

        NoLease(mac, DhcpMessageType.Request, request.TransactionId, subnet.Id, lease);
        return null;
    }

    private async Task<DhcpReplyPlan?> DeclineAsync(DhcpPacket request, MachineId mac, SubnetDefinition subnet, DateTimeOffset now, CancellationToken ct)
    {
        if (!ForUs(request) || request.Options.RequestedIPAddress is not { } address)
        {
            LogIgnored(request, "DECLINE not for us or without option 50");
            return null;
        }

        var answer = await leases.DeclineAsync(subnet.Id, mac, address, now, ct).ConfigureAwait(false);
        LogReply(mac, DhcpMessageType.Decline, request.TransactionId, null, address, answer.Reason);
        return null;
    }

    private async Task<DhcpReplyPlan?> ReleaseAsync(DhcpPacket request, MachineId mac, SubnetDefinition subnet, DateTimeOffset now, CancellationToken ct)
    {
        if (!ForUs(request) || request.ClientAddress.IsAny)
        {
            LogIgnored(request, "RELEASE not for us or without ciaddr");
            return null;
        }

        var answer = await leases.ReleaseAsync(subnet.Id, mac, request.ClientAddress, now, ct).ConfigureAwait(false);
        LogReply(mac, DhcpMessageType.Release, request.TransactionId, null, request.ClientAddress, answer.Reason);
        return null;
    }

    /// <summary>DHCPINFORM (RFC 2131 §4.3.5): the subnet's options, no yiaddr, no lease time.</summary>
    private DhcpReplyPlan? Inform(DhcpPacket request, MachineId mac, SubnetDefinition subnet)
    {
        var reply = DhcpPacket.CreateReply(request, DhcpMessageType.Ack);
        reply.Options.ServerIdentifier = options.Address;
        AddSubnetOptions(reply, subnet, mac);
        EchoSubnetSelection(request, reply);
        // Debug: an INFORM leases nothing, and any host can send them as fast as it likes.
        LogInform(mac, request.TransactionId, request.ClientAddress);
        return Plan(request, reply);
    }

    private DhcpReplyPlan Nak(DhcpPacket request, MachineId mac, string reason)
    {
        // RFC 2131 §4.3.2 table 3: NAK carries only 53, 54, 56 (and the echoed 61/82); a relay agent broadcasts it on.
        var reply = DhcpPacket.CreateReply(request, DhcpMessageType.Nak);
        reply.Options.ServerIdentifier = options.Address;
        reply.Options.Set((DhcpOptionCode)56, System.Text.Encoding.ASCII.GetBytes(reason.Length > 250 ? reason[..250] : reason));
        if (!request.RelayAgentAddress.IsAny)
        {
            reply.Broadcast = true;
        }

        if (_warnings.TryLog(DhcpWarning.Nak, out var more))
        {
            LogNak(mac, request.TransactionId, reason, more);
        }

        return Plan(request, reply);
    }

    // ------------------------------------------------------------------------------------------
    // Pieces
    // ------------------------------------------------------------------------------------------

    /// <summary>
    /// Option 60 PXEClient (PXE 2.1 §2.2.5) or HTTPClient (UEFI 2.10 §24.7, HTTP Boot), or user class iPXE;
    /// architecture from option 93, else from option 60's "Arch:NNNNN".
    /// </summary>
    private readonly record struct Client(bool Pxe, bool Ipxe, int Architecture, bool Http = false)
    {
        public bool Boots => Pxe || Ipxe || Http;
    }

    private static Client Classify(DhcpPacket request)
    {
        var options = request.Options;
        var architecture = options.ClientSystemArchitectures is [var first, ..] ? (int)first : -1;
        if (architecture < 0 && options.VendorClassIdentifier is { } vendor)
        {
            architecture = ArchitectureIn(vendor, "PXEClient:Arch:") ?? ArchitectureIn(vendor, "HTTPClient:Arch:") ?? -1;
        }

        return new Client(options.IsPxeClient, options.HasIpxeUserClass, architecture, options.IsHttpClient);
    }

    /// <summary>The five digits after <paramref name="prefix"/> in option 60, e.g. 16 in "HTTPClient:Arch:00016:UNDI:003000".</summary>
    private static int? ArchitectureIn(string vendor, string prefix) =>
        vendor.StartsWith(prefix, StringComparison.Ordinal) && vendor.Length >= prefix.Length + 5
        && int.TryParse(vendor.AsSpan(prefix.Length, 5), NumberStyles.None, CultureInfo.InvariantCulture, out var architecture)
            ? architecture
            : null;

    /// <summary>
    /// Subnet selection: option 118 (RFC 3011), then option 82 sub-option 5 (RFC 3527), then giaddr, then ciaddr (a
    /// relayed client renewing by unicast carries no giaddr), then the local interface address.
    /// </summary>
    public SubnetDefinition? SelectSubnet(DhcpPacket request, DhcpReceiveContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        if (request.Options.SubnetSelection is { } selection)
        {
            return Find(selection);
        }

        if (request.Options.RelayAgentLinkSelection is { } link)
        {
            return Find(link);
        }

        if (!request.RelayAgentAddress.IsAny)
        {
            return Find(request.RelayAgentAddress);
        }

        if (!request.ClientAddress.IsAny && Find(request.ClientAddress) is { } byClient)
        {
            return byClient;
        }

        return Find(context.InterfaceAddress);
    }

    private SubnetDefinition? Find(IPv4Address address)
    {
        foreach (var subnet in options.Subnets)
        {
            if (subnet.Contains(address))
            {
                return subnet;
            }
        }

        return null;
    }

    /// <summary>A DISCOVER: the machine's boot answer for a PXE/iPXE client, nothing recorded; null = stay silent. Non-booting clients get None.</summary>
    private async Task<BootAction?> PreviewBootAsync(MachineId mac, Client client, DateTimeOffset now, DhcpPacket request, CancellationToken ct)
    {
        if (!client.Boots)
        {
            return BootAction.None;
        }

        var answer = await machines.PreviewBootAsync(mac, BootRequest(mac, client, now, request, null, null), ct).ConfigureAwait(false);
        return Answered(mac, request, answer);
    }

    /// <summary>A DISCOVER of a machine surely new here: its boot answer from the empty state, without its actor; null = stay silent.</summary>
    private BootAction? FirstBoot(MachineId mac, Client client, DateTimeOffset now, DhcpPacket request) =>
        FirstBoot(mac, BootRequest(mac, client, now, request, null, null), request);

    private BootAction? FirstBoot(MachineId mac, MachineCommands.RequestBoot bootRequest, DhcpPacket request)
    {
        var empty = MachineState.Empty(mac.Value);
        return Answered(mac, request, new MachineAnswer(DecisionOutcome.Unchanged, Machine.Preview(empty, bootRequest), empty.Stage, null));
    }

    /// <summary>A REQUEST whose lease is durable: the machine records its boot and the lease, then answers; null = stay silent.</summary>
    private async Task<BootAction?> CommitBootAsync(MachineId mac, Client client, DateTimeOffset now, DhcpPacket request, IPv4Address? address, SubnetDefinition? subnet, CancellationToken ct)
    {
        if (!client.Boots)
        {
            return BootAction.None;
        }

        var answer = await machines.ExecuteAsync(mac, BootRequest(mac, client, now, request, address?.ToString(), subnet?.Id), ct).ConfigureAwait(false);
        return Answered(mac, request, answer);
    }

    private MachineCommands.RequestBoot BootRequest(MachineId mac, Client client, DateTimeOffset now, DhcpPacket request, string? address, string? subnet)
    {
        var known = request.Options.RequestedIPAddress ?? (request.ClientAddress.IsAny ? null : request.ClientAddress);
        var profile = profileOf?.Invoke(mac, known);
        // proxyDHCP: the machine reached us as a proxy (another server gave its address), recorded as such.
        var path = options.Mode == DhcpMode.Proxy
            ? new BootPath(BootPath.Proxied, null, BootPath.FirmwareOf(client.Ipxe, request.Options.IsHttpClient))
            : PathOf(request, client.Ipxe);
        return new MachineCommands.RequestBoot(now, client.Architecture, client.Ipxe, profile, address, subnet, path);
    }

    /// <summary>
    /// How <paramref name="request"/> reached us (a relay agent's giaddr, RFC 2131 §4.1, else the local segment) and the
    /// firmware that sent it (option 60 / user class), recorded with the machine's boot.
    /// </summary>
    public static BootPath PathOf(DhcpPacket request, bool ipxe)
    {
        ArgumentNullException.ThrowIfNull(request);
        var firmware = BootPath.FirmwareOf(ipxe, request.Options.IsHttpClient);
        return request.RelayAgentAddress.IsAny
            ? new BootPath(BootPath.Local, null, firmware)
            : new BootPath(BootPath.Relayed, RelayText(request.RelayAgentAddress), firmware);
    }

    /// <summary>The last relay agent's address as text: a segment's machines all come through the same one or two.</summary>
    private static RelayName? _lastRelay;

    private static string RelayText(IPv4Address relay)
    {
        if (Volatile.Read(ref _lastRelay) is { } last && last.Address == relay)
        {
            return last.Text;
        }

        var name = new RelayName(relay, relay.ToString());
        Volatile.Write(ref _lastRelay, name);
        return name.Text;
    }

    private sealed record RelayName(IPv4Address Address, string Text);

    private BootAction? Answered(MachineId mac, DhcpPacket request, MachineAnswer answer)
    {
        if (answer.Boot == BootAction.None)
        {
            if (_warnings.TryLog(DhcpWarning.SilentBoot, out var more))
            {
                LogSilentBoot(mac, request.MessageType, request.TransactionId, answer.Stage, answer.Reason, more);
            }

            return null;
        }

        return answer.Boot;
    }

    private void NoLease(MachineId mac, DhcpMessageType type, uint xid, string subnet, LeaseAnswer lease)
    {
        if (lease.Outcome == LeaseOutcome.Unavailable)
        {
            // The edge already said once that the cores are unreachable; this is its consequence, not a new problem.
            if (_warnings.TryLog(DhcpWarning.CoresUnreachable, out var suppressed))
            {
                LogUnavailable(mac, type, xid, subnet, lease.Reason, suppressed);
            }

            return;
        }

        if (_warnings.TryLog(DhcpWarning.NoLease, out var more))
        {
            LogNoLease(mac, type, xid, subnet, lease.Outcome, lease.Reason, more);
        }
    }

    private DhcpPacket LeaseReply(DhcpPacket request, DhcpMessageType type, SubnetDefinition subnet, MachineId mac, IPv4Address address, DateTimeOffset expiresAt, DateTimeOffset now)
    {
        var reply = DhcpPacket.CreateReply(request, type);
        reply.YourAddress = address;
        reply.Options.ServerIdentifier = options.Address;
        var seconds = (uint)Math.Clamp((expiresAt - now).TotalSeconds, 1, uint.MaxValue - 1);
        reply.Options.LeaseTimeSeconds = seconds;
        reply.Options.RenewalTimeSeconds = seconds / 2;
        reply.Options.RebindingTimeSeconds = (uint)(seconds * 7UL / 8);
        AddSubnetOptions(reply, subnet, mac);
        EchoSubnetSelection(request, reply);
        return reply;
    }

    private static void AddSubnetOptions(DhcpPacket reply, SubnetDefinition subnet, MachineId mac)
    {
        reply.Options.SubnetMask = subnet.Mask;
        if (subnet.Router is { } router)
        {
            reply.Options.Routers = [router];
        }

        if (subnet.Dns.Count > 0)
        {
            reply.Options.DomainNameServers = subnet.Dns;
        }

        if (subnet.Domain is { } domain)
        {
            reply.Options.DomainName = domain;
        }

        reply.Options.BroadcastAddress = subnet.Broadcast;
        if (subnet.ReservationFor(mac.Value)?.Hostname is { Length: > 0 } hostname)
        {
            reply.Options.HostName = hostname;
        }
    }

    /// <summary>RFC 3011 §3: a server that honours option 118 returns it unchanged.</summary>
    private static void EchoSubnetSelection(DhcpPacket request, DhcpPacket reply)
    {
        if (request.Options.TryGet(DhcpOptionCode.SubnetSelection, out var selection))
        {
            reply.Options.Set(DhcpOptionCode.SubnetSelection, selection.Span);
        }
    }

    /// <summary>Maps the machine's boot answer onto the reply; returns the boot file named, if any.</summary>
    /// <param name="proxy">A proxyDHCP reply: it must not tell iPXE to skip proxyDHCP (it is the proxyDHCP offer).</param>
    private string? ApplyBoot(DhcpPacket reply, MachineId mac, Client client, BootAction action, bool proxy = false)
    {
        if (!client.Boots)
        {
            return null;
        }

        if (!proxy)
        {
            // iPXE: do not wait for ProxyDHCP offers (175.176 = 1).
            reply.Options.IpxeNoPxeDhcp = true;
        }

        // The client's address, for rules that choose its boot file by address: the one granted, or (a proxyDHCP ACK on
        // port 4011) the one it holds from the site's server; a proxy OFFER knows none.
        var address = !reply.YourAddress.IsAny ? reply.YourAddress : !reply.ClientAddress.IsAny ? reply.ClientAddress : (IPv4Address?)null;
        var boot = _boot.DhcpBootFile(mac, action, client.Ipxe, client.Architecture, address);
        if (boot.Kind == DhcpBootKind.NoNbpForArchitecture && _warnings.TryLog(DhcpWarning.NoBootFile, out var more))
        {
            LogNoBootFile(mac, client.Architecture, more);
        }

        if (boot.Name is not { } file)
        {
            return null;
        }

        reply.ServerAddress = options.Address;
        if (boot.Kind == DhcpBootKind.NbpOverHttp)
        {
            // UEFI 2.10 §24.7, HTTP Boot: EDK2 takes only an offer that says "HTTPClient" in option 60 as one
            // naming a boot URI, and sends no REQUEST for any other.
            reply.Options.Set(DhcpOptionCode.VendorClassIdentifier, DhcpOptions.HttpClientVendorClass);
        }
        else
        {
            reply.Options.TftpServerName = options.Address.ToString();
        }

        reply.Options.BootfileName = file;
        if (file.Length < 128)
        {
            // Older PXE ROMs read the BOOTP 'file' field rather than option 67.
            reply.BootFileName = file;
        }

        return file;
    }

    /// <summary>RELEASE and DECLINE name their server in option 54 (RFC 2131 §4.4.4, §4.4.6); one for another server is not ours.</summary>
    private bool ForUs(DhcpPacket request) => request.Options.ServerIdentifier is not { } id || id == options.Address;

    /// <summary>
    /// RFC 2131 §4.1: relayed → the relay agent's server port; a NAK otherwise → broadcast; ciaddr set → unicast to
    /// it; else (broadcast bit, or no address to send to yet) → broadcast on the segment.
    /// </summary>
    public DhcpReplyPlan Plan(DhcpPacket request, DhcpPacket reply)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(reply);
        IPEndPoint destination;
        if (!request.RelayAgentAddress.IsAny)
        {
            destination = new IPEndPoint(request.RelayAgentAddress.ToIPAddress(), options.Port);
        }
        else if (reply.MessageType == DhcpMessageType.Nak || request.ClientAddress.IsAny)
        {
            destination = new IPEndPoint(IPAddress.Broadcast, options.ClientPort);
        }
        else
        {
            destination = new IPEndPoint(request.ClientAddress.ToIPAddress(), options.ClientPort);
        }

        return new DhcpReplyPlan(reply, destination);
    }

    // ------------------------------------------------------------------------------------------
    // Logs
    // ------------------------------------------------------------------------------------------

    // One Information line per exchange (the ACK: an address granted, durable); the OFFER before it is Debug.
    [LoggerMessage(Level = LogLevel.Debug, Message = "DHCP {Mac} DISCOVER xid 0x{Xid:x8} -> OFFER {Address} boot file {BootFile}")]
    private partial void LogOffer(MachineId mac, uint xid, IPv4Address address, string? bootFile);

    [LoggerMessage(Level = LogLevel.Information, Message = "DHCP {Mac} {MessageType} xid 0x{Xid:x8} -> {Reply} {Address} boot file {BootFile}")]
    private partial void LogReply(MachineId mac, DhcpMessageType messageType, uint xid, DhcpMessageType? reply, IPv4Address address, string? bootFile);

    [LoggerMessage(Level = LogLevel.Information, Message = "DHCP {Mac} REQUEST xid 0x{Xid:x8} -> ACK {Address} from this edge's memory of its grant, expiring at {ExpiresAt:O} as granted (no core reachable)")]
    private partial void LogAckFromMemory(MachineId mac, uint xid, IPv4Address address, DateTimeOffset? expiresAt);

    [LoggerMessage(Level = LogLevel.Information, Message = "DHCP {Mac} {MessageType} xid 0x{Xid:x8}: no core node reachable in subnet {Subnet} ({Reason}); silent ({Suppressed} more like it not logged since the last line)")]
    private partial void LogUnavailable(MachineId mac, DhcpMessageType messageType, uint xid, string subnet, string? reason, long suppressed);

    [LoggerMessage(Level = LogLevel.Information, Message = "DHCP {Mac} xid 0x{Xid:x8} -> NAK: {Reason} ({Suppressed} more NAKs not logged since the last line)")]
    private partial void LogNak(MachineId mac, uint xid, string reason, long suppressed);

    [LoggerMessage(Level = LogLevel.Debug, Message = "DHCP {Mac} INFORM xid 0x{Xid:x8} from {Address} -> ACK (subnet options)")]
    private partial void LogInform(MachineId mac, uint xid, IPv4Address address);

    [LoggerMessage(Level = LogLevel.Debug, Message = "DHCP ignored {Packet}: {Reason}")]
    private partial void LogIgnored(DhcpPacket packet, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "DHCP ignored {Packet}: REQUEST for server {ServerId}")]
    private partial void LogOtherServer(DhcpPacket packet, IPv4Address serverId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "DHCP {Mac} {MessageType} xid 0x{Xid:x8}: no configured subnet matches (giaddr {Giaddr}); silent ({Suppressed} more like it not logged since the last line)")]
    private partial void LogNoSubnet(MachineId mac, DhcpMessageType messageType, uint xid, IPv4Address giaddr, long suppressed);

    [LoggerMessage(Level = LogLevel.Error, Message = "DHCP {Mac} {MessageType} xid 0x{Xid:x8}: subnet {Subnet} is not served by this node: {Reason}; silent ({Suppressed} more like it not logged since the last line)")]
    private partial void LogRefusedSubnet(MachineId mac, DhcpMessageType messageType, uint xid, string subnet, string reason, long suppressed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "DHCP {Mac} {MessageType} xid 0x{Xid:x8}: no lease from subnet {Subnet} ({Outcome}: {Reason}); silent ({Suppressed} more like it not logged since the last line)")]
    private partial void LogNoLease(MachineId mac, DhcpMessageType messageType, uint xid, string subnet, LeaseOutcome outcome, string? reason, long suppressed);

    [LoggerMessage(Level = LogLevel.Information, Message = "DHCP {Mac} {MessageType} xid 0x{Xid:x8}: machine in stage {Stage} gets no boot ({Reason}); silent ({Suppressed} more like it not logged since the last line)")]
    private partial void LogSilentBoot(MachineId mac, DhcpMessageType? messageType, uint xid, MachineStage stage, string? reason, long suppressed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "DHCP {Mac}: no boot file configured for client architecture {Architecture} (option 93); offering an address without one ({Suppressed} more like it not logged since the last line)")]
    private partial void LogNoBootFile(MachineId mac, int architecture, long suppressed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "DHCP {Mac} DISCOVER xid 0x{Xid:x8}: proxyDHCP: more new machines than {PerSecond}/s (dhcp.proxy-new-machines-per-second); not recorded, silent, the firmware retransmits ({Suppressed} more like it not logged since the last line)")]
    private partial void LogProxyNewMachinesRefused(MachineId mac, uint xid, double perSecond, long suppressed);
}
