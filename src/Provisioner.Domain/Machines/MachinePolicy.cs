namespace Provisioner.Domain.Machines;

/// <summary>Deadlines and retry limits. Lives in configuration; passed to Decide, never read by Apply.</summary>
public sealed record MachinePolicy
{
    public static MachinePolicy Default { get; } = new();

    /// <summary>From DHCP to NBP downloaded (or, for iPXE firmware, to kernel fetched).</summary>
    public TimeSpan DiscoveredTimeout { get; init; } = TimeSpan.FromMinutes(5);

    public TimeSpan NbpServedTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>From kernel fetched to the installer asking for its kickstart.</summary>
    public TimeSpan KernelFetchedTimeout { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>From kickstart fetched to %post phoning home: the whole package install.</summary>
    public TimeSpan KickstartFetchedTimeout { get; init; } = TimeSpan.FromMinutes(90);

    /// <summary>Missed deadlines tolerated before the machine is marked Failed.</summary>
    public int MaxTimeouts { get; init; } = 3;

    public TimeSpan? TimeoutFor(MachineStage stage) => stage switch
    {
        MachineStage.Discovered => DiscoveredTimeout,
        MachineStage.NbpServed => NbpServedTimeout,
        MachineStage.KernelFetched => KernelFetchedTimeout,
        MachineStage.KickstartFetched => KickstartFetchedTimeout,
        _ => null,
    };

    /// <summary>
    /// When the current stage's deadline falls, or null when no deadline runs. After a miss the deadline re-arms
    /// from the miss, so a machine that hangs (powered off, installer stuck) still reaches Failed after MaxTimeouts.
    /// </summary>
    public DateTimeOffset? DeadlineOf(MachineState state) =>
        (state.StageTimedOutAt ?? state.StageEnteredAt) is not { } from || TimeoutFor(state.Stage) is not { } timeout
            ? null
            : from + timeout;
}
