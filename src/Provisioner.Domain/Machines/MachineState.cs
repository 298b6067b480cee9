namespace Provisioner.Domain.Machines;

/// <summary>
/// What one machine's decisions need, rebuilt by folding its events with <see cref="Machine.Apply"/>. Fixed-size: it
/// is snapshotted and pushed to every edge after every change, so it never holds the events themselves; those live in
/// the machine's journal (the admin API reads them from there) and in the read model.
/// <para>
/// FROZEN like the events (STACK.md P7): every machine snapshot is this type, and Hyperion reads a snapshot's fields by
/// position in name order, skipping the field names it stored. Adding, removing, renaming or retyping a property
/// misreads every snapshot already written (Cluster tests replay one the previous version wrote). Change by adding a
/// new type.
/// </para>
/// </summary>
public sealed record MachineState
{
    public static MachineState Empty(string machineId) => new() { MachineId = machineId };

    public string MachineId { get; init; } = string.Empty;

    public MachineStage Stage { get; init; } = MachineStage.New;

    /// <summary>When the current stage was entered; deadlines run from here.</summary>
    public DateTimeOffset? StageEnteredAt { get; init; }

    /// <summary>The current stage's deadline was missed at least once (a new PXE boot then starts a new attempt).</summary>
    public bool StageTimedOut { get; init; }

    /// <summary>When the current stage last missed its deadline; the next deadline runs from here.</summary>
    public DateTimeOffset? StageTimedOutAt { get; init; }

    /// <summary>Install attempts since the last reprovision (a PXE boot that starts an install is one attempt).</summary>
    public int Attempt { get; init; }

    /// <summary>Missed deadlines since the last reprovision.</summary>
    public int Timeouts { get; init; }

    public int Architecture { get; init; } = -1;

    public bool FirmwareIsIpxe { get; init; }

    public string? Profile { get; init; }

    public string? Address { get; init; }

    public string? Subnet { get; init; }

    public bool BootScriptServed { get; init; }

    public bool InitrdFetched { get; init; }

    public string? FailureReason { get; init; }

    public DateTimeOffset? FirstSeenAt { get; init; }

    public DateTimeOffset? LastChangedAt { get; init; }

    public DateTimeOffset? InstalledAt { get; init; }

    /// <summary>
    /// Always empty now. Snapshots written before the state became fixed-size hold every event of the machine here;
    /// recovery drops them (<see cref="Machine.FromSnapshot"/>), the journal holds them too. The property stays, under
    /// its name and type, only so that those snapshots still deserialize (see the type's remarks).
    /// </summary>
    [Obsolete("Always empty: a machine's events are in its journal. Kept only so that snapshots written before deserialize.", DiagnosticId = LegacyHistoryDiagnostic)]
    public IReadOnlyList<IMachineEvent> History { get; init; } = Array.Empty<IMachineEvent>();

    /// <summary>The diagnostic that any use of <see cref="History"/> raises (an error under TreatWarningsAsErrors).</summary>
    public const string LegacyHistoryDiagnostic = "PV0001";
}
