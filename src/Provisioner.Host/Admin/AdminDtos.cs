using System.Text.Json;
using System.Text.Json.Serialization;
using Provisioner.Cluster.ReadModel;
using Provisioner.Domain.Machines;
using static Provisioner.Domain.Machines.MachineEvents;

namespace Provisioner.Host.Admin;

/// <summary>The admin API's JSON shapes, shared by the server and the CLI's client.</summary>
public sealed record MachineListDto(bool CaughtUp, long Offset, IReadOnlyList<MachineSummary> Machines);

public sealed record MachineEventDto(DateTimeOffset At, string Type, string Detail);

/// <param name="Events">The machine's most recent events from its journal, oldest first (at most <see cref="MachineHistory.DefaultLimit"/>).</param>
/// <param name="EventCount">How many events the machine's journal holds in all.</param>
/// <param name="EventsNote">Why <paramref name="Events"/> is not the whole journal (older ones left out, or no journal on this node); null when it is.</param>
/// <param name="Path">How the machine's latest boot request reached us and which firmware sent it, from its latest
/// Discovered among <paramref name="Events"/>; null when that event is older than the record of it (or not among them).</param>
/// <param name="Firmware">The firmware as an operator reads it, e.g. <c>PXE x64 UEFI (arch 7)</c>.</param>
public sealed record MachineDto(
    string MachineId,
    MachineStage Stage,
    string? Profile,
    string? Address,
    string? Subnet,
    int Attempt,
    int Timeouts,
    string Architecture,
    bool FirmwareIsIpxe,
    string? FailureReason,
    DateTimeOffset? FirstSeenAt,
    DateTimeOffset? StageEnteredAt,
    DateTimeOffset? InstalledAt,
    DateTimeOffset? LastChangedAt,
    IReadOnlyList<MachineEventDto> Events,
    long EventCount,
    string? EventsNote,
    BootPath? Path = null,
    string? Firmware = null)
{
    public static MachineDto From(MachineState s, IEnumerable<IMachineEvent> events, long eventCount, string? eventsNote)
    {
        ArgumentNullException.ThrowIfNull(s);
        var list = events as IReadOnlyList<IMachineEvent> ?? events.ToArray();
        var path = list.OfType<Discovered>().LastOrDefault() is DiscoveredOnPath latest ? latest.Path : null;
        return From(s, list, eventCount, eventsNote, path);
    }

    private static MachineDto From(MachineState s, IReadOnlyList<IMachineEvent> events, long eventCount, string? eventsNote, BootPath? path) => new(
        s.MachineId,
        s.Stage,
        s.Profile,
        s.Address,
        s.Subnet,
        s.Attempt,
        s.Timeouts,
        ArchitectureName(s.Architecture),
        s.FirmwareIsIpxe,
        s.FailureReason,
        s.FirstSeenAt,
        s.StageEnteredAt,
        s.InstalledAt,
        s.LastChangedAt,
        events.Select(Describe).ToArray(),
        eventCount,
        eventsNote,
        path,
        FirmwareText(path?.Firmware, s.FirmwareIsIpxe, s.Architecture));

    /// <summary>E.g. <c>PXE x64 UEFI (arch 7)</c>, <c>iPXE BIOS (arch 0)</c>, <c>HTTP boot x64 UEFI (arch 16)</c>; the firmware from option 60 / user class, the platform from option 93 (RFC 4578 §2.1).</summary>
    public static string FirmwareText(string? firmware, bool firmwareIsIpxe, int architecture)
    {
        var kind = firmware switch
        {
            BootPath.Pxe => "PXE",
            BootPath.Ipxe => "iPXE",
            BootPath.HttpBoot => "HTTP boot",
            _ => firmwareIsIpxe ? "iPXE" : "PXE",
        };
        var platform = architecture switch
        {
            -1 => null,
            0 => "BIOS",
            6 or 15 => "ia32 UEFI",
            7 or 9 or 16 => "x64 UEFI",
            10 or 18 => "ARM32 UEFI",
            11 or 19 => "ARM64 UEFI",
            _ => "platform",
        };
        return platform is null ? kind : $"{kind} {platform} (arch {architecture})";
    }

    /// <summary>RFC 4578 §2.1 processor architecture types (option 93), as an operator reads them.</summary>
    public static string ArchitectureName(int code) => code switch
    {
        -1 => "-",
        0 => "bios (0)",
        6 => "efi-ia32 (6)",
        7 => "efi-x64 (7)",
        9 => "efi-x64 (9)",
        10 => "efi-arm32 (10)",
        11 => "efi-arm64 (11)",
        16 => "efi-x64-http (16)",
        _ => $"other ({code})",
    };

    public static MachineEventDto Describe(IMachineEvent e) => e switch
    {
        DiscoveredOnPath d => new(d.At, "Discovered", $"arch={ArchitectureName(d.Architecture)} firmware={d.Firmware} profile={d.Profile ?? "-"} attempt={d.Attempt} via={d.Via}{(d.Relay is null ? string.Empty : " " + d.Relay)}"),
        Discovered d => new(d.At, "Discovered", $"arch={ArchitectureName(d.Architecture)} firmware={(d.FirmwareIsIpxe ? "ipxe" : "pxe")} profile={d.Profile ?? "-"} attempt={d.Attempt}"),
        LeaseRecorded l => new(l.At, "LeaseRecorded", $"{l.Address} in {l.Subnet}"),
        NbpServed n => new(n.At, "NbpServed", n.File),
        BootScriptServed b => new(b.At, "BootScriptServed", string.Empty),
        BootConfigServed b => new(b.At, "BootConfigServed", b.File),
        KernelFetched k => new(k.At, "KernelFetched", k.Path),
        InitrdFetched i => new(i.At, "InitrdFetched", i.Path),
        KickstartFetched k => new(k.At, "KickstartFetched", string.Empty),
        Installed i => new(i.At, "Installed", string.Empty),
        Rebooted r => new(r.At, "Rebooted", "via " + r.Via),
        StageTimedOut t => new(t.At, "StageTimedOut", $"{t.Stage} attempt {t.Attempt}"),
        Failed f => new(f.At, "Failed", $"in {f.Stage}: {f.Reason}"),
        Reprovisioned r => new(r.At, "Reprovisioned", "by " + r.RequestedBy),
        _ => new(e.At, e.GetType().Name, string.Empty),
    };
}

