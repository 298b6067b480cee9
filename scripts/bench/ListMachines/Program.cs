using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Provisioner.Cluster.Hosting;
using Provisioner.Cluster.Machines;
using Provisioner.Cluster.ReadModel;
using Provisioner.Domain.Machines;
using Provisioner.Host;
using Provisioner.Host.Admin;
using Provisioner.Host.Cli;

namespace Provisioner.Bench.ListMachines;

/// <summary>
/// Tests the claim "fleet-wide views never wake every actor: listing 100,000 machines takes well under a second".
/// Starts a real node in-process (Serve.Build, SQLite journal in a temp directory), populates N machines
/// through the shard region, times the admin API list, the CLI table and a stage-filtered list, restarts the
/// node on the same journal to time the read model's catch-up, and wakes 1,000 cold machine actors for contrast.
/// </summary>
internal static class Program
{
    private const string Subnet = "10.0.0.0/8";
    private const string Profile = "bench";
    private const int DefaultN = 100_000;
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(30);

    private static async Task<int> Main(string[] args)
    {
        Options options;
        try
        {
            options = Options.Parse(args);
        }
        catch (ArgumentException e)
        {
            await Console.Error.WriteLineAsync($"list-machines-bench: {e.Message}\n{Options.Usage}");
            return 2;
        }

        var createdDataDir = !Directory.Exists(options.DataDir);
        if (!createdDataDir && Directory.EnumerateFileSystemEntries(options.DataDir).Any())
        {
            // Never benchmark (or later delete) somebody's journal.
            await Console.Error.WriteLineAsync($"list-machines-bench: data directory {options.DataDir} is not empty");
            return 2;
        }

        // Every stage change is an INFO line (100k would flood the console and tax the writes). The hocon's akka
        // section never reaches the ActorSystem, so filter Akka's categories in Microsoft.Extensions.Logging.
        Environment.SetEnvironmentVariable("Logging__LogLevel__Akka", "Warning");
        Directory.CreateDirectory(options.DataDir);
        try
        {
            var report = await new Run(options).ExecuteAsync();
            var text = report.ToString();
            Console.WriteLine();
            Console.Write(text);
            if (options.OutFile is { } outFile)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(outFile))!);
                await File.WriteAllTextAsync(outFile, text);
                Console.WriteLine($"written to {outFile}");
            }

            return report.Ok ? 0 : 1;
        }
        catch (BenchException e)
        {
            await Console.Error.WriteLineAsync($"list-machines-bench: FAILED: {e.Message}");
            return 1;
        }
        finally
        {
            try
            {
                Directory.Delete(options.DataDir, recursive: true);
            }
            catch (IOException e)
            {
                await Console.Error.WriteLineAsync($"list-machines-bench: could not delete {options.DataDir}: {e.Message}");
            }
        }
    }

    internal static string Mac(int i) =>
        string.Create(CultureInfo.InvariantCulture, $"02:00:{(i >> 24) & 0xff:x2}:{(i >> 16) & 0xff:x2}:{(i >> 8) & 0xff:x2}:{i & 0xff:x2}");

    internal static string Address(int i) =>
        string.Create(CultureInfo.InvariantCulture, $"10.{(i >> 16) & 0xff}.{(i >> 8) & 0xff}.{i & 0xff}");

    /// <summary>One machine in ten stays mid-install (Discovered, deadline armed, actor awake); the rest report Installed and passivate.</summary>
    internal static bool StaysDiscovered(int i) => i % 10 == 0;

    private sealed class Run(Options options)
    {
        private readonly Report _report = new();
        private readonly Stopwatch _total = Stopwatch.StartNew();
        private readonly string _hoconDir = Path.Combine(AppContext.BaseDirectory, "hocon");

        public async Task<Report> ExecuteAsync()
        {
            var settings = ProvisionerSettings.FromConfig(ProvisionerConfig.Load(_hoconDir, "single-node", $"""
                provisioner.persistence.data-dir = {ProvisionerConfig.Quote(options.DataDir)}
                provisioner.node.port = 0
                provisioner.admin.listen = "http://127.0.0.1:0"
                # Idle machine actors stop quickly, so memory stays bounded while N machines are written.
                provisioner.machines.passivate-after = 5s
                # Machines left in Discovered must not time out (and write StageTimedOut) while we measure.
                provisioner.machines.deadlines.discovered = 2h
                """));

            _report.Header($"list-machines benchmark  {DateTime.UtcNow:yyyy-MM-dd HH:mm}Z  commit {options.Commit}  {Environment.ProcessorCount} cores  load avg at start {LoadAverage()}");
            _report.Header($"N requested = {options.N}  concurrency = {options.Concurrency}  journal = SQLite (WAL, data dir {options.DataDir})  server GC = {System.Runtime.GCSettings.IsServerGC}");

            int n;
            long events;
            await using (var node = await Node.StartAsync(settings))
            {
                Log($"node 1 up, admin API {node.Server}");
                (n, events) = await PopulateAsync(node);
                await WaitForDirectoryAsync(node, n);
                await MeasureListsAsync(node, n);
                Log("stopping node 1");
            }

            GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
            _report.Row("RSS between nodes (after full GC)", Mb(Environment.WorkingSet));

            await MeasureRestartAsync(settings, n, events);
            _report.Row("total bench time", Seconds(_total.Elapsed));
            return _report;
        }

        /// <summary>N machines through the real shard region, at most <see cref="Options.Concurrency"/> in flight.</summary>
        private async Task<(int Machines, long Events)> PopulateAsync(Node node)
        {
            var n = options.N;
            var populateBudget = options.Budget - TimeSpan.FromSeconds(150);
            var sw = Stopwatch.StartNew();
            var next = -1;
            var done = 0;
            long events = 0;
            var errors = 0;
            string? firstError = null;
            var stop = false;
            var lastMark = (Done: 0, Events: 0L, At: TimeSpan.Zero);
            var progressLock = new object();

            async Task<bool> Execute(string mac, MachineCommand command)
            {
                var result = await node.Region.Ask<MachineProtocol.CommandResult>(new MachineProtocol.Execute(mac, command), AskTimeout);
                if (result.Outcome != DecisionOutcome.Accepted)
                {
                    throw new BenchException($"{mac}: {command.GetType().Name} was {result.Outcome} ({result.Reason}), expected Accepted: is the journal empty?");
                }

                Interlocked.Increment(ref events);
                return true;
            }

            async Task Worker()
            {
                while (!Volatile.Read(ref stop))
                {
                    var i = Interlocked.Increment(ref next);
                    if (i >= n)
                    {
                        return;
                    }

                    var mac = Mac(i);
                    try
                    {
                        await Execute(mac, new MachineCommands.RequestBoot(DateTimeOffset.UtcNow, 0, true, Profile));
                        await Execute(mac, new MachineCommands.RecordLease(DateTimeOffset.UtcNow, Address(i), Subnet));
                        if (!StaysDiscovered(i))
                        {
                            await Execute(mac, new MachineCommands.ReportInstalled(DateTimeOffset.UtcNow));
                        }
                    }
                    catch (Exception e) when (e is AskTimeoutException or BenchException)
                    {
                        Interlocked.CompareExchange(ref firstError, $"{mac}: {e.Message}", null);
                        if (Interlocked.Increment(ref errors) >= 10)
                        {
                            Volatile.Write(ref stop, true);
                        }

                        continue;
                    }

                    var count = Interlocked.Increment(ref done);
                    if (count % 10_000 == 0)
                    {
                        lock (progressLock)
                        {
                            var now = sw.Elapsed;
                            var ev = Interlocked.Read(ref events);
                            var span = (now - lastMark.At).TotalSeconds;
                            Log($"populate {count,7:N0}/{n:N0} machines  {now.TotalSeconds,6:F1} s  last 10k: {(count - lastMark.Done) / span,6:F0} machines/s {(ev - lastMark.Events) / span,6:F0} ev/s  RSS {Mb(Environment.WorkingSet)}");
                            lastMark = (count, ev, now);
                        }
                    }

                    if (sw.Elapsed > populateBudget && !Volatile.Read(ref stop))
                    {
                        Volatile.Write(ref stop, true);
                        Log($"populate budget of {populateBudget.TotalSeconds:F0} s spent at {count:N0} machines: stopping early");
                    }
                }
            }

            Log($"populating {n:N0} machines (RequestBoot + RecordLease; then ReportInstalled for 9 in 10)");
            await Task.WhenAll(Enumerable.Range(0, options.Concurrency).Select(_ => Task.Run(Worker)));
            sw.Stop();

            if (errors > 0)
            {
                throw new BenchException($"{errors} machine(s) failed while populating; first: {firstError}");
            }

            if (done < n)
            {
                _report.Warn($"populate stopped at the time budget: N = {done:N0} machines, not {n:N0}");
            }

            var rate = done / sw.Elapsed.TotalSeconds;
            _report.Row($"populate {done:N0} machines, {events:N0} events", $"{Seconds(sw.Elapsed)}  ({rate:F0} machines/s, {events / sw.Elapsed.TotalSeconds:F0} events/s)");
            _report.Row("RSS after populate", Mb(Environment.WorkingSet));
            return (done, events);
        }

        /// <summary>How far the read model trails the last acknowledged write (it follows the journal live).</summary>
        private async Task WaitForDirectoryAsync(Node node, int n)
        {
            var sw = Stopwatch.StartNew();
            var deadline = TimeSpan.FromSeconds(120);
            var discovered = Enumerable.Range(0, n).Count(StaysDiscovered);
            while (true)
            {
                // N machines is not enough: a machine is listed from its first event, so wait for the last events
                // (every lease, every Installed) to be folded too.
                var list = await node.Directory.Ask<DirectoryProtocol.MachineList>(new DirectoryProtocol.ListMachines(), AskTimeout);
                if (list.CaughtUp && list.Machines.Count == n &&
                    list.Machines.Count(m => m.Stage == MachineStage.Discovered) == discovered &&
                    list.Machines.Count(m => m.Stage == MachineStage.Installed) == n - discovered &&
                    list.Machines.All(m => m.Address is not null))
                {
                    _report.Row("directory lag after the last write", Ms(sw.Elapsed));
                    return;
                }

                if (sw.Elapsed > deadline)
                {
                    throw new BenchException($"the directory lists {list.Machines.Count:N0} machines (caught up: {list.CaughtUp}) {deadline.TotalSeconds:F0} s after populating {n:N0}");
                }

                await Task.Delay(250);
            }
        }

        private async Task MeasureListsAsync(Node node, int n)
        {
            using var http = new HttpClient { BaseAddress = new Uri(node.Server), Timeout = TimeSpan.FromSeconds(60) };
            var discovered = Enumerable.Range(0, n).Count(StaysDiscovered);

            // Correctness first (and JIT warm-up): the API must hand back exactly N summaries, caught up.
            var all = await http.GetFromJsonAsync<MachineListDto>("api/v1/machines", AdminJson.Options)
                ?? throw new BenchException("empty body from GET /api/v1/machines");
            Check(all.CaughtUp && all.Machines.Count == n, $"GET /api/v1/machines: {all.Machines.Count} machines, caughtUp {all.CaughtUp}; expected {n}");
            CheckStages("after populate (live directory)", all, n);

            Log("timing lists");
            await TimeAsync($"directory actor Ask, all {n:N0} (no HTTP)", 5, async () =>
            {
                var list = await node.Directory.Ask<DirectoryProtocol.MachineList>(new DirectoryProtocol.ListMachines(), AskTimeout);
                Check(list.Machines.Count == n, "directory count");
                return null;
            });

            await TimeAsync($"HTTP GET /api/v1/machines, all {n:N0}", 5, async () => await GetBytesAsync(http, "api/v1/machines"));

            await TimeAsync($"HTTP GET + deserialize, all {n:N0}", 3, async () =>
            {
                var list = await http.GetFromJsonAsync<MachineListDto>("api/v1/machines", AdminJson.Options);
                Check(list?.Machines.Count == n, "deserialized count");
                return null;
            });

            await TimeAsync($"CLI `machine list` table, all {n:N0}", 3, async () =>
            {
                using var stderr = new StringWriter();
                var exit = await CommandLine.RunAsync(["machine", "list", "--server", node.Server], TextWriter.Null, stderr);
                Check(exit == CommandLine.Ok, $"CLI exit {exit}: {stderr}");
                return null;
            });

            await TimeAsync($"HTTP GET ?stage=Discovered ({discovered:N0} match)", 5, async () => await GetBytesAsync(http, "api/v1/machines?stage=Discovered"));

            await TimeAsync("HTTP GET ?stage=Failed (0 match)", 5, async () => await GetBytesAsync(http, "api/v1/machines?stage=Failed"));

            await TimeAsync($"CLI `machine list --stage Discovered`", 3, async () =>
            {
                using var stderr = new StringWriter();
                var exit = await CommandLine.RunAsync(["machine", "list", "--stage", "Discovered", "--server", node.Server], TextWriter.Null, stderr);
                Check(exit == CommandLine.Ok, $"CLI exit {exit}: {stderr}");
                return null;
            });
        }

        /// <summary>Cold start of the read model: a new node on the same journal, until the API says caught up with N machines.</summary>
        private async Task MeasureRestartAsync(ProvisionerSettings settings, int n, long events)
        {
            Log("starting node 2 on the same journal");
            var sw = Stopwatch.StartNew();
            await using var node = await Node.StartAsync(settings);
            var started = sw.Elapsed;
            using var http = new HttpClient { BaseAddress = new Uri(node.Server), Timeout = TimeSpan.FromSeconds(60) };

            // Poll with a filter that matches nothing: the caughtUp flag without shipping N summaries every 100 ms.
            var deadline = TimeSpan.FromSeconds(300);
            TimeSpan caughtUp;
            while (true)
            {
                var probe = await http.GetFromJsonAsync<MachineListDto>("api/v1/machines?stage=Failed", AdminJson.Options);
                if (probe?.CaughtUp == true)
                {
                    caughtUp = sw.Elapsed;
                    break;
                }

                if (sw.Elapsed > deadline)
                {
                    throw new BenchException($"node 2's directory not caught up {deadline.TotalSeconds:F0} s after start");
                }

                await Task.Delay(100);
            }

            var all = await http.GetFromJsonAsync<MachineListDto>("api/v1/machines", AdminJson.Options);
            var listed = sw.Elapsed;
            Check(all is { CaughtUp: true } && all.Machines.Count == n, $"after restart the API lists {all?.Machines.Count} machines, expected {n}");

            CheckStages("after restart (directory rebuilt from the journal)", all!, n);
            _report.Row("restart: node started (Build + StartAsync)", Seconds(started));
            _report.Row($"restart: directory caught up ({events:N0} events)", $"{Seconds(caughtUp)}  ({events / caughtUp.TotalSeconds:F0} events/s from start)");
            _report.Row($"restart: first full list of {n:N0} (caughtUp)", Seconds(listed));
            _report.Row("RSS after catch-up (Environment.WorkingSet)", Mb(Environment.WorkingSet));
            _report.Row("managed heap after catch-up (after full GC)", Mb(GC.GetTotalMemory(forceFullCollection: true)));

            await WakeColdActorsAsync(node, n);
            Log("stopping node 2");
        }

        /// <summary>The contrast: what a list that asked every machine actor would cost (each recovers from the journal).</summary>
        private async Task WakeColdActorsAsync(Node node, int n)
        {
            var count = Math.Min(options.Wake, n);
            if (count == 0)
            {
                return;
            }

            var step = n / count;
            var next = -1;
            var sw = Stopwatch.StartNew();

            async Task Worker()
            {
                while (true)
                {
                    var k = Interlocked.Increment(ref next);
                    if (k >= count)
                    {
                        return;
                    }

                    var i = k * step;
                    var result = await node.Region.Ask<MachineProtocol.MachineResult>(new MachineProtocol.GetMachine(Mac(i)), AskTimeout);
                    Check(result.Known && result.State.Address == Address(i), $"GetMachine {Mac(i)}: not the machine written");
                }
            }

            await Task.WhenAll(Enumerable.Range(0, Math.Min(options.Concurrency, count)).Select(_ => Task.Run(Worker)));
            sw.Stop();
            var perMachine = sw.Elapsed / count;
            _report.Row($"wake {count:N0} cold actors (GetMachine, {Math.Min(options.Concurrency, count)} in flight)", $"{Seconds(sw.Elapsed)}  ({count / sw.Elapsed.TotalSeconds:F0} machines/s, {perMachine.TotalMilliseconds:F2} ms each)");
            _report.Row($"  => extrapolated: wake all {n:N0} to list them", Seconds(perMachine * n));

            // One at a time: the latency of a single cold recovery, on machines not woken above.
            var sequential = Math.Min(100, n - count);
            if (sequential > 0)
            {
                sw.Restart();
                for (var k = 0; k < sequential; k++)
                {
                    var i = k * step + 1;
                    var result = await node.Region.Ask<MachineProtocol.MachineResult>(new MachineProtocol.GetMachine(Mac(i)), AskTimeout);
                    Check(result.Known, $"GetMachine {Mac(i)} unknown");
                }

                _report.Row($"wake {sequential} cold actors one at a time", $"{(sw.Elapsed / sequential).TotalMilliseconds:F2} ms each");
            }
        }

        /// <summary>Every machine must be listed in the stage its commands left it in (not only counted).</summary>
        private void CheckStages(string when, MachineListDto list, int n)
        {
            var wrong = list.Machines
                .Select(m => (Summary: m, Index: Convert.ToInt32(m.MachineId.Replace(":", string.Empty, StringComparison.Ordinal)[4..], 16)))
                .Where(x => x.Index >= n || x.Summary.Stage != (StaysDiscovered(x.Index) ? MachineStage.Discovered : MachineStage.Installed) || x.Summary.Address != Address(x.Index))
                .ToList();
            if (wrong.Count == 0)
            {
                return;
            }

            var stages = string.Join(", ", list.Machines.GroupBy(m => m.Stage).OrderBy(g => g.Key).Select(g => $"{g.Key} {g.Count():N0}"));
            var examples = string.Join("; ", wrong.Take(5).Select(x => $"{x.Summary.MachineId} {x.Summary.Stage} address {x.Summary.Address ?? "-"} changed {x.Summary.LastChangedAt:HH:mm:ss.fff}"));
            _report.Warn($"{when}: {wrong.Count:N0} of {list.Machines.Count:N0} machines listed in the wrong stage or without their lease (stages: {stages}); e.g. {examples}");
        }

        private async Task TimeAsync(string name, int runs, Func<Task<long?>> action)
        {
            var cold = Stopwatch.StartNew();
            var bytes = await action();
            cold.Stop();
            var times = new List<TimeSpan>();
            for (var r = 0; r < runs; r++)
            {
                var sw = Stopwatch.StartNew();
                await action();
                times.Add(sw.Elapsed);
            }

            times.Sort();
            var median = times[times.Count / 2];
            var size = bytes is { } b ? $"  {b / 1e6:F1} MB" : string.Empty;
            _report.Row(name, $"min {Ms(times[0])}  median {Ms(median)}  max {Ms(times[^1])}  (first {Ms(cold.Elapsed)}, {runs} runs){size}");
        }

        private static async Task<long?> GetBytesAsync(HttpClient http, string path)
        {
            using var response = await http.GetAsync(new Uri(path, UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
            Check(response.IsSuccessStatusCode, $"GET {path}: {(int)response.StatusCode}");
            await using var body = await response.Content.ReadAsStreamAsync();
            var buffer = new byte[81920];
            long total = 0;
            int read;
            while ((read = await body.ReadAsync(buffer)) > 0)
            {
                total += read;
            }

            return total;
        }
    }

    /// <summary>A real `provisioner serve` node in this process (as tests/Provisioner.Host.Tests/Cli/LiveNode.cs).</summary>
    private sealed class Node : IAsyncDisposable
    {
        private readonly WebApplication _app;

        private Node(WebApplication app, string server, IActorRef region, IActorRef directory)
        {
            _app = app;
            Server = server;
            Region = region;
            Directory = directory;
        }

        public string Server { get; }

        public IActorRef Region { get; }

        public IActorRef Directory { get; }

        public static async Task<Node> StartAsync(ProvisionerSettings settings)
        {
            var app = Serve.Build(settings);
            using var startup = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await app.StartAsync(startup.Token);
            var registry = app.Services.GetRequiredService<ActorRegistry>();
            var node = new Node(app, app.Urls.First(), await registry.GetAsync<MachineRegion>(startup.Token), await registry.GetAsync<MachineDirectoryKey>(startup.Token));

            // Sharding needs the cluster Up (the node joins itself); bounded wait on the health endpoint.
            using var http = new HttpClient { BaseAddress = new Uri(node.Server), Timeout = TimeSpan.FromSeconds(10) };
            while (!(await http.GetAsync(new Uri("healthz", UriKind.Relative), startup.Token)).IsSuccessStatusCode)
            {
                await Task.Delay(100, startup.Token);
            }

            return node;
        }

        public async ValueTask DisposeAsync()
        {
            using var stopping = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await _app.StopAsync(stopping.Token);
            await _app.DisposeAsync();
        }
    }

    private sealed class Report
    {
        private readonly List<string> _header = [];
        private readonly List<(string Name, string Value)> _rows = [];
        private readonly List<string> _warnings = [];

        public bool Ok => _warnings.Count == 0;

        public void Header(string line) => _header.Add(line);

        public void Row(string name, string value)
        {
            _rows.Add((name, value));
            Log($"{name}: {value}");
        }

        public void Warn(string line)
        {
            _warnings.Add(line);
            Log("WARNING " + line);
        }

        public override string ToString()
        {
            var text = new StringBuilder();
            _header.ForEach(h => text.AppendLine(h));
            var width = _rows.Max(r => r.Name.Length);
            text.AppendLine(new string('-', width + 60));
            foreach (var (name, value) in _rows)
            {
                text.Append(name.PadRight(width)).Append("  ").AppendLine(value);
            }

            _warnings.ForEach(w => text.AppendLine("WARNING: " + w));
            return text.ToString();
        }
    }

    private sealed record Options(int N, string DataDir, string? OutFile, TimeSpan Budget, int Concurrency, int Wake, string Commit)
    {
        public const string Usage = "usage: list-machines-bench [N] --data-dir DIR [--out FILE] [--budget SECONDS] [--concurrency K] [--wake M] [--commit SHA]";

        public static Options Parse(string[] args)
        {
            int? n = null;
            string? dataDir = null, outFile = null, commit = null;
            int budget = 600, concurrency = 256, wake = 1000;
            for (var i = 0; i < args.Length; i++)
            {
                string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
                switch (args[i])
                {
                    case "--data-dir": dataDir = Value(); break;
                    case "--out": outFile = Value(); break;
                    case "--commit": commit = Value(); break;
                    case "--budget": budget = Positive(Value(), "--budget"); break;
                    case "--concurrency": concurrency = Positive(Value(), "--concurrency"); break;
                    case "--wake": wake = int.Parse(Value(), CultureInfo.InvariantCulture); break;
                    case var a when n is null && !a.StartsWith('-'): n = Positive(a, "N"); break;
                    default: throw new ArgumentException($"unexpected argument '{args[i]}'");
                }
            }

            if (dataDir is null)
            {
                throw new ArgumentException("--data-dir is required");
            }

            return new Options(n ?? DefaultN, Path.GetFullPath(dataDir), outFile, TimeSpan.FromSeconds(budget), concurrency, wake, commit ?? "unknown");
        }

        private static int Positive(string text, string what) =>
            int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v > 0 ? v : throw new ArgumentException($"{what}: '{text}' is not a positive whole number");
    }

    private static void Check(bool condition, string message)
    {
        if (!condition)
        {
            throw new BenchException(message);
        }
    }

    private static void Log(string line) => Console.WriteLine($"[bench {DateTime.UtcNow:HH:mm:ss}] {line}");

    private static string Ms(TimeSpan t) => t.TotalMilliseconds < 100 ? $"{t.TotalMilliseconds:F1} ms" : $"{t.TotalMilliseconds:F0} ms";

    private static string Seconds(TimeSpan t) => $"{t.TotalSeconds:F1} s";

    private static string Mb(long bytes) => $"{bytes / 1048576.0:F0} MB";

    private static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "?";
        }
    }
}

internal sealed class BenchException(string message) : Exception(message);
