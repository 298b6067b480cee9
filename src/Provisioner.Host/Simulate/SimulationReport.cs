using System.Globalization;
using System.Text;
using Provisioner.Host.Cli;
using Provisioner.Protocols.Dhcp;

namespace Provisioner.Host.Simulate;

/// <summary>Latency of one stage (milliseconds) over the machines that got through it.</summary>
public sealed record StageReport(string Stage, int Count, double P50Ms, double P90Ms, double P99Ms, double MaxMs);

/// <summary>Machines that stopped in the same stage for the same reason, with a few of their MACs.</summary>
public sealed record FailureGroup(string Stage, string Reason, int Machines, IReadOnlyList<string> Examples);

/// <summary>An address the edge ACKed to more than one machine.</summary>
public sealed record DuplicateAddress(string Address, IReadOnlyList<string> Machines);

/// <summary>A machine whose stage, read back through the admin API, is not Installed.</summary>
public sealed record NotInstalledMachine(string Mac, string Stage);

/// <summary>What the admin API said about every simulated machine (<see cref="NotInstalled"/> lists the first few).</summary>
public sealed record AdminCheckReport(string Server, int Checked, int Installed, int NotInstalledCount, IReadOnlyList<NotInstalledMachine> NotInstalled);

/// <summary>
/// The outcome of a run: throughput, per-stage latency percentiles, failures by stage and reason, addresses held by
/// two machines, and (with --admin) machines the cluster does not hold Installed. <see cref="Ok"/> only if none of
/// those went wrong.
/// </summary>
public sealed record SimulationReport(
    int Machines,
    int Completed,
    int Failed,
    double Rate,
    double WallSeconds,
    double MachinesPerSecond,
    string Sources,
    int Addresses,
    IReadOnlyList<StageReport> Stages,
    IReadOnlyList<FailureGroup> Failures,
    IReadOnlyList<DuplicateAddress> Duplicates,
    AdminCheckReport? Admin)
{
    public const int ExamplesPerFailure = 3;
    public const int ListedAtMost = 10;

    /// <summary>Machines that failed a boot attempt and powered on again (--reboots), and the attempts that failed, by stage and reason.</summary>
    public int MachinesRebooted { get; init; }

    public IReadOnlyList<FailureGroup> FailedAttempts { get; init; } = [];

    /// <summary>DHCP and TFTP packets of the run, retransmissions among them (null when not counted).</summary>
    public Retransmissions? Packets { get; init; }

    public bool Ok => Failed == 0 && Duplicates.Count == 0 && (Admin is null || Admin.NotInstalledCount == 0);

    public static SimulationReport Build(IReadOnlyCollection<MachineRecord> machines, double rate, TimeSpan wall, string sources, AdminCheckReport? admin = null)
    {
        ArgumentNullException.ThrowIfNull(machines);
        var completed = machines.Count(m => m.Completed);
        var stages = SimStages.All
            .Select(stage => Stage(stage.Name(), machines.Select(m => m.Duration(stage))))
            .Append(Stage("total", machines.Select(m => m.Total)))
            .ToArray();
        var failures = machines
            .Where(m => !m.Completed)
            .GroupBy(m => (Stage: (m.FailedAt ?? SimStages.All[0]).Name(), Reason: m.FailureReason ?? "did not finish"))
            .OrderBy(g => SimStages.All.Select(s => s.Name()).ToList().IndexOf(g.Key.Stage))
            .ThenByDescending(g => g.Count())
            .ThenBy(g => g.Key.Reason, StringComparer.Ordinal)
            .Select(g => new FailureGroup(g.Key.Stage, g.Key.Reason, g.Count(), [.. g.OrderBy(m => m.Index).Take(ExamplesPerFailure).Select(m => m.Mac)]))
            .ToArray();
        var seconds = Math.Max(wall.TotalSeconds, 0);
        return new SimulationReport(
            machines.Count,
            completed,
            machines.Count - completed,
            rate,
            Math.Round(seconds, 3),
            seconds > 0 ? Math.Round(completed / seconds, 2) : 0,
            sources,
            machines.SelectMany(m => m.Addresses).Distinct(StringComparer.Ordinal).Count(),
            stages,
            failures,
            FindDuplicates(machines),
            admin)
        {
            MachinesRebooted = machines.Count(m => m.Reboots.Count > 0),
            FailedAttempts = machines
                .SelectMany(m => m.Reboots.Select(r => (m.Mac, Stage: r.Stage.Name(), r.Reason)))
                .GroupBy(r => (r.Stage, r.Reason))
                .OrderByDescending(g => g.Count())
                .Select(g => new FailureGroup(g.Key.Stage, g.Key.Reason, g.Count(), g.Select(r => r.Mac).Distinct(StringComparer.Ordinal).Take(ExamplesPerFailure).ToArray()))
                .ToArray(),
        };
    }

    /// <summary>Every address ACKed to two or more distinct machines, in address order.</summary>
    public static IReadOnlyList<DuplicateAddress> FindDuplicates(IEnumerable<MachineRecord> machines)
    {
        ArgumentNullException.ThrowIfNull(machines);
        return machines
            .SelectMany(m => m.Addresses.Select(address => (Address: address, m.Mac, m.Index)))
            .GroupBy(x => x.Address, StringComparer.Ordinal)
            .Select(g => (g.Key, Macs: g.OrderBy(x => x.Index).Select(x => x.Mac).Distinct(StringComparer.Ordinal).ToArray()))
            .Where(g => g.Macs.Length > 1)
            .OrderBy(g => IPv4Address.TryParse(g.Key, out var a) ? a.Value : uint.MaxValue)
            .ThenBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new DuplicateAddress(g.Key, g.Macs))
            .ToArray();
    }

    private static StageReport Stage(string name, IEnumerable<TimeSpan?> samples)
    {
        var stats = LatencyStats.From(samples.OfType<TimeSpan>());
        return new StageReport(name, stats.Count, Ms(stats.P50), Ms(stats.P90), Ms(stats.P99), Ms(stats.Max));
    }

    private static double Ms(TimeSpan t) => Math.Round(t.TotalMilliseconds, 1);

    /// <summary>The report for people: <c>Key : value</c> lines, then a table of stages, then what went wrong.</summary>
    public string Render()
    {
        var text = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        var fields = new List<(string Key, string Value)>
        {
            ("Machines", string.Create(inv, $"{Machines} at {Rate:0.##}/s: {Completed} completed, {Failed} failed")),
            ("Wall time", string.Create(inv, $"{WallSeconds:0.00} s, {MachinesPerSecond:0.0} machines/s completed")),
            ("Sources", Sources),
            ("Addresses", Duplicates.Count == 0
                ? string.Create(inv, $"{Addresses} ACKed, none held by two machines")
                : string.Create(inv, $"{Addresses} ACKed, {Duplicates.Count} held by two or more machines")),
        };
        if (Packets is { } packets)
        {
            fields.Add(("Packets", string.Create(inv, $"DHCP {packets.DhcpSent} sent, {packets.DhcpRetransmitted} of them retransmissions, {packets.DhcpUnmatched} replies unasked for; TFTP {packets.TftpRetransmitted} retransmissions")));
        }

        if (FailedAttempts.Count > 0)
        {
            fields.Add(("Reboots", string.Create(inv, $"{MachinesRebooted} machines powered on again after {FailedAttempts.Sum(f => f.Machines)} failed boot attempts")));
        }

        if (Admin is { } admin)
        {
            fields.Add(("Installed", string.Create(inv, $"{admin.Installed} of {admin.Checked} read back Installed or Rebooted from {admin.Server}")));
        }

        fields.Add(("Result", Ok ? "ok" : "FAILED"));
        var width = fields.Max(f => f.Key.Length);
        foreach (var (key, value) in fields)
        {
            text.Append(key.PadRight(width)).Append(" : ").AppendLine(value);
        }

        text.AppendLine();
        text.Append(CommandLine.Table(
            ["STAGE", "DONE", "P50", "P90", "P99", "MAX"],
            Stages.Select(s => new[] { s.Stage, s.Count.ToString(inv), Duration(s.P50Ms, s.Count), Duration(s.P90Ms, s.Count), Duration(s.P99Ms, s.Count), Duration(s.MaxMs, s.Count) })));

        if (Failures.Count > 0)
        {
            text.AppendLine();
            text.Append(CommandLine.Table(
                ["FAILED IN", "MACHINES", "REASON", "E.G."],
                Failures.Select(f => new[] { f.Stage, f.Machines.ToString(inv), f.Reason, string.Join(' ', f.Examples) })));
        }

        if (FailedAttempts.Count > 0)
        {
            text.AppendLine();
            text.Append(CommandLine.Table(
                ["ATTEMPT FAILED IN", "ATTEMPTS", "REASON", "E.G."],
                FailedAttempts.Select(f => new[] { f.Stage, f.Machines.ToString(inv), f.Reason, string.Join(' ', f.Examples) })));
        }

        if (Duplicates.Count > 0)
        {
            text.AppendLine();
            text.Append(CommandLine.Table(
                ["ADDRESS", "ACKED TO"],
                Duplicates.Take(ListedAtMost).Select(d => new[] { d.Address, string.Join(' ', d.Machines) })));
            if (Duplicates.Count > ListedAtMost)
            {
                text.AppendLine(string.Create(inv, $"(and {Duplicates.Count - ListedAtMost} more addresses)"));
            }
        }

        if (Admin is { NotInstalledCount: > 0 } notAll)
        {
            text.AppendLine();
            text.Append(CommandLine.Table(["NOT INSTALLED", "STAGE"], notAll.NotInstalled.Select(m => new[] { m.Mac, m.Stage })));
            if (notAll.NotInstalledCount > notAll.NotInstalled.Count)
            {
                text.AppendLine(string.Create(inv, $"(and {notAll.NotInstalledCount - notAll.NotInstalled.Count} more machines)"));
            }
        }

        return text.ToString();
    }

    /// <summary>Milliseconds as people read them: 0.8ms, 12ms, 1.25s, 61.0s.</summary>
    public static string Duration(double ms, int count = 1) => count == 0
        ? "-"
        : ms switch
        {
            // Each bound is where the rounded text would reach the next unit (999.6 ms is "1.00s", not "1000ms").
            < 9.95 => ms.ToString("0.0", CultureInfo.InvariantCulture) + "ms",
            < 999.5 => ms.ToString("0", CultureInfo.InvariantCulture) + "ms",
            < 9995 => (ms / 1000).ToString("0.00", CultureInfo.InvariantCulture) + "s",
            _ => (ms / 1000).ToString("0.0", CultureInfo.InvariantCulture) + "s",
        };
}
