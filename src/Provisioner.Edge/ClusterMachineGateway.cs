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
/// </summary>
public sealed class ClusterMachineGateway(IRequiredActor<MachineRegion> machineRegion, TimeSpan askTimeout, MachineStateCache? cache = null) : IMachineGateway
{
    public async Task<MachineAnswer> ExecuteAsync(MachineId machine, MachineCommand command, CancellationToken cancellationToken)
    {
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
        var region = await machineRegion.GetAsync(cancellationToken).ConfigureAwait(false);
        if (cache is not null)
        {
            return await cache.GetAsync(region, machine.Value, cancellationToken).ConfigureAwait(false);
        }

        var result = await region.Ask<MachineProtocol.MachineResult>(new MachineProtocol.GetMachine(machine.Value), askTimeout, cancellationToken).ConfigureAwait(false);
        return result.State;
    }
}
