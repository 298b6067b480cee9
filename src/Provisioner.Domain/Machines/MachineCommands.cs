namespace Provisioner.Domain.Machines;

/// <summary>Inputs to <see cref="Machine.Decide"/>. Each carries the time it was observed, so Decide never reads a clock.</summary>
public abstract record MachineCommand(DateTimeOffset At);

public static class MachineCommands
{
    /// <summary>
    /// A PXE client's DHCP exchange. Architecture is option 93 (-1 if absent); FirmwareIsIpxe from user class / option 175.
    /// With <paramref name="Address"/> and <paramref name="Subnet"/> (a REQUEST whose lease the subnet has made durable),
    /// the lease is recorded in the same decision as the boot, so an ACK waits for one write of the machine, not two.
    /// A DISCOVER is not a command at all: it is answered by <see cref="Machine.Preview"/> and commits nothing.
    /// <paramref name="Path"/> (how the request reached the edge, which firmware sent it) is recorded with the boot; null
    /// where it is not known (a first boot granted by a version that did not keep it).
    /// </summary>
    public sealed record RequestBoot(DateTimeOffset At, int Architecture, bool FirmwareIsIpxe, string? Profile, string? Address = null, string? Subnet = null, BootPath? Path = null) : MachineCommand(At);

    public sealed record RecordLease(DateTimeOffset At, string Address, string Subnet) : MachineCommand(At);

    public sealed record ReportNbpServed(DateTimeOffset At, string File) : MachineCommand(At);

    public sealed record ReportBootScriptServed(DateTimeOffset At) : MachineCommand(At);

    public sealed record ReportKernelFetched(DateTimeOffset At, string Path) : MachineCommand(At);

    public sealed record ReportInitrdFetched(DateTimeOffset At, string Path) : MachineCommand(At);

    public sealed record ReportKickstartFetched(DateTimeOffset At) : MachineCommand(At);

    /// <summary>%post phoned home.</summary>
    public sealed record ReportInstalled(DateTimeOffset At) : MachineCommand(At);

    /// <summary>The installed system's first boot phoned home.</summary>
    public sealed record ReportBooted(DateTimeOffset At) : MachineCommand(At);

    /// <summary>The installer (or an operator) says the install failed.</summary>
    public sealed record ReportFailure(DateTimeOffset At, string Reason) : MachineCommand(At);

    /// <summary>A timer fired: if the current stage's deadline has passed, that is a fact.</summary>
    public sealed record CheckDeadline(DateTimeOffset At) : MachineCommand(At);

    /// <summary>Operator: install this machine again at its next PXE boot.</summary>
    public sealed record Reprovision(DateTimeOffset At, string RequestedBy) : MachineCommand(At);
}
