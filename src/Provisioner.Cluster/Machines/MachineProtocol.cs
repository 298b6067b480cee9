using Provisioner.Domain.Machines;

namespace Provisioner.Cluster.Machines;

/// <summary>Messages to and from machine actors (sharded by <see cref="IWithMachineId.MachineId"/>).</summary>
public static class MachineProtocol
{
    /// <summary>Hand a command to a machine's state machine. Answered with <see cref="CommandResult"/> after any events are persisted.</summary>
    public sealed record Execute(string MachineId, MachineCommand Command) : IWithMachineId;

    /// <summary><paramref name="Version"/>: the machine's journal sequence number once the command's events (if any) are durable.</summary>
    public sealed record CommandResult(string MachineId, DecisionOutcome Outcome, BootAction Boot, MachineStage Stage, string? Reason, long Version) : IProvisionerMessage;

    /// <summary>
    /// What a DHCP DISCOVER gets (<see cref="Machine.Preview"/>): answered at once with <see cref="CommandResult"/>
    /// (Outcome Unchanged), nothing persisted. A machine never written costs no journal read (see JournalPresenceProbe).
    /// </summary>
    public sealed record PreviewBoot(string MachineId, MachineCommands.RequestBoot Request) : IWithMachineId;

    /// <summary>Query one machine's full state and history. Answered with <see cref="MachineResult"/>.</summary>
    public sealed record GetMachine(string MachineId) : IWithMachineId;

    public sealed record MachineResult(string MachineId, MachineState State) : IProvisionerMessage
    {
        /// <summary>False when the machine has no history at all (never seen).</summary>
        public bool Known => State.History.Count > 0;
    }

    /// <summary>
    /// Query one machine's state and stay told: answered at once with <see cref="MachineChanged"/>, and the sender gets
    /// another <see cref="MachineChanged"/> after every change, until it stops or
    /// the machine actor stops (passivation, node loss: the watcher DeathWatches the sender of the answer). A watcher
    /// that loses interest ignores the notices; they end when the machine actor passivates.
    /// </summary>
    public sealed record WatchMachine(string MachineId) : IWithMachineId;

    /// <summary>A machine's state as of journal sequence number <paramref name="Version"/> (monotonic across restarts).</summary>
    public sealed record MachineChanged(string MachineId, MachineState State, long Version) : IProvisionerMessage;
}
