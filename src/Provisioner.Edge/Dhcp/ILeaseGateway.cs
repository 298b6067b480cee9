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

    Task<LeaseAnswer> ReleaseAsync(string subnetId, MachineId mac, IPv4Address address, DateTimeOffset at, CancellationToken cancellationToken);

    Task<LeaseAnswer> DeclineAsync(string subnetId, MachineId mac, IPv4Address address, DateTimeOffset at, CancellationToken cancellationToken);
}

/// <summary>A lease actor's answer.</summary>
public sealed record LeaseAnswer(LeaseOutcome Outcome, IPv4Address? Address, DateTimeOffset? ExpiresAt, string? Reason)
{
    public static LeaseAnswer From(SubnetLeaseProtocol.LeaseResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return new LeaseAnswer(result.Outcome, IPv4Address.TryParse(result.Address, out var a) ? a : null, result.ExpiresAt, result.Reason);
    }
}

/// <summary><see cref="ILeaseGateway"/> over the subnet lease shard region (or proxy), with the configured ask timeout.</summary>
public sealed class ClusterLeaseGateway(IRequiredActor<SubnetLeaseRegion> leaseRegion, TimeSpan askTimeout) : ILeaseGateway
{
    public Task<LeaseAnswer> OfferAsync(string subnetId, MachineId mac, IPv4Address? requested, DateTimeOffset at, CancellationToken cancellationToken) =>
        Ask(new SubnetLeaseProtocol.Offer(subnetId, mac.Value, requested?.ToString(), at), cancellationToken);

    public Task<LeaseAnswer> RequestAsync(string subnetId, MachineId mac, IPv4Address address, bool renewing, DateTimeOffset at, CancellationToken cancellationToken) =>
        Ask(new SubnetLeaseProtocol.Request(subnetId, mac.Value, address.ToString(), renewing, at), cancellationToken);

    public Task<LeaseAnswer> ReleaseAsync(string subnetId, MachineId mac, IPv4Address address, DateTimeOffset at, CancellationToken cancellationToken) =>
        Ask(new SubnetLeaseProtocol.Release(subnetId, mac.Value, address.ToString(), at), cancellationToken);

    public Task<LeaseAnswer> DeclineAsync(string subnetId, MachineId mac, IPv4Address address, DateTimeOffset at, CancellationToken cancellationToken) =>
        Ask(new SubnetLeaseProtocol.Decline(subnetId, mac.Value, address.ToString(), at), cancellationToken);

    private async Task<LeaseAnswer> Ask(IWithSubnetId message, CancellationToken cancellationToken)
    {
        var region = await leaseRegion.GetAsync(cancellationToken).ConfigureAwait(false);
        return LeaseAnswer.From(await region.Ask<SubnetLeaseProtocol.LeaseResult>(message, askTimeout, cancellationToken).ConfigureAwait(false));
    }
}