public sealed record CommandResultDto(string MachineId, string Outcome, MachineStage Stage, string? Reason);

public sealed record ClusterMemberDto(string Address, string Status, IReadOnlyList<string> Roles, bool IsSelf);

public sealed record ClusterDto(string Self, string? Leader, IReadOnlyList<ClusterMemberDto> Members, IReadOnlyList<string> Unreachable);

/// <summary>One node's part of a shard region: <paramref name="Failed"/> are shards whose stats did not arrive in time.</summary>
public sealed record ShardNodeDto(string Address, int Shards, int Entities, IReadOnlyList<string> Failed);

/// <summary>One entity type (<c>machine</c>, <c>subnet</c>): its live entities per node.</summary>
public sealed record ShardRegionDto(string Type, IReadOnlyList<ShardNodeDto> Nodes, int Entities);

public sealed record ShardsDto(IReadOnlyList<ShardRegionDto> Regions);

/// <summary>
/// One node's process. <paramref name="ResidentBytes"/>: what the OS holds for it (RSS); <paramref name="GcHeapBytes"/>:
/// the managed heap as of the last collection (live objects plus garbage not yet collected), of which
/// <paramref name="GcFragmentedBytes"/> free space; <paramref name="GcCommittedBytes"/>: what the GC has committed.
/// <paramref name="GcPausedMs"/>: how long the collector has paused the whole process since it started, in milliseconds.
/// <paramref name="Collected"/>: a full collection ran just before (POST /api/v1/node/gc).
/// <paramref name="KnownMachines"/>: machines with anything in this node's journal, where new machines' first boots ride
/// on the lease (null: not on this node — a shared journal, no DHCP, or first-boot-on-lease off; -1: not read yet).
/// <paramref name="LastGcs"/>: the last collection of each kind that has run (ephemeral, background, full blocking), to
/// tell which kind the pauses come from.
/// </summary>
public sealed record NodeDto(
    long ResidentBytes,
    long GcHeapBytes,
    long GcFragmentedBytes,
    long GcCommittedBytes,
    IReadOnlyList<int> GcCollections,
    long GcPausedMs,
    bool Collected,
    int NewMachinesLive,
    int NewMachinesLimit,
    long NewMachinesRefused,
    int? KnownMachines,
    IReadOnlyList<GcDto> LastGcs)
{
    public static NodeDto Now(Cluster.Machines.NewMachineLimit newMachines, bool collected, Cluster.Persistence.KnownMachines? known = null)
    {
        ArgumentNullException.ThrowIfNull(newMachines);
        var gc = GC.GetGCMemoryInfo(GCKind.Any);
        using var process = System.Diagnostics.Process.GetCurrentProcess();
        return new NodeDto(
            process.WorkingSet64,
            gc.HeapSizeBytes,
            gc.FragmentedBytes,
            gc.TotalCommittedBytes,
            [.. Enumerable.Range(0, GC.MaxGeneration + 1).Select(GC.CollectionCount)],
            (long)GC.GetTotalPauseDuration().TotalMilliseconds,
            collected,
            newMachines.Live,
            newMachines.Capacity,
            newMachines.Refused,
            known is null ? null : known.Loaded ? known.Count : -1,
            [.. new[] { GCKind.Ephemeral, GCKind.Background, GCKind.FullBlocking }.Select(GcDto.Last).OfType<GcDto>()]);
    }
}

