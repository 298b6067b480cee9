using Akka.Cluster.Sharding;

namespace Provisioner.Cluster.Machines;

/// <summary>Routes <see cref="IWithMachineId"/> messages to shards by a stable hash of the normalised MAC.</summary>
public sealed class MachineMessageExtractor(int maxNumberOfShards) : HashCodeMessageExtractor(maxNumberOfShards)
{
    public override string EntityId(object message) => message switch
    {
        IWithMachineId m => m.MachineId,
        _ => null!,
    };
}
