namespace Provisioner.Host.Simulate;

/// <summary>A simulated machine stops here, for the reason in the message (which groups machines in the report: keep it free of per-machine detail).</summary>
public sealed class SimulationFailedException(string message) : Exception(message);
