using System.Globalization;
using System.Text.Json;
using Akka.Configuration;
using Provisioner.Cluster.Hosting;
using Provisioner.Domain.Machines;
using Provisioner.Host.Admin;

namespace Provisioner.Host.Cli;

/// <summary>
/// <c>provisioner &lt;noun&gt; &lt;verb&gt;</c>. Parsing lives here; the verbs talk to a node through <see cref="AdminClient"/>.
/// Lists are tables (MAC first, AGE last), one object is <c>Key : value</c>, <c>-o json</c> everywhere,
/// errors on stderr with a non-zero exit (1 = failed, 2 = usage).
/// </summary>
public static class CommandLine
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int Usage = 2;

    private const string DefaultServer = "http://127.0.0.1:9780";

    public const string Help = """
        provisioner — network-boot provisioning: PXE-boot bare metal and install it unattended.

        Usage:
          provisioner serve [--config NAME|FILE] [--hocon-dir DIR] [--data-dir DIR] [--admin-listen URL]
              Run a node. NAME is a file in the hocon directory layered over defaults.conf:
              single-node (default: both roles, embedded SQLite), core, edge. Every key: hocon/defaults.conf;
              provisioner.edge.dhcp.mode = server (lease addresses from each subnet's pool) or proxy (proxyDHCP
              beside the site's own DHCP server: PXE clients get only what to boot, on ports 67 and 4011).
          provisioner machine list [--stage STAGE] [-o table|json]
              Every machine the cluster knows, from the read model (never wakes machine actors).
          provisioner machine show <mac> [-o table|json]
              One machine: state, profile, lease, and its last 500 events with their times.
          provisioner machine history <mac> [-o table|json]
              Only the machine's last 500 events (read from the journal: ask a core node).
          provisioner machine where <mac> [-o table|json]
              Which node hosts the machine's actor (its shard's node), whether it is live or passivated, its last
              sequence number. Never wakes the actor.
          provisioner machine reprovision <mac>
              Install the machine again at its next PXE boot.
          provisioner cluster show [-o table|json]
              Cluster members, their roles and status.
          provisioner cluster shards [-o table|json]
              Per entity type (machine, subnet) and node: shards and live actors (passivated machines are not counted).
          provisioner cluster leave <node>
              A graceful leave: the member (akka.tcp://provisioner@host:port, or host:port) hands its shards over and
              exits. Use it before taking a node down for maintenance.
          provisioner cluster down <node>
              Marks a member down that is gone for good (its machine died and the cluster has not downed it
              yet); its shards start on the other core nodes. Never for a node that is still running.
          provisioner subnet handover <id> <node> [-o table|json]
              The subnet's definition (network, pool, options), kept as it is, passes to the node (host:port): its
              next declaration may change it. For when the edge that first declared the subnet is gone for good,
              or the site moves to another edge; without it, another edge's different definition is refused.
          provisioner node show [-o table|json]
              The node answering: resident memory, managed heap, and machine actors that persisted nothing.
          provisioner node gc [-o table|json]
              Diagnostic: a full, compacting garbage collection on that node (it pauses), then node show.
          provisioner simulate --dhcp-server IP[:PORT] --relay-address IP[:PORT] [--machines N] [--rate R] ...
              A boot storm: N simulated machines PXE-boot through a DHCP relay against a real edge (DHCP, TFTP, HTTP,
              kickstart, phone-home) with firmware timers; reports machines/s and per-stage latency percentiles.
              Its own options: provisioner simulate --help.

        Options for the client verbs:
          --server URL     admin API of a node (env PROVISIONER_SERVER, default http://127.0.0.1:9780)
          --token TOKEN    bearer token if the node requires one (env PROVISIONER_ADMIN_TOKEN)
          -o, --output     table (default) or json

        Stages: New, Discovered, NbpServed, KernelFetched, KickstartFetched, Installed, Rebooted, Failed.
        MAC addresses may be written aa:bb:cc:dd:ee:ff, AA-BB-CC-DD-EE-FF, aabb.ccdd.eeff or aabbccddeeff.
        """;

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);

        ParsedArgs parsed;
        try
        {
            parsed = ParsedArgs.Parse(args);
        }
        catch (UsageException e)
        {
            await stderr.WriteLineAsync($"provisioner: {e.Message}\nRun 'provisioner --help' for usage.");
            return Usage;
        }

        if (parsed.HelpRequested || parsed.Words.Count == 0)
        {
            await (parsed.Words.Count == 0 && !parsed.HelpRequested ? stderr : stdout).WriteLineAsync(Help);
            return parsed.HelpRequested ? Ok : Usage;
        }

        try
        {
            return (parsed.Words[0], parsed.Words.ElementAtOrDefault(1)) switch
            {
                ("serve", _) => await ServeAsync(parsed, stderr),
                ("machine", "list") => await MachineList(parsed, stdout),
                ("machine", "show") => await MachineShow(parsed, stdout, historyOnly: false),
                ("machine", "history") => await MachineShow(parsed, stdout, historyOnly: true),
                ("machine", "reprovision") => await MachineReprovision(parsed, stdout),
                ("machine", "where") => await MachineWhere(parsed, stdout),
                ("cluster", "show") => await ClusterShow(parsed, stdout),
                ("cluster", "shards") => await ClusterShards(parsed, stdout),
                ("cluster", "leave") => await ClusterMembership(parsed, stdout, "leave"),
                ("cluster", "down") => await ClusterMembership(parsed, stdout, "down"),
                ("subnet", "handover") => await SubnetHandover(parsed, stdout),
                ("node", "show") => await NodeShow(parsed, stdout, collect: false),
                ("node", "gc") => await NodeShow(parsed, stdout, collect: true),
                ("simulate", _) => await Simulate.SimulateCommand.RunAsync(parsed.Rest, stdout, stderr),
                _ => throw new UsageException($"unknown command '{string.Join(' ', parsed.Words)}'"),
            };
        }
        catch (UsageException e)
        {
            await stderr.WriteLineAsync($"provisioner: {e.Message}\nRun 'provisioner --help' for usage.");
            return Usage;
        }
        catch (AdminApiException e)
        {
            await stderr.WriteLineAsync($"provisioner: {e.Message}");
            return Failed;
        }
        catch (ConfigurationException e)
        {
            await stderr.WriteLineAsync($"provisioner: configuration: {e.Message}");
            return Failed;
        }
        catch (Domain.Profiles.ProfileConfigException e)
        {
            await stderr.WriteLineAsync($"provisioner: profiles: {e.Message}");
            return Failed;
        }
    }

    private static async Task<int> ServeAsync(ParsedArgs args, TextWriter stderr)
    {
        args.Expect(1, "serve");
        var hoconDir = args.Option("hocon-dir") ?? Path.Combine(AppContext.BaseDirectory, "hocon");
        var extra = new List<string>();
        if (args.Option("data-dir") is { } dataDir)
        {
            extra.Add("provisioner.persistence.data-dir = " + ProvisionerConfig.Quote(Path.GetFullPath(dataDir)));
        }

        if (args.Option("admin-listen") is { } listen)
        {
            extra.Add("provisioner.admin.listen = " + ProvisionerConfig.Quote(listen));
        }

        var config = ProvisionerConfig.Load(hoconDir, args.Option("config") ?? "single-node", string.Join('\n', extra));
        var settings = ProvisionerSettings.FromConfig(config);
        WebApplication app;
        try
        {
            app = Serve.Build(settings);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or Microsoft.Data.Sqlite.SqliteException)
        {
            await stderr.WriteLineAsync($"provisioner: cannot open the data directory {settings.DataDirectory}: {e.Message} (use --data-dir or PROVISIONER_DATA_DIR)");
            return Failed;
        }

        await app.RunAsync();
        return Ok;
    }

    private static async Task<int> MachineList(ParsedArgs args, TextWriter stdout)
    {
        args.Expect(2, "machine list");
        using var client = args.Client();
        var list = await client.ListMachinesAsync(args.Option("stage"));
        if (await WroteJsonAsync(args, stdout, list))
        {
            return Ok;
        }

        if (list.Machines.Count == 0)
        {
            await stdout.WriteLineAsync(args.Option("stage") is { } stage ? $"No machines in stage {stage}." : "No machines yet.");
        }
        else
        {
            var now = DateTimeOffset.UtcNow;
            var rows = list.Machines.Select(m => new[]
            {
                m.MachineId, m.Stage.ToString(), m.Profile ?? "-", m.Address ?? "-",
                Age(now, m.LastChangedAt), Age(now, m.FirstSeenAt),
            });
            await stdout.WriteAsync(Table(["MAC", "STAGE", "PROFILE", "ADDRESS", "SINCE", "AGE"], rows));
        }

        if (!list.CaughtUp)
        {
            await stdout.WriteLineAsync("(the node is still reading its journal after a start; this list may be incomplete)");
        }

        return Ok;
    }

    private static async Task<int> MachineShow(ParsedArgs args, TextWriter stdout, bool historyOnly)
    {
        var mac = args.Argument(2, "a MAC address");
        args.Expect(3, historyOnly ? "machine history <mac>" : "machine show <mac>");
        if (!MachineId.TryParse(mac, out var id))
        {
            throw new UsageException($"'{mac}' is not a MAC address (expected aa:bb:cc:dd:ee:ff)");
        }

        using var client = args.Client();
        var machine = await client.GetMachineAsync(id.Value);
        if (args.Json)
        {
            await stdout.WriteLineAsync(historyOnly
                ? JsonSerializer.Serialize(machine.Events, AdminJson.Pretty)
                : JsonSerializer.Serialize(machine, AdminJson.Pretty));
            return Ok;
        }

        if (!historyOnly)
        {
            var fields = new (string Key, string Value)[]
            {
                ("Machine", machine.MachineId),
                ("Stage", machine.Stage.ToString()),
                ("Profile", machine.Profile ?? "-"),
                ("Address", machine.Address is null ? "-" : $"{machine.Address} ({machine.Subnet})"),
                ("Architecture", machine.Architecture),
                ("Firmware", machine.Firmware ?? (machine.FirmwareIsIpxe ? "iPXE" : "PXE")),
                ("Reached via", machine.Path?.ViaText ?? "-"),
                ("Attempt", machine.Attempt.ToString(CultureInfo.InvariantCulture)),
                ("Timeouts", machine.Timeouts.ToString(CultureInfo.InvariantCulture)),
                ("Failure", machine.FailureReason ?? "-"),
                ("First seen", Time(machine.FirstSeenAt)),
                ("Stage since", Time(machine.StageEnteredAt)),
                ("Installed", Time(machine.InstalledAt)),
            };
            var width = fields.Max(f => f.Key.Length);
            foreach (var (key, value) in fields)
            {
                await stdout.WriteLineAsync($"{key.PadRight(width)} : {value}");
            }

            await stdout.WriteLineAsync();
            await stdout.WriteLineAsync(machine.EventsNote is null ? "Events:" : $"Events ({machine.EventsNote}):");
        }

        await stdout.WriteAsync(Table(["TIME", "EVENT", "DETAIL"], machine.Events.Select(e => new[] { Time(e.At), e.Type, e.Detail })));
        if (historyOnly && machine.EventsNote is not null)
        {
            await stdout.WriteLineAsync($"({machine.EventsNote})");
        }

        return Ok;
    }

    private static async Task<int> MachineWhere(ParsedArgs args, TextWriter stdout)
    {
        var mac = args.Argument(2, "a MAC address");
        args.Expect(3, "machine where <mac>");
        if (!MachineId.TryParse(mac, out var id))
        {
            throw new UsageException($"'{mac}' is not a MAC address (expected aa:bb:cc:dd:ee:ff)");
        }

        using var client = args.Client();
        var where = await client.GetMachineWhereAsync(id.Value);
        if (await WroteJsonAsync(args, stdout, where))
        {
            return Ok;
        }

        var fields = new (string Key, string Value)[]
        {
            ("Machine", where.MachineId),
            ("Shard", where.Shard),
            ("Node", where.Node is null ? "-" : where.Node + (where.IsSelf ? " (self)" : string.Empty)),
            ("Actor", where.Live ? "live" : where.Node is null ? "not running" : "passivated (not running)"),
            ("Sequence", where.LastSequenceNr?.ToString(CultureInfo.InvariantCulture) ?? "- (read from the journal only on a core node)"),
        };
        var width = fields.Max(f => f.Key.Length);
        foreach (var (key, value) in fields)
        {
            await stdout.WriteLineAsync($"{key.PadRight(width)} : {value}");
        }

        if (where.Note is not null)
        {
            await stdout.WriteLineAsync($"({where.Note})");
        }

        return Ok;
    }

    private static async Task<int> MachineReprovision(ParsedArgs args, TextWriter stdout)
    {
        var mac = args.Argument(2, "a MAC address");
        args.Expect(3, "machine reprovision <mac>");
        if (!MachineId.TryParse(mac, out var id))
        {
            throw new UsageException($"'{mac}' is not a MAC address (expected aa:bb:cc:dd:ee:ff)");
        }

        using var client = args.Client();
        var result = await client.ReprovisionAsync(id.Value);
        if (args.Json)
        {
            await stdout.WriteLineAsync(JsonSerializer.Serialize(result, AdminJson.Pretty));
        }
        else
        {
            await stdout.WriteLineAsync(result.Outcome == nameof(DecisionOutcome.Unchanged)
                ? $"machine/{result.MachineId} unchanged (already waiting for its next PXE boot)"
                : $"machine/{result.MachineId} reprovisioned");
        }

        return Ok;
    }

    /// <summary>With <c>-o json</c>: writes <paramref name="value"/> as indented JSON and says so; otherwise writes nothing.</summary>
    private static async Task<bool> WroteJsonAsync<T>(ParsedArgs args, TextWriter stdout, T value)
    {
        if (!args.Json)
        {
            return false;
        }

        await stdout.WriteLineAsync(JsonSerializer.Serialize(value, AdminJson.Pretty));
        return true;
    }

    private static async Task<int> ClusterShow(ParsedArgs args, TextWriter stdout)
    {
        args.Expect(2, "cluster show");
        using var client = args.Client();
        var cluster = await client.GetClusterAsync();
        if (await WroteJsonAsync(args, stdout, cluster))
        {
            return Ok;
        }

        await stdout.WriteLineAsync($"Self   : {cluster.Self}");
        await stdout.WriteLineAsync($"Leader : {cluster.Leader ?? "-"}");
        await stdout.WriteLineAsync();
        await stdout.WriteAsync(Table(
            ["ADDRESS", "STATUS", "ROLES", "REACHABLE"],
            cluster.Members.Select(m => new[] { m.Address + (m.IsSelf ? " (self)" : string.Empty), m.Status, string.Join(',', m.Roles), cluster.Unreachable.Contains(m.Address) ? "no" : "yes" })));
        return Ok;
    }

    private static async Task<int> ClusterMembership(ParsedArgs args, TextWriter stdout, string verb)
    {
        var node = args.Argument(2, "a node (akka.tcp://provisioner@host:port or host:port)");
        args.Expect(3, $"cluster {verb} <node>");
        using var client = args.Client();
        var result = await client.ChangeMembershipAsync(verb, node);
        if (await WroteJsonAsync(args, stdout, result))
        {
            return Ok;
        }

        await stdout.WriteLineAsync(verb == "leave"
            ? $"{result.Node}: leaving (its shards move to the other nodes, then it exits)"
            : $"{result.Node}: marked down (its shards start on the other core nodes)");
        return Ok;
    }

    private static async Task<int> SubnetHandover(ParsedArgs args, TextWriter stdout)
    {
        var subnet = args.Argument(2, "a subnet id");
        var node = args.Argument(3, "the node (host:port) that is to hold the subnet's definition");
        args.Expect(4, "subnet handover <id> <node>");
        using var client = args.Client();
        var result = await client.HandOverSubnetAsync(subnet, node);
        if (await WroteJsonAsync(args, stdout, result))
        {
            return Ok;
        }

        await stdout.WriteLineAsync(result.Outcome == "Unchanged"
            ? $"subnet {result.Subnet}: node {result.DefinedBy} holds its definition already"
            : $"subnet {result.Subnet}: {result.Reason}; node {result.DefinedBy}'s next declaration may change it");
        return Ok;
    }

    private static async Task<int> ClusterShards(ParsedArgs args, TextWriter stdout)
    {
        args.Expect(2, "cluster shards");
        using var client = args.Client();
        var shards = await client.GetShardsAsync();
        if (await WroteJsonAsync(args, stdout, shards))
        {
            return Ok;
        }

        await stdout.WriteAsync(Table(
            ["TYPE", "NODE", "SHARDS", "ENTITIES", "FAILED"],
            shards.Regions.SelectMany(r => r.Nodes.Count == 0
                ? [new[] { r.Type, "-", "0", "0", string.Empty }]
                : r.Nodes.Select(n => new[] { r.Type, n.Address, n.Shards.ToString(CultureInfo.InvariantCulture), n.Entities.ToString(CultureInfo.InvariantCulture), n.Failed.Count == 0 ? string.Empty : string.Join(',', n.Failed) }))));
        return Ok;
    }

    private static async Task<int> NodeShow(ParsedArgs args, TextWriter stdout, bool collect)
    {
        args.Expect(2, collect ? "node gc" : "node show");
        using var client = args.Client();
        var node = collect ? await client.CollectGarbageAsync() : await client.GetNodeAsync();
        if (await WroteJsonAsync(args, stdout, node))
        {
            return Ok;
        }

        static string Mb(long bytes) => (bytes / 1048576.0).ToString("0.0", CultureInfo.InvariantCulture) + " MB";
        await stdout.WriteLineAsync($"Resident memory : {Mb(node.ResidentBytes)}");
        await stdout.WriteLineAsync($"Managed heap    : {Mb(node.GcHeapBytes)} ({Mb(node.GcFragmentedBytes)} of it free), {Mb(node.GcCommittedBytes)} committed{(node.Collected ? ", right after a full collection" : " at the last collection")}");
        await stdout.WriteLineAsync($"Collections     : {string.Join(" / ", node.GcCollections)} (gen0 / gen1 / gen2), paused {node.GcPausedMs:N0} ms in all");
        foreach (var gc in node.LastGcs)
        {
            var pause = gc.PausedMs.ToString("0.0", CultureInfo.InvariantCulture);
            await stdout.WriteLineAsync($"  last of a kind: #{gc.Index} {gc.Kind} gen{gc.Generation}, paused {pause} ms, {Mb(gc.PromotedBytes)} survived{(gc.Compacted ? ", compacted" : string.Empty)}");
        }

        await stdout.WriteLineAsync($"New machines    : {node.NewMachinesLive} live of {node.NewMachinesLimit} (machines.max-new-live), {node.NewMachinesRefused} refused");
        await stdout.WriteLineAsync(node.KnownMachines switch
        {
            null => "First boots     : recorded by each machine's actor before its ACK (shared journal, no DHCP here, or dhcp.first-boot-on-lease off)",
            < 0 => "First boots     : ride on the lease once the journal's machines are read (not yet)",
            { } n => $"First boots     : ride on the lease for machines outside the {n} this journal holds",
        });
        return Ok;
    }

    internal static string Table(string[] header, IEnumerable<string[]> rows)
    {
        var all = rows.Prepend(header).ToList();
        var widths = header.Select((_, i) => all.Max(r => r[i].Length)).ToArray();
        var text = new System.Text.StringBuilder();
        foreach (var row in all)
        {
            text.AppendLine(string.Join("  ", row.Select((cell, i) => i == row.Length - 1 ? cell : cell.PadRight(widths[i]))).TrimEnd());
        }

        return text.ToString();
    }

    internal static string Age(DateTimeOffset now, DateTimeOffset? then)
    {
        if (then is not { } t)
        {
            return "-";
        }

        var age = now - t;
        return age switch
        {
            { TotalSeconds: < 0 } => "0s",
            { TotalMinutes: < 2 } => $"{(int)age.TotalSeconds}s",
            { TotalHours: < 2 } => $"{(int)age.TotalMinutes}m",
            { TotalDays: < 2 } => $"{(int)age.TotalHours}h",
            _ => $"{(int)age.TotalDays}d",
        };
    }

    private static string Time(DateTimeOffset? at) =>
        at?.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture) ?? "-";

    private sealed class ParsedArgs
    {
        private static readonly HashSet<string> ValueOptions = ["server", "token", "output", "stage", "config", "hocon-dir", "data-dir", "admin-listen"];

        private readonly Dictionary<string, string> _options = new(StringComparer.Ordinal);

        public List<string> Words { get; } = [];

        /// <summary>Everything after a leading <c>simulate</c>: that verb parses its own options.</summary>
        public IReadOnlyList<string> Rest { get; private set; } = [];

        public bool HelpRequested { get; private set; }

        public bool Json => (Option("output") ?? "table") switch
        {
            "json" => true,
            "table" => false,
            var other => throw new UsageException($"unknown output format '{other}' (table or json)"),
        };

        public static ParsedArgs Parse(string[] args)
        {
            var parsed = new ParsedArgs();
            for (var i = 0; i < args.Length; i++)
            {
                var arg = args[i];
                if (arg == "simulate" && parsed.Words.Count == 0)
                {
                    parsed.Words.Add(arg);
                    parsed.Rest = args[(i + 1)..];
                    break;
                }

                if (arg is "-h" or "--help" or "help")
                {
                    parsed.HelpRequested = true;
                    continue;
                }

                if (arg.StartsWith('-') && arg.Length > 1)
                {
                    var name = arg is "-o" ? "output" : arg.TrimStart('-');
                    string? value = null;
                    if (name.IndexOf('=', StringComparison.Ordinal) is var eq and > 0)
                    {
                        value = name[(eq + 1)..];
                        name = name[..eq];
                    }

                    if (!ValueOptions.Contains(name))
                    {
                        throw new UsageException($"unknown option '{arg}'");
                    }

                    value ??= i + 1 < args.Length ? args[++i] : throw new UsageException($"option '{arg}' needs a value");
                    parsed._options[name] = value;
                    continue;
                }

                parsed.Words.Add(arg);
            }

            return parsed;
        }

        public string? Option(string name) => _options.TryGetValue(name, out var value) ? value : null;

        public string Argument(int index, string what) =>
            index < Words.Count ? Words[index] : throw new UsageException($"'{string.Join(' ', Words)}' needs {what}");

        public void Expect(int count, string usage)
        {
            if (Words.Count > count)
            {
                throw new UsageException($"unexpected '{Words[count]}' (usage: provisioner {usage})");
            }
        }

        public AdminClient Client() => AdminClient.Create(
            Option("server") ?? Environment.GetEnvironmentVariable("PROVISIONER_SERVER") ?? DefaultServer,
            Option("token") ?? Environment.GetEnvironmentVariable("PROVISIONER_ADMIN_TOKEN"));
    }
}

public sealed class UsageException(string message) : Exception(message);
