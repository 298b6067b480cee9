using Akka.Actor;
using Akka.Hosting;
using Provisioner.Cluster.Leases;
using Provisioner.Domain.Leases;
using Provisioner.Domain.Machines;
using Provisioner.Protocols.Dhcp;

namespace Provisioner.Edge.Dhcp;

/// <summary>
/// How the DHCP handler talks to subnet lease actors. The cluster implementation asks the lease shard region (or its
/// proxy); handler tests use a fake. An Acked answer means the grant is durable.
/// </summary>
public interface ILeaseGateway
{
    Task<LeaseAnswer> OfferAsync(string subnetId, MachineId mac, IPv4Address? requested, DateTimeOffset at, CancellationToken cancellationToken);

    /// <param name="renewing">ciaddr was set: the client is RENEWING or REBINDING (RFC 2131 §4.3.2) an address it holds.</param>
    Task<LeaseAnswer> RequestAsync(string subnetId, MachineId mac, IPv4Address address, bool renewing, DateTimeOffset at, CancellationToken cancellationToken);

    /// <summary>
    /// A REQUEST (selecting or init-reboot) of a PXE machine with nothing in any journal: the grant and the machine's
    /// first boot are durable in one subnet write when this answers Acked, and the subnet has the machine record the
    /// boot afterwards (<see cref="SubnetLeaseProtocol.RequestFirstBoot"/>).
    /// </summary>
    Task<LeaseAnswer> RequestFirstBootAsync(string subnetId, MachineId mac, IPv4Address address, MachineCommands.RequestBoot boot, CancellationToken cancellationToken);

    /// <summary>Has the machine record its first boot now if the subnet still holds it pending; true when one was recorded.</summary>
    Task<bool> FlushFirstBootAsync(string subnetId, MachineId mac, CancellationToken cancellationToken);

    Task<LeaseAnswer> ReleaseAsync(string subnetId, MachineId mac, IPv4Address address, DateTimeOffset at, CancellationToken cancellationToken);

    /// <summary>
    /// Declares that <paramref name="node"/> serves <paramref name="subnet"/> (see <see cref="SubnetLeaseProtocol.DeclareSubnet"/>);
    /// also recovers the subnet's lease actor if it is not running.
    /// </summary>
    Task<SubnetLeaseProtocol.SubnetDeclared> DeclareAsync(SubnetDefinition subnet, string node, DateTimeOffset at, CancellationToken cancellationToken);

    Task<LeaseAnswer> DeclineAsync(string subnetId, MachineId mac, IPv4Address address, DateTimeOffset at, CancellationToken cancellationToken);

    /// <summary>Deletes the <see cref="WarmUpSubnet"/>'s journal and stops its actor; the events it had persisted.</summary>
    Task<long> ForgetWarmUpAsync(CancellationToken cancellationToken);
}

/// <summary>
/// A lease actor's answer. <paramref name="FromMemory"/>: not the actor's but this edge's, from a grant it remembers
/// while the actor could not be asked (<see cref="RememberingLeaseGateway"/>); nothing new was made durable.
/// </summary>
public sealed record LeaseAnswer(LeaseOutcome Outcome, IPv4Address? Address, DateTimeOffset? ExpiresAt, string? Reason, bool FromMemory = false)
{
    public static LeaseAnswer From(SubnetLeaseProtocol.LeaseResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return new LeaseAnswer(result.Outcome, IPv4Address.TryParse(result.Address, out var a) ? a : null, result.ExpiresAt, result.Reason);
    }
}

/// <summary>
/// <see cref="ILeaseGateway"/> over the subnet lease shard region (or proxy), with the configured ask timeout. The
/// DHCP exchanges' questions go through <see cref="LeaseAsks"/> (one reply address, a ticket per question); the rare
/// ones (flush, declare, forget) through Akka's ask.
/// </summary>
public sealed class ClusterLeaseGateway(IRequiredActor<SubnetLeaseRegion> leaseRegion, TimeSpan askTimeout, LeaseAsks asks) : ILeaseGateway
{
    private IActorRef? _region;

