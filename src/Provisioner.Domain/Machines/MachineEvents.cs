namespace Provisioner.Domain.Machines;

/// <summary>
/// Facts about one machine, persisted in its journal. FROZEN: Hyperion stores the CLR type and property
/// names, so renaming a type or a property here breaks replay of every journal written before. Change by
/// adding a new event type. Properties hold only primitives and strings; every event carries its own time.
/// </summary>
public interface IMachineEvent
{
    DateTimeOffset At { get; }
}

public static class MachineEvents
{
    /// <summary>
    /// A PXE client asked for a boot. <paramref name="Architecture"/> is DHCP option 93 (RFC 4578), -1 when absent.
    /// Written as is when the edge did not say how the request reached it (journals before <see cref="DiscoveredOnPath"/>,
    /// and a first boot recorded from a subnet's grant written before); not sealed only so that
    /// <see cref="DiscoveredOnPath"/> is one, which keeps every rule that reads a Discovered unchanged.
    /// </summary>
    public record Discovered(DateTimeOffset At, int Architecture, bool FirmwareIsIpxe, string? Profile, int Attempt) : IMachineEvent;

    /// <summary>
    /// A <see cref="Discovered"/> that also records how the request reached us and what firmware sent it (see
    /// <see cref="BootPath"/>). A new type rather than new properties on <see cref="Discovered"/>: Hyperion reads an
    /// event's fields by position, so a field added to that type would misread every journal written before.
    /// </summary>
    /// <param name="Via"><see cref="BootPath.Local"/>, <see cref="BootPath.Relayed"/> or <see cref="BootPath.Proxied"/>.</param>
    /// <param name="Relay">The relay agent's address (giaddr) when relayed, else null.</param>
    /// <param name="Firmware"><see cref="BootPath.Pxe"/>, <see cref="BootPath.Ipxe"/> or <see cref="BootPath.HttpBoot"/>.</param>
    public sealed record DiscoveredOnPath(DateTimeOffset At, int Architecture, bool FirmwareIsIpxe, string? Profile, int Attempt, string Via, string? Relay, string Firmware)
        : Discovered(At, Architecture, FirmwareIsIpxe, Profile, Attempt)
    {
        public BootPath Path => new(Via, Relay, Firmware);
    }

    /// <summary>The subnet's lease actor bound an address to the machine.</summary>
    public sealed record LeaseRecorded(DateTimeOffset At, string Address, string Subnet) : IMachineEvent;

    public sealed record NbpServed(DateTimeOffset At, string File) : IMachineEvent;

    public sealed record BootScriptServed(DateTimeOffset At) : IMachineEvent;

    public sealed record KernelFetched(DateTimeOffset At, string Path) : IMachineEvent;

    public sealed record InitrdFetched(DateTimeOffset At, string Path) : IMachineEvent;

    public sealed record KickstartFetched(DateTimeOffset At) : IMachineEvent;

    public sealed record Installed(DateTimeOffset At) : IMachineEvent;

    /// <summary>The installed system is up. <paramref name="Via"/>: <c>local-boot</c> (PXE told it to boot its disk) or <c>phone-home</c>.</summary>
    public sealed record Rebooted(DateTimeOffset At, string Via) : IMachineEvent;

    public sealed record StageTimedOut(DateTimeOffset At, MachineStage Stage, int Attempt) : IMachineEvent;

    public sealed record Failed(DateTimeOffset At, MachineStage Stage, string Reason) : IMachineEvent;

    public sealed record Reprovisioned(DateTimeOffset At, string RequestedBy) : IMachineEvent;
}
