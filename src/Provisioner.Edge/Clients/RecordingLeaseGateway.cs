using System.Net;
using Provisioner.Cluster.Leases;
using Provisioner.Domain.Leases;
using Provisioner.Domain.Machines;
using Provisioner.Edge.Dhcp;
using Provisioner.Protocols.Dhcp;

namespace Provisioner.Edge.Clients;

/// <summary>Records every acknowledged lease in the <see cref="ClientAddressBook"/>, so TFTP and HTTP can name the machine behind an address.</summary>
public sealed class RecordingLeaseGateway(ILeaseGateway inner, ClientAddressBook addresses) : ILeaseGateway
{
    public Task<LeaseAnswer> OfferAsync(string subnetId, MachineId mac, IPv4Address? requested, DateTimeOffset at, CancellationToken cancellationToken) =>
        inner.OfferAsync(subnetId, mac, requested, at, cancellationToken);

    public async Task<LeaseAnswer> RequestAsync(string subnetId, MachineId mac, IPv4Address address, bool renewing, DateTimeOffset at, CancellationToken cancellationToken)
    {
        var answer = await inner.RequestAsync(subnetId, mac, address, renewing, at, cancellationToken).ConfigureAwait(false);
        if (answer is { Outcome: LeaseOutcome.Acked, Address: { } acked })
        {
            addresses.Record(acked.ToIPAddress(), mac);
        }

        return answer;
    }

    public async Task<LeaseAnswer> RequestFirstBootAsync(string subnetId, MachineId mac, IPv4Address address, MachineCommands.RequestBoot boot, CancellationToken cancellationToken)
    {
        var answer = await inner.RequestFirstBootAsync(subnetId, mac, address, boot, cancellationToken).ConfigureAwait(false);
        if (answer is { Outcome: LeaseOutcome.Acked, Address: { } acked })
        {
            addresses.Record(acked.ToIPAddress(), mac);
        }

        return answer;
    }

    public Task<SubnetLeaseProtocol.SubnetDeclared> DeclareAsync(SubnetDefinition subnet, string node, DateTimeOffset at, CancellationToken cancellationToken) =>
        inner.DeclareAsync(subnet, node, at, cancellationToken);

    public Task<bool> FlushFirstBootAsync(string subnetId, MachineId mac, CancellationToken cancellationToken) =>
        inner.FlushFirstBootAsync(subnetId, mac, cancellationToken);

    public async Task<LeaseAnswer> ReleaseAsync(string subnetId, MachineId mac, IPv4Address address, DateTimeOffset at, CancellationToken cancellationToken)
    {
        addresses.Forget(address.ToIPAddress());
        return await inner.ReleaseAsync(subnetId, mac, address, at, cancellationToken).ConfigureAwait(false);
    }

    public Task<LeaseAnswer> DeclineAsync(string subnetId, MachineId mac, IPv4Address address, DateTimeOffset at, CancellationToken cancellationToken) =>
        inner.DeclineAsync(subnetId, mac, address, at, cancellationToken);

    public Task<long> ForgetWarmUpAsync(CancellationToken cancellationToken) => inner.ForgetWarmUpAsync(cancellationToken);
}
