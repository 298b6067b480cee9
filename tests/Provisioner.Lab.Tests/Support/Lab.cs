using System.Diagnostics;
using System.Text;

namespace Provisioner.Lab.Tests.Support;

/// <summary>
/// A private network for one test: a "server" namespace holding bridge <c>br0</c> (10.77.N.1/24) and any number of
/// client namespaces, each joined to the bridge by a veth pair (client side named <c>eth0</c>). Nothing touches the
/// root namespace or a real interface. Every process started here is tracked by PID and killed on dispose; the
/// namespaces are deleted by name. Every wait is bounded.
/// </summary>
public sealed class LabNetwork : IAsyncDisposable
{
    private static int _counter;
    private readonly List<Process> _processes = [];
    private readonly List<string> _namespaces = [];

    private LabNetwork(string id, int subnet)
    {
        Id = id;
        Subnet = subnet;
        Server = $"{id}-srv";
    }

    /// <summary>Short unique prefix of every namespace and interface name this lab creates.</summary>
    public string Id { get; }

    /// <summary>Third octet of 10.77.N.0/24.</summary>
    public int Subnet { get; }

    /// <summary>The namespace where Provisioner (the server side) runs; its bridge is <c>br0</c>.</summary>
    public string Server { get; }

    public string ServerAddress => $"10.77.{Subnet}.1";

    public string Network => $"10.77.{Subnet}.0/24";

    public IReadOnlyList<string> Clients => _namespaces.Where(n => n != Server && !_hosts.Contains(n)).ToArray();

    private readonly List<string> _hosts = [];

    public static bool IsRoot => Environment.UserName == "root" || Environment.GetEnvironmentVariable("USER") == "root" || geteuid() == 0;

    [System.Runtime.InteropServices.DllImport("libc")]
    private static extern uint geteuid();

    /// <summary>Creates the server namespace and <paramref name="clients"/> client namespaces.</summary>
    public static async Task<LabNetwork> CreateAsync(int clients = 1)
    {
        if (!IsRoot)
        {
            throw new InvalidOperationException("lab tests need root (network namespaces); CI runs as root");
        }

        var n = Interlocked.Increment(ref _counter);
        var id = $"pv{Environment.ProcessId % 10000}x{n}";
        var lab = new LabNetwork(id, 10 + ((Environment.ProcessId + n) % 200));
        try
        {
            await lab.Sh($"ip netns add {lab.Server}");
            lab._namespaces.Add(lab.Server);
            await lab.Sh($"ip -n {lab.Server} link set lo up");
            await lab.Sh($"ip -n {lab.Server} link add br0 type bridge");
            await lab.Sh($"ip -n {lab.Server} addr add {lab.ServerAddress}/24 dev br0");
            await lab.Sh($"ip -n {lab.Server} link set br0 up");
            for (var i = 0; i < clients; i++)
            {
                await lab.AddClientAsync();
            }
        }
        catch
        {
            await lab.DisposeAsync();
            throw;
        }

        return lab;
    }

    /// <summary>Adds a client namespace with <c>eth0</c> on the bridge; returns its name.</summary>
    public async Task<string> AddClientAsync(string? mac = null)
    {
        var index = _namespaces.Count;
        var ns = $"{Id}-c{index}";
        await Sh($"ip netns add {ns}");
        _namespaces.Add(ns);
        await Sh($"ip -n {ns} link set lo up");
        await Sh($"ip -n {Server} link add v{index}{Id} type veth peer name eth0 netns {ns}");
        if (mac is not null)
        {
            await Sh($"ip -n {ns} link set eth0 address {mac}");
        }

        await Sh($"ip -n {Server} link set v{index}{Id} master br0 up");
        await Sh($"ip -n {ns} link set eth0 up");
        return ns;
    }

    /// <summary>
    /// Adds another server host on the segment: a namespace with <c>eth0</c> on the bridge holding
    /// <paramref name="address"/>/24 (not one of <see cref="Clients"/>); returns its name.
    /// </summary>
    public async Task<string> AddHostAsync(string address)
    {
        var index = _hosts.Count;
        var ns = $"{Id}-h{index}";
        await Sh($"ip netns add {ns}");
        _namespaces.Add(ns);
        _hosts.Add(ns);
        await Sh($"ip -n {ns} link set lo up");
        await Sh($"ip -n {Server} link add h{index}{Id} type veth peer name eth0 netns {ns}");
        await Sh($"ip -n {Server} link set h{index}{Id} master br0 up");
        await Sh($"ip -n {ns} addr add {address}/24 dev eth0");
        await Sh($"ip -n {ns} link set eth0 up");
        return ns;
    }

