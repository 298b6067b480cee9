using Provisioner.Cluster.Machines;
using Provisioner.Cluster.Persistence;
using Provisioner.Domain.Machines;

namespace Provisioner.Edge;

/// <summary>
/// Where a machine's first boot may still be pending in its subnet (<see cref="KnownMachines"/> says it has nothing in
/// the journal): before it is asked or read — a TFTP or HTTP report, its state for a boot script, <c>machine show</c> —
/// its subnets are asked to have it recorded (<paramref name="flush"/>; a no-op for a machine nobody ACKed), so that
/// nothing reaches a machine that has not recorded the boot it follows, also after a crash.
/// </summary>
/// <param name="known">The node's known machines; null where first boots do not ride on the lease (nothing is ever surely new).</param>
/// <param name="flush">Asks every subnet of this node to have the machine record a pending first boot; null = nothing to ask.</param>
public sealed class FirstBoots(KnownMachines? known, Func<MachineId, CancellationToken, Task>? flush)
{
    public static FirstBoots None { get; } = new(null, null);

    /// <summary>The known machines consulted (null where first boots do not ride on the lease).</summary>
    public KnownMachines? Known => known;

    /// <summary>True only when this node knows the machine has nothing in the journal and no write in flight.</summary>
    public bool IsSurelyNew(MachineId machine) => known?.IsSurelyNew(MachineActor.PersistencePrefix, machine.Value) ?? false;

    /// <summary>The machine's pending first boot recorded, if it may have one; returns at once for any other machine.</summary>
    public Task FlushIfNewAsync(MachineId machine, CancellationToken cancellationToken) =>
        flush is not null && IsSurelyNew(machine) ? flush(machine, cancellationToken) : Task.CompletedTask;
}
