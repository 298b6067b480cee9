namespace Provisioner.Cluster;

/// <summary>
/// Marker for every message that may cross the network between nodes. Bound to Hyperion in
/// <see cref="Hosting.ProvisionerAkka.SerializationHocon"/>; a test pins the serializer for each implementation.
/// </summary>
public interface IProvisionerMessage;

/// <summary>A message for one machine actor: the entity id is the normalised MAC.</summary>
public interface IWithMachineId : IProvisionerMessage
{
    string MachineId { get; }
}

/// <summary>Role names, in one place. A single node has both.</summary>
public static class Roles
{
    /// <summary>Hosts shard regions (machines, subnets, rollouts) and talks to the journal.</summary>
    public const string Core = "core";

    /// <summary>Hosts the DHCP/TFTP/HTTP listeners and shard-region proxies.</summary>
    public const string Edge = "edge";
}
