using Provisioner.Domain.Machines;

namespace Provisioner.Edge;

/// <summary>
/// How the edge's protocol servers talk to machine actors: hand a command to one machine, or read its state.
/// The cluster implementation asks the machine shard region (or its proxy); transport tests use a fake.
/// </summary>
public interface IMachineGateway
{
    /// <summary>Decide and persist; the answer comes only after the machine's events are durable.</summary>
    Task<MachineAnswer> ExecuteAsync(MachineId machine, MachineCommand command, CancellationToken cancellationToken);

    /// <summary>What a DHCP DISCOVER gets: decided by the machine, nothing persisted (an OFFER commits nothing).</summary>
    Task<MachineAnswer> PreviewBootAsync(MachineId machine, MachineCommands.RequestBoot request, CancellationToken cancellationToken);

    /// <summary>The machine's current state (a never-seen machine has Stage New and no LastChangedAt).</summary>
    Task<MachineState> GetAsync(MachineId machine, CancellationToken cancellationToken);

    /// <summary>
    /// True only when this node knows the machine has nothing in the journal and no write in flight (see
    /// <c>KnownMachines</c>): its DHCP exchange is then answered without its actor, the first boot riding on the lease.
    /// False whenever in doubt (a shared journal, the start-up read not done yet).
    /// </summary>
    bool IsSurelyNew(MachineId machine);
}

/// <summary>A machine actor's answer to a command.</summary>
public sealed record MachineAnswer(DecisionOutcome Outcome, BootAction Boot, MachineStage Stage, string? Reason);
