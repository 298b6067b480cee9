using Akka.Actor;
using Akka.Hosting;
using Provisioner.Cluster.Hosting;
using Provisioner.Cluster.Machines;
using Provisioner.Domain.Machines;

namespace Provisioner.Edge;

/// <summary>
/// <see cref="IMachineGateway"/> over the machine shard region (or proxy), with the configured ask timeout. With a
/// <see cref="MachineStateCache"/>, reads come from the node's pushed copy of each machine's state and every answered
/// command moves the copy's floor to its version, so a caller always reads at least what its own commands did.
/// <para>
/// With <see cref="FirstBoots"/>: a machine surely new here may have been ACKed with its first boot riding on the
/// lease and not yet recorded it; before it is asked or read, its subnet hands the boot over.
/// </para>
/// </summary>
public sealed class ClusterMachineGateway(
    IRequiredActor<MachineRegion> machineRegion,
    TimeSpan askTimeout,
    MachineStateCache? cache = null,
    FirstBoots? firstBoots = null) : IMachineGateway
{
    private readonly FirstBoots _firstBoots = firstBoots ?? FirstBoots.None;

    public bool IsSurelyNew(MachineId machine) => _firstBoots.IsSurelyNew(machine);

    public async Task<MachineAnswer> ExecuteAsync(MachineId machine, MachineCommand command, CancellationToken cancellationToken)
    {
        await _firstBoots.FlushIfNewAsync(machine, cancellationToken).ConfigureAwait(false);
        var region = await machineRegion.GetAsync(cancellationToken).ConfigureAwait(false);
        var result = await region.Ask<MachineProtocol.CommandResult>(new MachineProtocol.Execute(machine.Value, command), askTimeout, cancellationToken).ConfigureAwait(false);
        cache?.Observed(machine.Value, result.Version);
        return new MachineAnswer(result.Outcome, result.Boot, result.Stage, result.Reason);
    }

    public async Task<MachineAnswer> PreviewBootAsync(MachineId machine, MachineCommands.RequestBoot request, CancellationToken cancellationToken)
    {
        var region = await machineRegion.GetAsync(cancellationToken).ConfigureAwait(false);
        var result = await region.Ask<MachineProtocol.CommandResult>(new MachineProtocol.PreviewBoot(machine.Value, request), askTimeout, cancellationToken).ConfigureAwait(false);
        return new MachineAnswer(result.Outcome, result.Boot, result.Stage, result.Reason);
    }

    public async Task<MachineState> GetAsync(MachineId machine, CancellationToken cancellationToken)
    {
        await _firstBoots.FlushIfNewAsync(machine, cancellationToken).ConfigureAwait(false);
        var region = await machineRegion.GetAsync(cancellationToken).ConfigureAwait(false);
        if (cache is not null)
        {
            return await cache.GetAsync(region, machine.Value, cancellationToken).ConfigureAwait(false);
        }

        var result = await region.Ask<MachineProtocol.MachineResult>(new MachineProtocol.GetMachine(machine.Value), askTimeout, cancellationToken).ConfigureAwait(false);
        return result.State;
    }
}
