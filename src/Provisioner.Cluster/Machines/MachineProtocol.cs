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

    /// <summary>
    /// A first boot its subnet made durable with the lease (<see cref="Domain.Leases.LeaseEvents.FirstBootGranted"/>):
    /// recorded as <paramref name="Request"/> (Discovered and LeaseRecorded) if the machine has nothing in its journal
    /// yet; a machine that has anything already recorded it (or moved on), and changes nothing. Answered with
    /// <see cref="CommandResult"/> once durable. Idempotent: the subnet hands it over again after any restart.
    /// </summary>
    public sealed record RecordFirstBoot(string MachineId, MachineCommands.RequestBoot Request) : IWithMachineId;

    /// <summary>
    /// Query one machine's state. Answered with <see cref="MachineResult"/>; its events are in its journal
    /// (<see cref="ReadModel.MachineHistory"/> reads them up to the answer's version).
    /// </summary>
    public sealed record GetMachine(string MachineId) : IWithMachineId;

    /// <param name="Version">
    /// The machine's journal sequence number: that of its last event, and so the number of events in its journal
    /// (sequence numbers run from 1 without gaps and machine events are never deleted). 0: nothing persisted yet.
    /// </param>
    public sealed record MachineResult(string MachineId, MachineState State, long Version) : IProvisionerMessage
    {
        /// <summary>False when the machine has no event at all (never seen, or only DISCOVERs, which commit nothing).</summary>
        public bool Known => Version > 0;
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
