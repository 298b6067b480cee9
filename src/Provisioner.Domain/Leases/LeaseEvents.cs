namespace Provisioner.Domain.Leases;

/// <summary>
/// Facts about one subnet's leases, persisted in its lease actor's journal. FROZEN (STACK.md P7): Hyperion stores
/// type and property names, so change by adding types, never by renaming. Primitives and strings only; each
/// carries its own time. Offers are tentative and never persisted.
/// </summary>
public interface ILeaseEvent
{
    DateTimeOffset At { get; }
}

public static class LeaseEvents
{
    /// <summary><paramref name="Mac"/> holds <paramref name="Address"/> until <paramref name="ExpiresAt"/> (a new lease or a renewal).</summary>
    public sealed record LeaseGranted(DateTimeOffset At, string Mac, string Address, DateTimeOffset ExpiresAt) : ILeaseEvent;

    /// <summary>The client gave its address back (DHCPRELEASE); the MAC keeps its affinity to it.</summary>
    public sealed record LeaseReleased(DateTimeOffset At, string Mac, string Address) : ILeaseEvent;

    /// <summary>The client found the address in use (DHCPDECLINE): nobody gets it before <paramref name="QuarantinedUntil"/>.</summary>
    public sealed record AddressDeclined(DateTimeOffset At, string Mac, string Address, DateTimeOffset QuarantinedUntil) : ILeaseEvent;

    /// <summary>
    /// A PXE machine that had nothing in any journal was ACKed <paramref name="Address"/> (granted in the same write):
    /// the facts of its first boot, made durable with the lease so that its ACK waits for one batched subnet write and
    /// no machine write. The machine records them itself afterwards (Discovered and LeaseRecorded); until it has, the
    /// boot is pending in <see cref="LeaseTableState.PendingBoots"/> and is handed to it again after any restart.
    /// <paramref name="Architecture"/> is option 93 (-1 if absent).
    /// Not sealed only so that <see cref="FirstBootGrantedOnPath"/> is one: pending boots and snapshots hold this type.
    /// </summary>
    public record FirstBootGranted(DateTimeOffset At, string Mac, string Address, int Architecture, bool FirmwareIsIpxe, string? Profile) : ILeaseEvent;

    /// <summary>
    /// A <see cref="FirstBootGranted"/> that also records the boot's <see cref="Machines.BootPath"/>, handed to the machine
    /// with it. A new type, not new properties: Hyperion reads an event's fields by position.
    /// </summary>
    public sealed record FirstBootGrantedOnPath(DateTimeOffset At, string Mac, string Address, int Architecture, bool FirmwareIsIpxe, string? Profile, string Via, string? Relay, string Firmware)
        : FirstBootGranted(At, Mac, Address, Architecture, FirmwareIsIpxe, Profile)
    {
        public Machines.BootPath Path => new(Via, Relay, Firmware);

        public static FirstBootGranted Of(DateTimeOffset at, string mac, string address, int architecture, bool firmwareIsIpxe, string? profile, Machines.BootPath? path) =>
            path is null
                ? new FirstBootGranted(at, mac, address, architecture, firmwareIsIpxe, profile)
                : new FirstBootGrantedOnPath(at, mac, address, architecture, firmwareIsIpxe, profile, path.Via, path.Relay, path.Firmware);
    }

    /// <summary>
    /// A new lease and the machine's first boot in one event (one journal row, not two): what a rollout's new PXE
    /// machine writes before its ACK. Replays as <see cref="Lease"/> then <see cref="Boot"/>; the pair of separate
    /// events written by earlier versions still replays the same. <paramref name="At"/> is the grant's time,
    /// <paramref name="BootAt"/> the first boot's (its DISCOVER). Not sealed only so that
    /// <see cref="FirstBootLeaseGrantedOnPath"/> is one.
    /// </summary>
    public record FirstBootLeaseGranted(
        DateTimeOffset At,
        string Mac,
        string Address,
        DateTimeOffset ExpiresAt,
        DateTimeOffset BootAt,
        int Architecture,
        bool FirmwareIsIpxe,
        string? Profile) : ILeaseEvent
    {
        public LeaseGranted Lease => new(At, Mac, Address, ExpiresAt);

        public virtual FirstBootGranted Boot => new(BootAt, Mac, Address, Architecture, FirmwareIsIpxe, Profile);

        public static FirstBootLeaseGranted Of(LeaseGranted lease, FirstBootGranted boot)
        {
            ArgumentNullException.ThrowIfNull(lease);
            ArgumentNullException.ThrowIfNull(boot);
            if (lease.Mac != boot.Mac || lease.Address != boot.Address)
            {
                throw new ArgumentException($"lease {lease.Mac} {lease.Address} and boot {boot.Mac} {boot.Address} differ", nameof(boot));
            }

            return boot is FirstBootGrantedOnPath path
                ? new FirstBootLeaseGrantedOnPath(lease.At, lease.Mac, lease.Address, lease.ExpiresAt, boot.At, boot.Architecture, boot.FirmwareIsIpxe, boot.Profile, path.Via, path.Relay, path.Firmware)
                : new FirstBootLeaseGranted(lease.At, lease.Mac, lease.Address, lease.ExpiresAt, boot.At, boot.Architecture, boot.FirmwareIsIpxe, boot.Profile);
        }
    }

