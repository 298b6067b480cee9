using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Provisioner.Lab.Tests.Support;

namespace Provisioner.Lab.Tests.Flood;

/// <summary>
/// A lab for hostile-input tests: the real node on br0, one flood namespace whose eth0 carries
/// <see cref="FloodAddressCount"/> addresses (10.77.N.10 upwards), and two namespaces for real clients
/// (tftp-hpa and curl from 10.77.N.60; busybox udhcpc on its own eth0). <see cref="RunAsync"/> measures the node
/// before, during and after one flood: whether it stays up, its resident memory, its log, and how long real clients
/// wait to be served.
/// </summary>
public sealed partial class FloodLab : IAsyncDisposable
{
    public const int FloodAddressCount = 50;
    public const string AssetName = "flood-probe.bin";
    public const string NbpName = "undionly.kpxe";

    /// <summary>A real client must be served within this, during and right after a flood (the issue's figure).</summary>
    public static readonly TimeSpan ServedWithin = TimeSpan.FromSeconds(5);

    /// <summary>A probe is killed after this, so a failure can still say "waited at least 10 s".</summary>
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(10);

    /// <summary>How far into the flood the "during" probes start (the flood runs 5 s).</summary>
    private static readonly TimeSpan ProbeDelay = TimeSpan.FromSeconds(1.5);

    private readonly LabDirectory _directory;
    private int _probeRound;

    private FloodLab(LabNetwork lab, LabDirectory directory, ProvisionerNode node, byte[] nbp, byte[] asset)
    {
        Lab = lab;
        _directory = directory;
        Node = node;
        Nbp = nbp;
        Asset = asset;
    }

    public LabNetwork Lab { get; }

    public ProvisionerNode Node { get; }

    public string FloodNamespace => Lab.Clients[0];

    private string ProbeNamespace => Lab.Clients[1];

    private string DhcpProbeNamespace => Lab.Clients[2];

    public IPAddress ServerAddress => IPAddress.Parse(Lab.ServerAddress);

    public IReadOnlyList<IPAddress> FloodAddresses { get; private set; } = [];

    private byte[] Nbp { get; }

    private byte[] Asset { get; }