    public Task<LeaseAnswer> OfferAsync(string subnetId, MachineId mac, IPv4Address? requested, DateTimeOffset at, CancellationToken cancellationToken)
    {
        var ticket = asks.NextTicket();
        return Ask(ticket, new SubnetLeaseProtocol.Offer(subnetId, mac.Value, requested?.ToString(), at, ticket), cancellationToken);
    }

    public Task<LeaseAnswer> RequestAsync(string subnetId, MachineId mac, IPv4Address address, bool renewing, DateTimeOffset at, CancellationToken cancellationToken)
    {
        var ticket = asks.NextTicket();
        return Ask(ticket, new SubnetLeaseProtocol.Request(subnetId, mac.Value, address.ToString(), renewing, at, ticket), cancellationToken);
    }

    public Task<LeaseAnswer> RequestFirstBootAsync(string subnetId, MachineId mac, IPv4Address address, MachineCommands.RequestBoot boot, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(boot);
        var ticket = asks.NextTicket();
        return Ask(ticket, new SubnetLeaseProtocol.RequestFirstBoot(subnetId, mac.Value, address.ToString(), boot.At, boot.Architecture, boot.FirmwareIsIpxe, boot.Profile, boot.Path, ticket), cancellationToken);
    }

    public async Task<bool> FlushFirstBootAsync(string subnetId, MachineId mac, CancellationToken cancellationToken)
    {
        var region = await leaseRegion.GetAsync(cancellationToken).ConfigureAwait(false);
        var answer = await region.Ask<SubnetLeaseProtocol.FirstBootFlushed>(new SubnetLeaseProtocol.FlushFirstBoot(subnetId, mac.Value), askTimeout, cancellationToken).ConfigureAwait(false);
        return answer.Recorded;
    }

    public async Task<SubnetLeaseProtocol.SubnetDeclared> DeclareAsync(SubnetDefinition subnet, string node, DateTimeOffset at, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(subnet);
        var region = await leaseRegion.GetAsync(cancellationToken).ConfigureAwait(false);
        return await region.Ask<SubnetLeaseProtocol.SubnetDeclared>(new SubnetLeaseProtocol.DeclareSubnet(subnet.Id, SubnetDeclarations.Declare(subnet, node, at)), askTimeout, cancellationToken).ConfigureAwait(false);
    }

    public Task<LeaseAnswer> ReleaseAsync(string subnetId, MachineId mac, IPv4Address address, DateTimeOffset at, CancellationToken cancellationToken)
    {
        var ticket = asks.NextTicket();
        return Ask(ticket, new SubnetLeaseProtocol.Release(subnetId, mac.Value, address.ToString(), at, ticket), cancellationToken);
    }

    public Task<LeaseAnswer> DeclineAsync(string subnetId, MachineId mac, IPv4Address address, DateTimeOffset at, CancellationToken cancellationToken)
    {
        var ticket = asks.NextTicket();
        return Ask(ticket, new SubnetLeaseProtocol.Decline(subnetId, mac.Value, address.ToString(), at, ticket), cancellationToken);
    }

    public async Task<long> ForgetWarmUpAsync(CancellationToken cancellationToken)
    {
        var region = await leaseRegion.GetAsync(cancellationToken).ConfigureAwait(false);
        var forgotten = await region.Ask<SubnetLeaseProtocol.Forgotten>(new SubnetLeaseProtocol.Forget(WarmUpSubnet.Id), askTimeout, cancellationToken).ConfigureAwait(false);
        return forgotten.Events;
    }

    /// <summary>Without an await once the region is known (it is after the node's first question).</summary>
    private Task<LeaseAnswer> Ask(long ticket, IWithSubnetId message, CancellationToken cancellationToken) =>
        _region is { } region ? asks.Ask(region, ticket, message, cancellationToken) : AskOnceResolved(ticket, message, cancellationToken);

    private async Task<LeaseAnswer> AskOnceResolved(long ticket, IWithSubnetId message, CancellationToken cancellationToken)
    {
        var region = await leaseRegion.GetAsync(cancellationToken).ConfigureAwait(false);
        _region = region;
        return await asks.Ask(region, ticket, message, cancellationToken).ConfigureAwait(false);
    }
}