/// <summary>
/// One collection (<see cref="GC.GetGCMemoryInfo(GCKind)"/>): its kind, its number in the process (<paramref name="Index"/>),
/// the generation it collected, how long it paused the process (both pauses of a background one, summed), what survived it
/// (<paramref name="PromotedBytes"/>) and whether it compacted.
/// </summary>
public sealed record GcDto(string Kind, long Index, int Generation, double PausedMs, long PromotedBytes, bool Compacted)
{
    public static GcDto? Last(GCKind kind)
    {
        var info = GC.GetGCMemoryInfo(kind);
        return info.Index == 0
            ? null
            : new GcDto(kind.ToString(), info.Index, info.Generation, info.PauseDurations.ToArray().Sum(d => d.TotalMilliseconds), info.PromotedBytes, info.Compacted);
    }
}

public sealed record ErrorDto(string Error);

public static class AdminJson
{
    /// <summary>Compact, for the wire.</summary>
    public static readonly JsonSerializerOptions Options = Create(indented: false);

    /// <summary>Indented, for people (<c>-o json</c>).</summary>
    public static readonly JsonSerializerOptions Pretty = Create(indented: true);

    private static JsonSerializerOptions Create(bool indented)
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web) { WriteIndented = indented };
        options.Converters.Add(new JsonStringEnumConverter());
        return options;
    }
}

/// <summary>
/// Where a machine's actor lives: its shard, the node hosting that shard (null when none does now), whether the actor is
/// live there (else passivated or never started), and its last sequence number (null when it could not be read here).
/// </summary>
public sealed record MachineWhereDto(string MachineId, string Shard, string? Node, bool IsSelf, bool Live, long? LastSequenceNr, string? Note);

/// <summary>Which member to ask to leave, or to mark down: its full address or host:port.</summary>
public sealed record MembershipRequestDto(string? Node);

/// <summary>The member asked, and what was done: "leaving" (it hands its shards over, then exits) or "downed".</summary>
public sealed record MembershipResultDto(string Node, string Action);

/// <summary>A subnet handover's outcome (Redefined: handed over; Unchanged: the node held it already; Refused, with why) and who holds the definition now.</summary>
public sealed record SubnetHandoverDto(string Subnet, string Outcome, string DefinedBy, string? Reason);