    /// <param name="extraSubnets">More DHCP subnets for the node (see <see cref="ProvisionerNode.EdgeHocon"/>).</param>
    /// <param name="extraHocon">More node settings, after the lab's own.</param>
    public static async Task<FloodLab> StartAsync(string extraSubnets = "", string extraHocon = "")
    {
        var lab = await LabNetwork.CreateAsync(clients: 3);
        var directory = new LabDirectory();
        try
        {
            var n = lab.Subnet;
            var add = await lab.RunAsync(lab.Clients[0], $"sh -c \"for i in $(seq 10 {9 + FloodAddressCount}); do ip addr add 10.77.{n}.$i/24 dev eth0 || exit 1; done\"", TimeSpan.FromSeconds(30));
            Assert.True(add.ExitCode == 0, $"adding flood addresses: {add.Output}{add.Error}");
            var probe = await lab.RunAsync(lab.Clients[1], $"ip addr add 10.77.{n}.60/24 dev eth0");
            Assert.True(probe.ExitCode == 0, $"adding the probe address: {probe.Output}{probe.Error}");

            Directory.CreateDirectory(Path.Combine(directory.Path, "assets"));
            var asset = new byte[256 * 1024];
            new Random(60).NextBytes(asset);
            await File.WriteAllBytesAsync(Path.Combine(directory.Path, "assets", AssetName), asset);
            var node = await ProvisionerNode.StartAsync(lab, directory.Path, extraHocon, extraSubnets);
            var nbp = await File.ReadAllBytesAsync(Path.Combine(directory.Path, "tftp", NbpName));
            return new FloodLab(lab, directory, node, nbp, asset)
            {
                FloodAddresses = [.. Enumerable.Range(10, FloodAddressCount).Select(i => IPAddress.Parse($"10.77.{n}.{i}"))],
            };
        }
        catch
        {
            await lab.DisposeAsync();
            directory.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Warms the node up with one probe round (which must pass: otherwise the lab, not the node, is broken), takes
    /// the idle RSS, then runs <paramref name="flood"/> with a probe round during it and one right after it.
    /// </summary>
    public async Task<FloodOutcome> RunAsync(string name, Func<CancellationToken, Task<FloodResult>> flood)
    {
        var warmUp = await ProbeAsync("warm-up");
        Assert.True(warmUp.All(p => p.Ok), $"before any flood the real clients were not served; the lab is broken:\n{string.Join('\n', warmUp)}\n{Tail(Node.Log, 30)}");
        await Task.Delay(1000);
        var idleRss = ReadRss(Node.ProcessId) ?? throw new InvalidOperationException($"node exited before the flood:\n{Tail(Node.Log, 30)}");
        var idleFiles = CountOpenFiles(Node.ProcessId);
        var logBefore = Node.Log;
        var linesBefore = CountLines(logBefore);

        using var stopSampling = new CancellationTokenSource();
        var sampler = Task.Run(() => SampleAsync(stopSampling.Token));
        using var floodTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var flooding = flood(floodTimeout.Token);
        await Task.WhenAny(flooding, Task.Delay(ProbeDelay));
        var during = await ProbeAsync("during");
        var result = await flooding;
        var after = await ProbeAsync("after");
        await Task.Delay(1000); // lines the flood caused but the node had not written yet
        var logAfter = Node.Log;
        var linesAfter = CountLines(logAfter);
        await stopSampling.CancelAsync();
        var samples = await sampler;

        return new FloodOutcome(name, result, idleRss, idleFiles, samples, during, after, linesAfter - linesBefore, Commonest(logAfter[logBefore.Length..], 6), Node.ExitCode, Tail(Node.Log, 25));
    }

    private async Task<RssSamples> SampleAsync(CancellationToken stop)
    {
        var started = Stopwatch.GetTimestamp();
        long max = 0, last = 0;
        var maxFds = 0;
        TimeSpan? exitedAt = null;
        while (!stop.IsCancellationRequested)
        {
            if (ReadRss(Node.ProcessId) is { } rss)
            {
                last = rss;
                max = Math.Max(max, rss);
                maxFds = Math.Max(maxFds, CountOpenFiles(Node.ProcessId));
            }
            else
            {
                exitedAt = Stopwatch.GetElapsedTime(started);
                break;
            }

            try
            {
                await Task.Delay(100, stop);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        return new RssSamples(max, last, maxFds, exitedAt);
    }

    /// <summary>busybox udhcpc, tftp-hpa and curl at once, each timed; none may take longer than <see cref="ProbeTimeout"/>.</summary>
    public async Task<ProbeResult[]> ProbeAsync(string when)
    {
        var round = Interlocked.Increment(ref _probeRound);
        return await Task.WhenAll(DhcpProbeAsync(when), TftpProbeAsync(when, round), HttpProbeAsync(when, round));
    }

    private async Task<ProbeResult> DhcpProbeAsync(string when)
    {
        var watch = Stopwatch.StartNew();
        var result = await Lab.RunAsync(DhcpProbeNamespace, "udhcpc -i eth0 -n -q -f -t 10 -T 1 -s /bin/true", ProbeTimeout);
        var lease = Udhcpc.LeaseLine().Match(result.Output + result.Error);
        return new ProbeResult(when, "udhcpc lease", lease.Success, watch.Elapsed, lease.Success ? lease.Groups[1].Value : Last(result));
    }

    private async Task<ProbeResult> TftpProbeAsync(string when, int round)
    {
        var target = Path.Combine(_directory.Path, $"probe-{round}.tftp");
        var commands = Path.Combine(_directory.Path, $"probe-{round}.tftp-commands");
        // tftp-hpa retransmits every 5 s by default; 1 s is closer to PXE firmware and leaves four tries in 5 s.
        await File.WriteAllTextAsync(commands, $"binary\nrexmt 1\ntimeout 9\nget {NbpName} {target}\nquit\n");
        var watch = Stopwatch.StartNew();
        var result = await Lab.RunAsync(ProbeNamespace, $"sh -c \"tftp {Lab.ServerAddress} < {commands}\"", ProbeTimeout);
        var elapsed = watch.Elapsed;
        var ok = File.Exists(target) && (await File.ReadAllBytesAsync(target)).AsSpan().SequenceEqual(Nbp);
        return new ProbeResult(when, $"tftp-hpa {NbpName}", ok, elapsed, ok ? $"{Nbp.Length} bytes" : Last(result));
    }

    private async Task<ProbeResult> HttpProbeAsync(string when, int round)
    {
        var target = Path.Combine(_directory.Path, $"probe-{round}.http");
        var watch = Stopwatch.StartNew();
        var result = await Lab.RunAsync(ProbeNamespace, $"curl -fsS --max-time 9 -o {target} http://{Lab.ServerAddress}:8080/assets/{AssetName}", ProbeTimeout);
        var elapsed = watch.Elapsed;
        var ok = result.ExitCode == 0 && File.Exists(target) && (await File.ReadAllBytesAsync(target)).AsSpan().SequenceEqual(Asset);
        return new ProbeResult(when, "curl asset", ok, elapsed, ok ? $"{Asset.Length} bytes" : Last(result));
    }

    /// <summary>VmRSS of a process in bytes, or null once it has gone.</summary>
    public static long? ReadRss(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    return long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
                }
            }

            return null; // a zombie has no VmRSS
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The most frequent kinds of log line (timestamps, numbers and addresses blanked), with counts.</summary>
    private static string Commonest(string log, int kinds) => string.Join('\n', log
        .Split('\n', StringSplitOptions.RemoveEmptyEntries)
        .Select(l => Shape().Replace(l.Length > 24 ? l[24..] : l, "#"))
        .Select(l => l.Length > 220 ? l[..220] : l)
        .CountBy(l => l)
        .OrderByDescending(c => c.Value)
        .Take(kinds)
        .Select(c => $"  {c.Value,7} x {c.Key}"));

    private static int CountOpenFiles(int pid)
    {
        try
        {
            return Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd").Count();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    private static int CountLines(string text) => text.AsSpan().Count('\n');

    private static string Last(ProcessResult result)
    {
        var text = (result.Output + " " + result.Error).ReplaceLineEndings(" ").Trim();
        return $"exit {result.ExitCode}: {(text.Length > 300 ? "…" + text[^300..] : text)}";
    }

    public static string Tail(string log, int lines)
    {
        var all = log.Length > 20_000 ? log[^20_000..] : log;
        var split = all.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        return string.Join('\n', split.Skip(Math.Max(0, split.Length - lines)).Select(l => l.Length > 400 ? l[..400] + "…" : l));
    }

    public async ValueTask DisposeAsync()
    {
        await Node.DisposeAsync();
        await Lab.DisposeAsync();
        _directory.Dispose();
    }

    [GeneratedRegex(@"[0-9a-f]*[0-9][0-9a-f:.x]*")]
    private static partial Regex Shape();
}

public sealed record ProbeResult(string When, string Client, bool Ok, TimeSpan Elapsed, string Detail)
{
    public override string ToString() => $"  {When,-7} {Client,-22} {(Ok ? "ok" : "FAILED"),-6} {Elapsed.TotalSeconds,5:0.0} s  {Detail}";
}

public sealed record RssSamples(long MaxBytes, long LastBytes, int MaxOpenFiles, TimeSpan? ExitedAfter);

/// <summary>Everything one flood run measured, and the assertions every flood test makes on it.</summary>
public sealed record FloodOutcome(
    string Name,
    FloodResult Flood,
    long IdleRssBytes,
    int IdleOpenFiles,
    RssSamples Rss,
    IReadOnlyList<ProbeResult> During,
    IReadOnlyList<ProbeResult> After,
    int LogLines,
    string LogKinds,
    int? ExitCode,
    string LogTail)
{
    public string Describe() => new StringBuilder()
        .AppendLine(CultureInfo.InvariantCulture, $"{Name}: {Flood}")
        .AppendLine(CultureInfo.InvariantCulture, $"  node: {(ExitCode is { } code ? $"EXITED with {code}{(Rss.ExitedAfter is { } t ? $" {t.TotalSeconds:0.0} s after the flood began" : string.Empty)}" : "up")}")
        .AppendLine(CultureInfo.InvariantCulture, $"  RSS: idle {Mb(IdleRssBytes)}, max {Mb(Rss.MaxBytes)}, last {Mb(Rss.LastBytes)}; open files: idle {IdleOpenFiles}, max {Rss.MaxOpenFiles}")
        .AppendLine(CultureInfo.InvariantCulture, $"  log: {LogLines} lines from the flood's start to 1 s after the last probe")
        .AppendLine(LogKinds)
        .AppendLine("  real clients:")
        .AppendJoin('\n', During.Concat(After))
        .ToString();

    /// <summary>Fails with every violated bound at once (each named), the measurements and the log's last lines.</summary>
    public void AssertWithin(long rssHeadroomBytes, int openFilesHeadroom, int maxLogLines)
    {
        var violations = new List<string>();
        if (ExitCode is { } code)
        {
            violations.Add($"the node process exited (code {code}) — it must survive any input");
        }

        if (Rss.MaxBytes > IdleRssBytes + rssHeadroomBytes)
        {
            violations.Add($"RSS reached {Mb(Rss.MaxBytes)}, over the bound of idle {Mb(IdleRssBytes)} + {Mb(rssHeadroomBytes)}");
        }

        if (Rss.MaxOpenFiles > IdleOpenFiles + openFilesHeadroom)
        {
            violations.Add($"open files reached {Rss.MaxOpenFiles}, over the bound of idle {IdleOpenFiles} + {openFilesHeadroom}: sockets a peer can open must be capped");
        }

        foreach (var probe in During.Concat(After).Where(p => !p.Ok || p.Elapsed > FloodLab.ServedWithin))
        {
            violations.Add(probe.Ok
                ? $"{probe.When} the flood, {probe.Client} was served only after {probe.Elapsed.TotalSeconds:0.0} s (bound {FloodLab.ServedWithin.TotalSeconds:0} s)"
                : $"{probe.When} the flood, {probe.Client} was not served (gave up after {probe.Elapsed.TotalSeconds:0.0} s: {probe.Detail})");
        }

        if (LogLines > maxLogLines)
        {
            violations.Add($"the log grew by {LogLines} lines during the flood, over the bound of {maxLogLines}: a flood must not become a log flood");
        }

        Assert.True(violations.Count == 0, $"{violations.Count} bound(s) violated:\n- {string.Join("\n- ", violations)}\n\n{Describe()}\n\nlast log lines:\n{LogTail}");
    }

    private static string Mb(long bytes) => $"{bytes / (1024.0 * 1024):0} MiB";
}
