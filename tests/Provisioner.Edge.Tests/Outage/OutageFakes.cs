using System.Collections.Concurrent;
using Provisioner.Cluster.Leases;
using Provisioner.Domain.Leases;
using Provisioner.Domain.Machines;
using Provisioner.Edge.Dhcp;
using Provisioner.Edge.Outage;
using Provisioner.Protocols.Dhcp;

namespace Provisioner.Edge.Tests.Outage;

/// <summary>A reachability signal the test sets by hand.</summary>
internal sealed class FakeCoreReachability(bool reachable = true) : ICoreReachability
{
    public bool CoresReachable { get; set; } = reachable;
}

/// <summary>
/// A lease gateway that answers what the test scripts (default: Acked as asked, for an hour), or throws, or never
/// answers at all (an ask to a proxy whose cores are gone, before its timeout); records every call.
/// </summary>
internal sealed class ScriptedLeaseGateway : ILeaseGateway
{
    public ConcurrentQueue<string> Calls { get; } = new();

    /// <summary>Thrown by every call while set.</summary>
    public Exception? Throw { get; set; }

    /// <summary>Every call waits for this (its caller's token still cancels it) while set.</summary>
    public TaskCompletionSource? Hang { get; set; }

    public Func<IPv4Address, DateTimeOffset, LeaseAnswer> Answer { get; set; } =
        (address, at) => new LeaseAnswer(LeaseOutcome.Acked, address, at.AddHours(1), null);

    public Task<LeaseAnswer> OfferAsync(string subnetId, MachineId mac, IPv4Address? requested, DateTimeOffset at, CancellationToken cancellationToken) =>
        Run("offer", () => new LeaseAnswer(LeaseOutcome.Offered, requested ?? IPv4Address.Parse("10.0.0.10"), at.AddHours(1), null), cancellationToken);

    public Task<LeaseAnswer> RequestAsync(string subnetId, MachineId mac, IPv4Address address, bool renewing, DateTimeOffset at, CancellationToken cancellationToken) =>
        Run("request", () => Answer(address, at), cancellationToken);

    public Task<LeaseAnswer> RequestFirstBootAsync(string subnetId, MachineId mac, IPv4Address address, MachineCommands.RequestBoot boot, CancellationToken cancellationToken) =>
        Run("request-first-boot", () => Answer(address, boot.At), cancellationToken);

    public Task<bool> FlushFirstBootAsync(string subnetId, MachineId mac, CancellationToken cancellationToken) =>
        Run("flush", () => false, cancellationToken);

    public Task<LeaseAnswer> ReleaseAsync(string subnetId, MachineId mac, IPv4Address address, DateTimeOffset at, CancellationToken cancellationToken) =>
        Run("release", () => new LeaseAnswer(LeaseOutcome.Noted, address, null, null), cancellationToken);

    public Task<SubnetLeaseProtocol.SubnetDeclared> DeclareAsync(SubnetDefinition subnet, string node, DateTimeOffset at, CancellationToken cancellationToken) =>
        Run("declare", () => new SubnetLeaseProtocol.SubnetDeclared(subnet.Id, SubnetDeclarationOutcome.Unchanged, node, null, 0, 0), cancellationToken);

    public Task<LeaseAnswer> DeclineAsync(string subnetId, MachineId mac, IPv4Address address, DateTimeOffset at, CancellationToken cancellationToken) =>
        Run("decline", () => new LeaseAnswer(LeaseOutcome.Noted, address, null, null), cancellationToken);

    public Task<long> ForgetWarmUpAsync(CancellationToken cancellationToken) => Run("forget-warm-up", () => 0L, cancellationToken);

    private async Task<T> Run<T>(string call, Func<T> answer, CancellationToken cancellationToken)
    {
        Calls.Enqueue(call);
        if (Hang is { } hang)
        {
            await hang.Task.WaitAsync(cancellationToken);
        }

        return Throw is { } e ? throw e : answer();
    }
}

/// <summary>
/// A machine gateway for reports: records every command it was asked to execute, in order, and answers Accepted, or
/// fails (a timeout, as an ask to unreachable cores does) while <see cref="Failing"/> is set.
/// </summary>
internal sealed class RecordingMachineGateway : IMachineGateway
{
    public ConcurrentQueue<(MachineId Machine, MachineCommand Command)> Executed { get; } = new();

    public volatile bool Failing;

    /// <summary>Asks attempted, failed ones included.</summary>
    public int Attempts => _attempts;

    private int _attempts;

    public Task<MachineAnswer> ExecuteAsync(MachineId machine, MachineCommand command, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _attempts);
        if (Failing)
        {
            return Task.FromException<MachineAnswer>(new Akka.Actor.AskTimeoutException("Timeout after 5 seconds"));
        }

        Executed.Enqueue((machine, command));
        return Task.FromResult(new MachineAnswer(DecisionOutcome.Accepted, BootAction.None, MachineStage.Discovered, null));
    }

    public Task<MachineAnswer> PreviewBootAsync(MachineId machine, MachineCommands.RequestBoot request, CancellationToken cancellationToken) =>
        throw new NotSupportedException("reports only");

    public Task<MachineState> GetAsync(MachineId machine, CancellationToken cancellationToken) =>
        throw new NotSupportedException("reports only");

    public bool IsSurelyNew(MachineId machine) => false;

    public MachineCommand[] Of(MachineId machine) => Executed.Where(e => e.Machine == machine).Select(e => e.Command).ToArray();
}
