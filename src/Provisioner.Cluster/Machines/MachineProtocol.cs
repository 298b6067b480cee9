using Provisioner.Domain.Machines;

namespace Provisioner.Cluster.Machines;

/// <summary>Messages to and from machine actors (sharded by <see cref="IWithMachineId.MachineId"/>).</summary>
public static class MachineProtocol
{
    /// <summary>Hand a command to a machine's state machine. Answered with <see cref="CommandResult"/> after any events are persisted.</summary>
    public sealed record Execute(string MachineId, MachineCommand Command) : IWithMachineId;

    public sealed record CommandResult(string MachineId, DecisionOutcome Outcome, BootAction Boot, MachineStage Stage, string? Reason) : IProvisionerMessage;

    /// <summary>Query one machine's full state and history. Answered with <see cref="MachineResult"/>.</summary>
    public sealed record GetMachine(string MachineId) : IWithMachineId;

    public sealed record MachineResult(string MachineId, MachineState State) : IProvisionerMessage
    {
        /// <summary>False when the machine has no history at all (never seen).</summary>
        public bool Known => State.History.Count > 0;
    }
}
