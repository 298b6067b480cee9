using Akka.Cluster.Sharding;
using Provisioner.Domain.Leases;

namespace Provisioner.Cluster.Leases;

/// <summary>A message for one subnet's lease actor: the entity id is the subnet id from configuration.</summary>
public interface IWithSubnetId : IProvisionerMessage
{
    string SubnetId { get; }
}

/// <summary>
/// Messages to and from lease actors (sharded by <see cref="IWithSubnetId.SubnetId"/>). Primitives and strings only;
/// MACs normalised (<c>aa:bb:cc:dd:ee:ff</c>), addresses dotted quads, times as observed by the edge.
/// Every command is answered with <see cref="LeaseResult"/>; an ACK only once its grant is durable. A lease command's
/// <c>Ticket</c> (0 when not given) comes back in its result, so that one reply address can take many answers.
/// </summary>
public static class SubnetLeaseProtocol
{
    /// <summary>DHCPDISCOVER. <paramref name="Requested"/> is option 50.</summary>
    public sealed record Offer(string SubnetId, string Mac, string? Requested, DateTimeOffset At, long Ticket = 0) : IWithSubnetId;

    /// <summary>DHCPREQUEST; <paramref name="Renewing"/> when ciaddr is set (RENEWING/REBINDING, RFC 2131 §4.3.2).</summary>
    public sealed record Request(string SubnetId, string Mac, string Address, bool Renewing, DateTimeOffset At, long Ticket = 0) : IWithSubnetId;

    /// <summary>
    /// DHCPREQUEST (selecting or init-reboot) of a PXE machine that has nothing in any journal: the grant and the
    /// machine's first boot (<see cref="Domain.Leases.LeaseEvents.FirstBootGranted"/>) are made durable in one subnet
    /// write, and the answer (an ACK) waits for that write only. The subnet then hands the boot to the machine to record.
    /// <paramref name="Architecture"/> is option 93 (-1 if absent); <paramref name="Path"/> how the request reached the edge.
    /// </summary>
    public sealed record RequestFirstBoot(string SubnetId, string Mac, string Address, DateTimeOffset At, int Architecture, bool FirmwareIsIpxe, string? Profile, Domain.Machines.BootPath? Path = null, long Ticket = 0) : IWithSubnetId;

    /// <summary>
    /// The machine is about to be asked something (a TFTP or HTTP report, its state): if its first boot is still pending
    /// here, have the machine record it now. Answered with <see cref="FirstBootFlushed"/> once recorded (or at once
    /// when nothing is pending for it).
    /// </summary>
    public sealed record FlushFirstBoot(string SubnetId, string Mac) : IWithSubnetId;

    /// <param name="Recorded">A pending first boot was recorded by its machine; false: none was pending (Reason null) or recording failed (Reason says why).</param>
    public sealed record FirstBootFlushed(string SubnetId, string Mac, bool Recorded, string? Reason) : IProvisionerMessage;

    /// <summary>
    /// Start (recover) the subnet's actor if it is not running, so that the first DHCP packet does not wait for its
    /// recovery and first boots still pending from before a restart are handed to their machines now. Answered with
    /// <see cref="Awake"/>.
    /// </summary>
    public sealed record Wake(string SubnetId) : IWithSubnetId;

    /// <summary>
    /// An operator hands the subnet's definition over to <see cref="Node"/> (host:port), decided by
    /// <see cref="SubnetDeclarations.HandOver"/>; answered with <see cref="SubnetDeclared"/> once durable.
    /// </summary>
    public sealed record HandOverSubnet(string SubnetId, string Node, DateTimeOffset At) : IWithSubnetId;

    /// <summary>
    /// An edge node serves this subnet with <paramref name="Definition"/> (its <c>Node</c> names the edge): the first
    /// declaration defines the subnet durably, later ones are checked against it (<see cref="SubnetDeclarations"/>).
    /// Also wakes the actor as <see cref="Wake"/> does. Answered with <see cref="SubnetDeclared"/> (once durable, when written).
    /// </summary>
    public sealed record DeclareSubnet(string SubnetId, LeaseEvents.SubnetDefined Definition) : IWithSubnetId;

    /// <param name="DefinedBy">The node whose definition is durable now.</param>
    /// <param name="Reason">Why a declaration was refused (both definitions and nodes), or what a redefinition replaced.</param>
    public sealed record SubnetDeclared(string SubnetId, SubnetDeclarationOutcome Outcome, string DefinedBy, string? Reason, int Leases, int PendingFirstBoots) : IProvisionerMessage;

    /// <param name="Leases">Bindings the table holds (current and expired).</param>
    /// <param name="PendingFirstBoots">First boots granted with a lease that their machines have not recorded yet (being handed over).</param>
    public sealed record Awake(string SubnetId, int Leases, int PendingFirstBoots) : IProvisionerMessage;

    /// <summary>
    /// Only for <see cref="WarmUpSubnet"/>: delete its journal and stop (answered with <see cref="Forgotten"/> once the
    /// deletion is durable). Any other subnet answers with a failure: a real lease table is never thrown away.
    /// </summary>
    public sealed record Forget(string SubnetId) : IWithSubnetId;

    /// <param name="Events">Events the scratch subnet had persisted since it was last forgotten.</param>
    public sealed record Forgotten(string SubnetId, long Events) : IProvisionerMessage;

    public sealed record Release(string SubnetId, string Mac, string Address, DateTimeOffset At, long Ticket = 0) : IWithSubnetId;

    public sealed record Decline(string SubnetId, string Mac, string Address, DateTimeOffset At, long Ticket = 0) : IWithSubnetId;

    /// <summary>DHCPINFORM: nothing is allocated; the answer carries the MAC's active lease, if any.</summary>
    public sealed record Inform(string SubnetId, string Mac, DateTimeOffset At) : IWithSubnetId;

    /// <summary>Every binding of the subnet (current ones and expired ones still remembered). Answered with <see cref="LeaseList"/>.</summary>
    public sealed record GetLeases(string SubnetId) : IWithSubnetId;

    /// <param name="Ticket">The question's <c>Ticket</c>, copied: which of an edge's questions this answers (0: none given).</param>
    public sealed record LeaseResult(string SubnetId, string Mac, LeaseOutcome Outcome, string? Address, DateTimeOffset? ExpiresAt, string? Reason, long Ticket = 0) : IProvisionerMessage;

    public sealed record LeaseInfo(string Mac, string Address, DateTimeOffset ExpiresAt) : IProvisionerMessage;

    /// <summary><paramref name="MaxWritesInFlight"/>: most persist calls outstanding at once since start (above 1 = grants shared journal writes).</summary>
    public sealed record LeaseList(string SubnetId, LeaseInfo[] Leases, long EventsPersisted, int MaxWritesInFlight) : IProvisionerMessage;
}

/// <summary>Routes <see cref="IWithSubnetId"/> messages to shards by a stable hash of the subnet id.</summary>
public sealed class SubnetMessageExtractor(int maxNumberOfShards) : HashCodeMessageExtractor(maxNumberOfShards)
{
    public override string EntityId(object message) => message switch
    {
        IWithSubnetId m => m.SubnetId,
        _ => null!,
    };
}
