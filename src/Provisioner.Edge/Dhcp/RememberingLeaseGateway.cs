using Provisioner.Cluster.Leases;
using Provisioner.Domain.Leases;
using Provisioner.Domain.Machines;
using Provisioner.Edge.Outage;
using Provisioner.Protocols.Dhcp;

namespace Provisioner.Edge.Dhcp;

/// <summary>
/// Keeps DHCP going for the clients that already hold a lease while no core node can be reached. Remembers every
/// grant it passes (<see cref="RememberedLeases"/>); while the cores are unreachable (<see cref="ICoreReachability"/>),
/// or when an ask of the lease actor gets no answer, a REQUEST for the very address the subnet granted that MAC, not
/// yet expired, is answered Acked from memory with the grant's own expiry, never a later one: the subnet's lease table
/// holds the address for that MAC until then, so no address can be handed out twice. A DISCOVER of such a MAC (a client
/// that rebooted and starts over, as busybox udhcpc and PXE firmware do) is offered the same address, with the same
/// expiry. Everything else during an outage (a DISCOVER of a MAC with no grant here, a first REQUEST, another address,
/// an expired grant, a RELEASE or DECLINE) is answered at once,
/// <see cref="LeaseOutcome.Unavailable"/>, instead of after the ask timeout; the handler stays silent and the client
/// retransmits. Declarations and the warm-up pass through: they have their own retries.
/// </summary>
public sealed class RememberingLeaseGateway : ILeaseGateway, IDisposable
{
    /// <summary>A grant closer than this to its expiry is not renewed from memory: the client would get a lease of seconds.</summary>
    public static readonly TimeSpan ExpiryMargin = TimeSpan.FromSeconds(10);

    private const string NoCore = "no core node reachable";

    private readonly ILeaseGateway inner;
    private readonly RememberedLeases memory;
    private readonly ICoreReachability cores;
    private readonly IDisposable _metrics;
    private long _fromMemory;
    private long _unavailable;

    public RememberingLeaseGateway(ILeaseGateway inner, RememberedLeases memory, ICoreReachability cores)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(memory);
        ArgumentNullException.ThrowIfNull(cores);
        this.inner = inner;
        this.memory = memory;
        this.cores = cores;
        _metrics = OutageMetrics.Register(this);
    }

    public void Dispose() => _metrics.Dispose();

    /// <summary>REQUESTs answered Acked from memory.</summary>
    public long RenewedFromMemory => Interlocked.Read(ref _fromMemory);

    /// <summary>Lease operations answered <see cref="LeaseOutcome.Unavailable"/> without asking (the cores were unreachable).</summary>
    public long AnsweredUnavailable => Interlocked.Read(ref _unavailable);

    public RememberedLeases Memory => memory;

    public Task<LeaseAnswer> OfferAsync(string subnetId, MachineId mac, IPv4Address? requested, DateTimeOffset at, CancellationToken cancellationToken)
    {
        if (cores.CoresReachable)
        {
            return inner.OfferAsync(subnetId, mac, requested, at, cancellationToken);
        }

        return Task.FromResult(Holding(subnetId, mac, at) is { } grant
            ? new LeaseAnswer(LeaseOutcome.Offered, grant.Address, grant.ExpiresAt, "offered from memory: " + NoCore, FromMemory: true)
            : Unavailable());
    }

    public async Task<LeaseAnswer> RequestAsync(string subnetId, MachineId mac, IPv4Address address, bool renewing, DateTimeOffset at, CancellationToken cancellationToken)
    {
        if (!cores.CoresReachable)
        {
            return FromMemory(subnetId, mac, address, at) ?? Unavailable();
        }

        LeaseAnswer answer;
        try
        {
            answer = await inner.RequestAsync(subnetId, mac, address, renewing, at, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (TransportFailure.Is(e, cancellationToken) && FromMemory(subnetId, mac, address, at) is { } remembered)
        {
            return remembered;
        }

        Observe(subnetId, mac, address, answer, at);
        return answer;
    }

    public async Task<LeaseAnswer> RequestFirstBootAsync(string subnetId, MachineId mac, IPv4Address address, MachineCommands.RequestBoot boot, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(boot);
        if (!cores.CoresReachable)
        {
            return Unavailable();
        }

        var answer = await inner.RequestFirstBootAsync(subnetId, mac, address, boot, cancellationToken).ConfigureAwait(false);
        Observe(subnetId, mac, address, answer, boot.At);
        return answer;
    }

    public Task<bool> FlushFirstBootAsync(string subnetId, MachineId mac, CancellationToken cancellationToken) =>
        inner.FlushFirstBootAsync(subnetId, mac, cancellationToken);

    public Task<LeaseAnswer> ReleaseAsync(string subnetId, MachineId mac, IPv4Address address, DateTimeOffset at, CancellationToken cancellationToken)
    {
        memory.Forget(subnetId, mac, address);
        return cores.CoresReachable ? inner.ReleaseAsync(subnetId, mac, address, at, cancellationToken) : Task.FromResult(Unavailable());
    }

    public Task<LeaseAnswer> DeclineAsync(string subnetId, MachineId mac, IPv4Address address, DateTimeOffset at, CancellationToken cancellationToken)
    {
        memory.Forget(subnetId, mac, address);
        return cores.CoresReachable ? inner.DeclineAsync(subnetId, mac, address, at, cancellationToken) : Task.FromResult(Unavailable());
    }

    public Task<SubnetLeaseProtocol.SubnetDeclared> DeclareAsync(SubnetDefinition subnet, string node, DateTimeOffset at, CancellationToken cancellationToken) =>
        inner.DeclareAsync(subnet, node, at, cancellationToken);

    public Task<long> ForgetWarmUpAsync(CancellationToken cancellationToken) => inner.ForgetWarmUpAsync(cancellationToken);

    private void Observe(string subnetId, MachineId mac, IPv4Address address, LeaseAnswer answer, DateTimeOffset at)
    {
        switch (answer)
        {
            case { Outcome: LeaseOutcome.Acked, Address: { } granted, ExpiresAt: { } expires }:
                memory.Remember(new RememberedGrant(subnetId, mac, granted, expires), at);
                break;
            case { Outcome: LeaseOutcome.Nakked }:
                memory.Forget(subnetId, mac, address);
                break;
        }
    }

    /// <summary>The MAC's remembered grant in the subnet, if it holds past <see cref="ExpiryMargin"/> from <paramref name="at"/>.</summary>
    private RememberedGrant? Holding(string subnetId, MachineId mac, DateTimeOffset at) =>
        memory.Find(subnetId, mac) is { } grant && at + ExpiryMargin < grant.ExpiresAt ? grant : null;

    /// <summary>The remembered grant of exactly this address to this MAC in this subnet, if it holds past the margin.</summary>
    private LeaseAnswer? FromMemory(string subnetId, MachineId mac, IPv4Address address, DateTimeOffset at)
    {
        if (Holding(subnetId, mac, at) is not { } grant || grant.Address != address)
        {
            return null;
        }

        Interlocked.Increment(ref _fromMemory);
        return new LeaseAnswer(LeaseOutcome.Acked, grant.Address, grant.ExpiresAt, "renewed from memory: " + NoCore, FromMemory: true);
    }

    private LeaseAnswer Unavailable()
    {
        Interlocked.Increment(ref _unavailable);
        return new LeaseAnswer(LeaseOutcome.Unavailable, null, null, NoCore);
    }
}
