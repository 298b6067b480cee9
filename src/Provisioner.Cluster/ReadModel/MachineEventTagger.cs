using Akka.Persistence.Journal;
using Provisioner.Domain.Machines;

namespace Provisioner.Cluster.ReadModel;

/// <summary>
/// Tags every machine event as it is written (a journal write adapter bound to <see cref="IMachineEvent"/>), so the
/// read model can follow machine events alone (<see cref="MachineDirectory"/>); the machine actor persists plain
/// events and recovers them unchanged (the journal stores tags beside the payload).
/// </summary>
public sealed class MachineEventTagger : IWriteEventAdapter
{
    public const string Tag = "machine";

    private static readonly string[] Tags = [Tag];

    public string Manifest(object evt) => string.Empty;

    public object ToJournal(object evt) => evt is IMachineEvent ? new Tagged(evt, Tags) : evt;
}