    /// <summary>
    /// Adds a segment behind <paramref name="router"/> (a host from <see cref="AddHostAsync"/>): a namespace holding a
    /// bridge <c>br0</c> with no address, joined to the router by a veth whose router end, <paramref name="routerInterface"/>,
    /// holds <paramref name="routerAddress"/>/24 (the segment's gateway). Nothing else is on it until a test adds it
    /// (e.g. a VM's tap). Returns the segment's namespace.
    /// </summary>
    public async Task<string> AddRoutedSegmentAsync(string router, string routerInterface, string routerAddress)
    {
        var ns = $"{Id}-s{_hosts.Count}";
        await Sh($"ip netns add {ns}");
        _namespaces.Add(ns);
        _hosts.Add(ns);
        await Sh($"ip -n {ns} link set lo up");
        await Sh($"ip -n {ns} link add br0 type bridge");
        await Sh($"ip -n {ns} link set br0 up");
        await Sh($"ip -n {router} link add {routerInterface} type veth peer name up0 netns {ns}");
        await Sh($"ip -n {ns} link set up0 master br0 up");
        await Sh($"ip -n {router} addr add {routerAddress}/24 dev {routerInterface}");
        await Sh($"ip -n {router} link set {routerInterface} up");
        return ns;
    }

    /// <summary>Runs a command to completion inside a namespace (bounded by <paramref name="timeout"/>).</summary>
    public Task<ProcessResult> RunAsync(string ns, string command, TimeSpan? timeout = null) =>
        Exec("ip", $"netns exec {ns} {command}", timeout ?? TimeSpan.FromSeconds(60));

    /// <summary>Starts a long-running process inside a namespace; killed by PID on dispose.</summary>
    public LabProcess Start(string ns, string command, IDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo("ip", $"netns exec {ns} {command}")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException($"cannot start {command}");
        _processes.Add(process);
        return new LabProcess(process);
    }

    private Task Sh(string command) => Exec("sh", $"-c \"{command}\"", TimeSpan.FromSeconds(20), throwOnError: true);

    internal static async Task<ProcessResult> Exec(string file, string arguments, TimeSpan timeout, bool throwOnError = false)
    {
        var info = new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"cannot start {file}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            return new ProcessResult(-1, await stdout, await stderr + $"\n(killed after {timeout.TotalSeconds:0} s)");
        }

        var result = new ProcessResult(process.ExitCode, await stdout, await stderr);
        if (throwOnError && result.ExitCode != 0)
        {
            throw new InvalidOperationException($"'{file} {arguments}' failed ({result.ExitCode}): {result.Error}");
        }

        return result;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var process in _processes)
        {
            try
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                    await process.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(10)).Token);
                }
            }
            catch (Exception e) when (e is InvalidOperationException or OperationCanceledException or System.ComponentModel.Win32Exception)
            {
            }

            process.Dispose();
        }

        foreach (var ns in Enumerable.Reverse(_namespaces))
        {
            await Exec("ip", $"netns del {ns}", TimeSpan.FromSeconds(20));
        }
    }
}

public sealed record ProcessResult(int ExitCode, string Output, string Error);

/// <summary>A process started in a lab namespace; output is collected as it arrives.</summary>
public sealed class LabProcess
{
    private readonly StringBuilder _output = new();

    public LabProcess(Process process)
    {
        Process = process;
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public Process Process { get; }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Waits until the output contains <paramref name="text"/>, the process exits, or the time is up.</summary>
    public async Task<bool> WaitForOutputAsync(string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (Output.Contains(text, StringComparison.Ordinal))
            {
                return true;
            }

            if (Process.HasExited)
            {
                return Output.Contains(text, StringComparison.Ordinal);
            }

            await Task.Delay(100);
        }

        return false;
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }
}
