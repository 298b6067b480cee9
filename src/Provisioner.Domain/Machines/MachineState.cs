namespace Provisioner.Domain.Machines;

/// <summary>
/// Everything known about one machine, rebuilt by folding its events with <see cref="Machine.Apply"/>.
/// Only primitives, strings and an array of events, so snapshots stay stable under Hyperion.
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

    /// <summary>Every event of this machine, oldest first.</summary>
    public IReadOnlyList<IMachineEvent> History { get; init; } = Array.Empty<IMachineEvent>();
}
