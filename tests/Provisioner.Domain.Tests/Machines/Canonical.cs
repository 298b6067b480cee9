using Provisioner.Domain.Machines;
using static Provisioner.Domain.Machines.MachineCommands;
using static Provisioner.Domain.Machines.MachineEvents;

namespace Provisioner.Domain.Tests.Machines;

/// <summary>
/// One canonical machine per row of the decision table, each reached by replaying the events a real
/// UEFI (EDK2, arch 7) install would journal, never by setting fields by hand. <see cref="Now"/> is the time
/// of the last event; inputs are issued one second later (deadline checks: a second or a day later).
/// </summary>
internal sealed record CanonicalState(string Name, MachineStage Stage, DateTimeOffset Now, IReadOnlyList<IMachineEvent> Events)
{
    public MachineState Build() => Machine.Replay(Canonical.Mac, Events);

    public override string ToString() => Name;
}

internal static class Canonical
{
    public const string Mac = "aa:bb:cc:dd:ee:ff";

    /// <summary>RFC 4578 §2.1 option 93: 0 is BIOS x86, 7 is EFI x86-64.</summary>
    public const int BiosX86 = 0;

    public const int UefiX64 = 7;

    public const string Profile = "rocky9";
    public const string Address = "10.0.0.50";
    public const string OtherAddress = "10.0.0.77";
    public const string Subnet = "10.0.0.0/24";

    public static readonly DateTimeOffset T0 = new(2026, 3, 14, 9, 0, 0, TimeSpan.Zero);

    public static DateTimeOffset At(int minutes) => T0.AddMinutes(minutes);

    // State names (strings so xunit can serialise each table row as its own test case).
    public const string New = "New";
    public const string Discovered = "Discovered";
    public const string DiscoveredTimedOut = "Discovered after timeout";
    public const string NbpServed = "NbpServed";
    public const string KernelFetched = "KernelFetched";
    public const string KickstartFetched = "KickstartFetched";
    public const string Installed = "Installed";
    public const string Rebooted = "Rebooted";
    public const string Failed = "Failed";

    private static readonly IMachineEvent[] DiscoveredEvents =
    [
        new MachineEvents.Discovered(At(0), UefiX64, false, Profile, 1),
        new LeaseRecorded(At(0), Address, Subnet),
    ];

    private static readonly IMachineEvent[] NbpServedEvents = [.. DiscoveredEvents, new MachineEvents.NbpServed(At(1), "ipxe.efi")];

    private static readonly IMachineEvent[] KernelFetchedEvents =
    [
        .. NbpServedEvents,
        new BootScriptServed(At(2)),
        new MachineEvents.KernelFetched(At(3), "/images/rocky9/vmlinuz"),
    ];

    private static readonly IMachineEvent[] KickstartFetchedEvents =
    [
        .. KernelFetchedEvents,
        new InitrdFetched(At(3), "/images/rocky9/initrd.img"),
        new MachineEvents.KickstartFetched(At(4)),
    ];

    private static readonly IMachineEvent[] InstalledEvents = [.. KickstartFetchedEvents, new MachineEvents.Installed(At(30))];

    public static IReadOnlyList<CanonicalState> All { get; } =
    [
        new(New, MachineStage.New, At(0), []),
        new(Discovered, MachineStage.Discovered, At(0), DiscoveredEvents),
        new(DiscoveredTimedOut, MachineStage.Discovered, At(5), [.. DiscoveredEvents, new StageTimedOut(At(5), MachineStage.Discovered, 1)]),
        new(NbpServed, MachineStage.NbpServed, At(1), NbpServedEvents),
        new(KernelFetched, MachineStage.KernelFetched, At(3), KernelFetchedEvents),
        new(KickstartFetched, MachineStage.KickstartFetched, At(4), KickstartFetchedEvents),
        new(Installed, MachineStage.Installed, At(30), InstalledEvents),
        new(Rebooted, MachineStage.Rebooted, At(35), [.. InstalledEvents, new MachineEvents.Rebooted(At(35), "local-boot")]),
        new(Failed, MachineStage.Failed, At(20), [.. KickstartFetchedEvents, new MachineEvents.Failed(At(20), MachineStage.KickstartFetched, "anaconda: no space left on device")]),
    ];

    public static CanonicalState Get(string name) => All.Single(s => s.Name == name);
}

/// <summary>The inputs of the decision table: every command kind, some in two flavours.</summary>
internal static class Inputs
{
    public const string BootIpxe = "RequestBoot iPXE";
    public const string BootPxe = "RequestBoot non-iPXE";
    public const string LeaseSame = "RecordLease same";
    public const string LeaseOther = "RecordLease different";
    public const string NbpServed = "ReportNbpServed";
    public const string BootScriptServed = "ReportBootScriptServed";
    public const string KernelFetched = "ReportKernelFetched";
    public const string InitrdFetched = "ReportInitrdFetched";
    public const string KickstartFetched = "ReportKickstartFetched";
    public const string Installed = "ReportInstalled";
    public const string Booted = "ReportBooted";
    public const string Failure = "ReportFailure";
    public const string DeadlineBefore = "CheckDeadline before deadline";
    public const string DeadlineAfter = "CheckDeadline after deadline";
    public const string Reprovision = "Reprovision";

    private static readonly Dictionary<string, Func<DateTimeOffset, MachineCommand>> Factories = new()
    {
        [BootIpxe] = now => new RequestBoot(now.AddSeconds(1), Canonical.UefiX64, true, Canonical.Profile),
        [BootPxe] = now => new RequestBoot(now.AddSeconds(1), Canonical.UefiX64, false, Canonical.Profile),
        [LeaseSame] = now => new RecordLease(now.AddSeconds(1), Canonical.Address, Canonical.Subnet),
        [LeaseOther] = now => new RecordLease(now.AddSeconds(1), Canonical.OtherAddress, Canonical.Subnet),
        [NbpServed] = now => new ReportNbpServed(now.AddSeconds(1), "ipxe.efi"),
        [BootScriptServed] = now => new ReportBootScriptServed(now.AddSeconds(1)),
        [KernelFetched] = now => new ReportKernelFetched(now.AddSeconds(1), "/images/rocky9/vmlinuz"),
        [InitrdFetched] = now => new ReportInitrdFetched(now.AddSeconds(1), "/images/rocky9/initrd.img"),
        [KickstartFetched] = now => new ReportKickstartFetched(now.AddSeconds(1)),
        [Installed] = now => new ReportInstalled(now.AddSeconds(1)),
        [Booted] = now => new ReportBooted(now.AddSeconds(1)),
        [Failure] = now => new ReportFailure(now.AddSeconds(1), "anaconda: disk sda not found"),
        // Every stage deadline is minutes long (the longest is 90); a second is before it, a day after it.
        [DeadlineBefore] = now => new CheckDeadline(now.AddSeconds(1)),
        [DeadlineAfter] = now => new CheckDeadline(now.AddDays(1)),
        [Reprovision] = now => new MachineCommands.Reprovision(now.AddSeconds(1), "alice"),
    };

    public static IEnumerable<string> Names => Factories.Keys;

    public static MachineCommand Create(string name, DateTimeOffset now) => Factories[name](now);
}