    /// <summary>A <see cref="FirstBootLeaseGranted"/> whose boot carries its <see cref="Machines.BootPath"/> (<see cref="FirstBootGrantedOnPath"/>).</summary>
    public sealed record FirstBootLeaseGrantedOnPath(
        DateTimeOffset At,
        string Mac,
        string Address,
        DateTimeOffset ExpiresAt,
        DateTimeOffset BootAt,
        int Architecture,
        bool FirmwareIsIpxe,
        string? Profile,
        string Via,
        string? Relay,
        string Firmware) : FirstBootLeaseGranted(At, Mac, Address, ExpiresAt, BootAt, Architecture, FirmwareIsIpxe, Profile)
    {
        public override FirstBootGranted Boot => new FirstBootGrantedOnPath(BootAt, Mac, Address, Architecture, FirmwareIsIpxe, Profile, Via, Relay, Firmware);
    }

    /// <summary>
    /// The subnet's definition, as the edge node <paramref name="Node"/> (its cluster address, <c>host:port</c>) declared
    /// it: a subnet belongs to the site that serves it, and the cluster keeps this one durable definition (see
    /// <see cref="SubnetDeclarations"/>). Addresses dotted quads, <paramref name="Network"/> in CIDR form.
    /// </summary>
    public sealed record SubnetDefined(
        DateTimeOffset At,
        string Node,
        string Id,
        string Network,
        string PoolStart,
        string PoolEnd,
        string? Router,
        string[] Dns,
        string? Domain,
        long LeaseTimeSeconds,
        ReservedAddress[] Reservations) : ILeaseEvent
    {
        /// <summary>The definition in one line, the same for equal definitions (what a refusal names and what is compared).</summary>
        public string Describe()
        {
            var text = new System.Text.StringBuilder()
                .Append(Network).Append(" pool ").Append(PoolStart).Append('-').Append(PoolEnd)
                .Append(" router ").Append(Router ?? "none")
                .Append(" dns ").Append(Dns.Length == 0 ? "none" : string.Join(',', Dns))
                .Append(" domain ").Append(Domain ?? "none")
                .Append(" lease ").Append(LeaseTimeSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)).Append('s')
                .Append(" reservations ").Append(Reservations.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
            foreach (var r in Reservations.OrderBy(r => r.Mac, StringComparer.Ordinal))
            {
                text.Append(' ').Append(r.Mac).Append('=').Append(r.Address);
                if (r.Hostname is { } host)
                {
                    text.Append('(').Append(host).Append(')');
                }
            }

            return text.ToString();
        }
    }

    /// <summary>One reservation of a <see cref="SubnetDefined"/>.</summary>
    public sealed record ReservedAddress(string Mac, string Address, string? Hostname);
}

/// <summary>Inputs to <see cref="LeaseTable.Decide"/>; each carries the time it was observed. MACs are normalised.</summary>
public abstract record LeaseCommand(DateTimeOffset At, string Mac);

public static class LeaseCommands
{
    /// <summary>DHCPDISCOVER: propose an address (tentatively held, never persisted). <paramref name="Requested"/> is option 50.</summary>
    public sealed record Offer(DateTimeOffset At, string Mac, string? Requested) : LeaseCommand(At, Mac);

    /// <summary>DHCPREQUEST selecting or init-reboot: bind <paramref name="Address"/> if it may be this MAC's.</summary>
    public sealed record Request(DateTimeOffset At, string Mac, string Address) : LeaseCommand(At, Mac);

    /// <summary>DHCPREQUEST renewing or rebinding (ciaddr set): extend the MAC's existing lease on <paramref name="Address"/>.</summary>
    public sealed record Renew(DateTimeOffset At, string Mac, string Address) : LeaseCommand(At, Mac);

    public sealed record Release(DateTimeOffset At, string Mac, string Address) : LeaseCommand(At, Mac);

    public sealed record Decline(DateTimeOffset At, string Mac, string Address) : LeaseCommand(At, Mac);
}

public enum LeaseOutcome
{
    /// <summary>An address is proposed (DHCPOFFER).</summary>
    Offered = 0,

    /// <summary>The address is bound (DHCPACK); the grant is durable when the actor answers.</summary>
    Acked = 1,

    /// <summary>The client may not have the address (DHCPNAK); Reason says why.</summary>
    Nakked = 2,

    /// <summary>Nothing to give: the pool is exhausted.</summary>
    NoAddress = 3,

    /// <summary>Release / decline taken, or a message that changes nothing; no reply is sent.</summary>
    Noted = 4,

    /// <summary>The subnet is not configured on the node owning the lease actor.</summary>
    UnknownSubnet = 5,

    /// <summary>
    /// Never decided by a lease table: an edge's own answer when the subnet's lease actor cannot be reached (no core
    /// node reachable) and nothing it remembers can answer. Grants nothing; the DHCP server stays silent.
    /// </summary>
    Unavailable = 6,
}

/// <summary>A tentative offer made at <paramref name="At"/>: held in memory only, until <paramref name="Until"/>, so that two DISCOVERs do not get the same address.</summary>
public sealed record TentativeOffer(string Mac, string Address, DateTimeOffset Until, DateTimeOffset At);

/// <summary>What <see cref="LeaseTable.Decide"/> concluded: the answer, the facts to persist first, and an offer to hold.</summary>
public sealed record LeaseDecision(
    LeaseOutcome Outcome,
    string? Address,
    DateTimeOffset? ExpiresAt,
    IReadOnlyList<ILeaseEvent> Events,
    string? Reason = null,
    TentativeOffer? Offer = null);

/// <summary>Timings that are policy, not facts: passed to Decide, never read by Apply.</summary>
public sealed record LeasePolicy
{
    public static LeasePolicy Default { get; } = new();

    /// <summary>How long an offered address stays held for its MAC (RFC 2131 §4.3.1 leaves it to the server).</summary>
    public TimeSpan OfferHold { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a declined address is kept out of the pool.</summary>
    public TimeSpan DeclineQuarantine { get; init; } = TimeSpan.FromMinutes(10);
}
