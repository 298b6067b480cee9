using System.Globalization;
using System.Text.Json;
using Provisioner.Host.Admin;

namespace Provisioner.Lab.Tests.Support;

/// <summary>
/// The real `provisioner serve` executable running inside a lab's server namespace, with its edge services on
/// the lab bridge (br0) and its admin API on that namespace's own loopback. The CLI is run the same way.
/// </summary>
public sealed class ProvisionerNode : IAsyncDisposable
{
    private readonly LabNetwork _lab;
    private readonly LabProcess _process;

    private ProvisionerNode(LabNetwork lab, LabProcess process, string directory, int adminPort, string? ns = null)
    {
        _lab = lab;
        Namespace = ns ?? lab.Server;
        _process = process;
        Directory = directory;
        AdminUrl = string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{adminPort}");
    }

    /// <summary>The namespace the node runs in (the lab's server namespace unless it was started on a host of its own).</summary>
    public string Namespace { get; }

    /// <summary>The node's admin API, on its namespace's loopback.</summary>
    public string AdminUrl { get; }

    /// <summary>Data, config and assets of this node (removed on dispose).</summary>
    public string Directory { get; }

    public string Log => _process.Output;

    /// <summary>PID of the node itself (<c>ip netns exec</c> execs into it), e.g. for /proc/PID/status.</summary>
    public int ProcessId => _process.Process.Id;

    public bool HasExited => _process.Process.HasExited;

    /// <summary>Exit code once exited (128 + signal when killed by one), else null.</summary>
    public int? ExitCode => _process.Process.HasExited ? _process.Process.ExitCode : null;

    public static string Executable => Path.Combine(AppContext.BaseDirectory, "provisioner.dll");

    public static string HoconDirectory => Path.Combine(AppContext.BaseDirectory, "hocon");

    /// <summary>The hocon a lab node runs with: every edge service on br0 of the lab's server namespace.</summary>
    /// <param name="extraSubnets">More entries for the <c>dhcp.subnets</c> list (HOCON objects), e.g. a subnet reached by relays.</param>
    public static string EdgeHocon(LabNetwork lab, string directory, string extra = "", string extraSubnets = "") => string.Create(CultureInfo.InvariantCulture, $$"""
        provisioner {
          persistence.data-dir = "{{directory}}/data"
          node.port = 0
          admin.listen = "http://127.0.0.1:9780"
          edge {
            interface = br0
            address = "{{lab.ServerAddress}}"
            config-dir = "{{directory}}/config"
            dhcp {
              enabled = on
              subnets = [
                {
                  id = lab
                  network = "{{lab.Network}}"
                  pool-start = "10.77.{{lab.Subnet}}.100"
                  pool-end = "10.77.{{lab.Subnet}}.199"
                  router = "{{lab.ServerAddress}}"
                  dns = ["{{lab.ServerAddress}}"]
                  lease-time = 1h
                }
                {{extraSubnets}}
              ]
            }
            ipv6.answer-router-solicitations = on
            tftp { enabled = on, root = "{{directory}}/tftp" }
            http { enabled = on, listen = "http://{{lab.ServerAddress}}:8080", assets = "{{directory}}/assets" }
          }
        }
        {{extra}}
        """);

    /// <summary>Starts the node on an existing directory (so a restart keeps its journal) and waits until it is healthy.</summary>
    public static async Task<ProvisionerNode> StartAsync(LabNetwork lab, string directory, string extraHocon = "", string extraSubnets = "")
    {
        System.IO.Directory.CreateDirectory(Path.Combine(directory, "data"));
        System.IO.Directory.CreateDirectory(Path.Combine(directory, "config"));
        System.IO.Directory.CreateDirectory(Path.Combine(directory, "assets"));
        if (!File.Exists(Path.Combine(directory, "config", "rules.conf")))
        {
            await WriteMinimalProfileAsync(Path.Combine(directory, "config"));
        }

        var conf = Path.Combine(directory, "lab.conf");
        await File.WriteAllTextAsync(conf, EdgeHocon(lab, directory, extraHocon, extraSubnets));
        return await StartWithConfigAsync(lab, directory, conf, DefaultAdminPort);
    }

    public const int DefaultAdminPort = 9780;

    /// <summary>
    /// Starts <c>provisioner serve --config <paramref name="configFile"/></c> in the server namespace, as a unit file
    /// does (with <paramref name="environment"/>, e.g. PROVISIONER_DB), and waits until its /healthz on
    /// <paramref name="adminPort"/> says ok.
    /// </summary>
    /// <param name="healthy">Wait until /healthz says ok (false: until it answers at all, e.g. to read why a node is failing).</param>
    /// <param name="ns">The namespace to run in (default: the lab's server namespace).</param>
    public static async Task<ProvisionerNode> StartWithConfigAsync(LabNetwork lab, string directory, string configFile, int adminPort, IDictionary<string, string>? environment = null, bool healthy = true, string? ns = null)
    {
        ArgumentNullException.ThrowIfNull(lab);
        ns ??= lab.Server;
        var process = lab.Start(ns, $"dotnet {Executable} serve --hocon-dir {HoconDirectory} --config {configFile}", environment);
        var node = new ProvisionerNode(lab, process, directory, adminPort, ns);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (process.Process.HasExited)
            {
                process.Process.WaitForExit(); // drains the redirected output
                throw new InvalidOperationException($"provisioner serve exited ({process.Process.ExitCode}):\n{process.Output}");
            }

            var health = await lab.RunAsync(ns, $"curl {(healthy ? "-f" : string.Empty)}sS {node.AdminUrl}/healthz", TimeSpan.FromSeconds(5));
            if (health.ExitCode == 0)
            {
                return node;
            }

            await Task.Delay(250);
        }

        throw new TimeoutException($"provisioner serve not healthy after 60 s:\n{process.Output}");
    }

    /// <summary>GET /healthz: "ok", or why not ("preparing: …", "failing: …", "cluster member is …").</summary>
    public async Task<string> HealthAsync()
    {
        var result = await _lab.RunAsync(Namespace, $"curl -sS {AdminUrl}/healthz", TimeSpan.FromSeconds(10));
        return result.Output.Trim();
    }

    /// <summary>A profile for tests that do not boot anything (the HTTP side still needs a valid config).</summary>
    public static async Task WriteMinimalProfileAsync(string config)
    {
        System.IO.Directory.CreateDirectory(Path.Combine(config, "profiles"));
        await File.WriteAllLinesAsync(Path.Combine(config, "profiles", "none.profile"),
        [
            "kernel = http://example.invalid/vmlinuz",
            "initrd = http://example.invalid/initrd.img",
            "repo-url = http://example.invalid/os",
            "kickstart = none.ks",
            "root-password-hash = $6$none$none",
        ]);
        await File.WriteAllLinesAsync(Path.Combine(config, "profiles", "none.ks"), ["%post", "curl {{phone_home_url}}", "%end"]);
        await File.WriteAllLinesAsync(Path.Combine(config, "rules.conf"), ["default none"]);
    }

    /// <summary>Runs `provisioner ARGS` inside the server namespace against this node.</summary>
    public Task<ProcessResult> Cli(string arguments) =>
        _lab.RunAsync(Namespace, $"dotnet {Executable} {arguments} --server {AdminUrl}{(Token is null ? string.Empty : " --token " + Token)}", TimeSpan.FromSeconds(60));

    /// <summary>The admin token the CLI passes, when the node requires one.</summary>
    public string? Token { get; set; }

    public async Task<MachineDto?> GetMachineAsync(string mac)
    {
        var result = await Cli($"machine show {mac} -o json");
        return result.ExitCode == 0 ? JsonSerializer.Deserialize<MachineDto>(result.Output, AdminJson.Options) : null;
    }

    /// <summary>Polls the machine until <paramref name="done"/> holds (bounded).</summary>
    public async Task<MachineDto> WaitForMachineAsync(string mac, Func<MachineDto, bool> done, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        MachineDto? last = null;
        while (DateTime.UtcNow < deadline)
        {
            last = await GetMachineAsync(mac);
            if (last is not null && done(last))
            {
                return last;
            }

            await Task.Delay(500);
        }

        throw new TimeoutException($"machine {mac} did not get there in {timeout.TotalSeconds:0} s; last: {(last is null ? "unknown" : string.Join(", ", last.Events.Select(e => e.Type)))}\nserver log:\n{Log}");
    }

    /// <summary>
    /// SIGTERM, as systemd stops a service: the node must shut every service down and exit 0 within 30 s (the
    /// process started by <c>ip netns exec</c> is the node itself). Returns the exit code.
    /// </summary>
    public async Task<int> StopAsync()
    {
        using (var term = System.Diagnostics.Process.Start("kill", ["-TERM", _process.Process.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await term!.WaitForExitAsync();
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _process.Process.WaitForExitAsync(timeout.Token);
        return _process.Process.ExitCode;
    }

    /// <summary>
    /// <c>kill -9</c> of the node's own PID and nothing else, at once: a crash, with no shutdown, no flush, no chance to
    /// finish a write. Returns as soon as the signal is sent (so a test can kill right after a reply it just received);
    /// <see cref="WaitForExitAsync"/> waits until the process is gone.
    /// </summary>
    public void Kill()
    {
        if (_process.Process.HasExited)
        {
            throw new InvalidOperationException($"the node had already exited ({_process.Process.ExitCode}):\n{Log}");
        }

        // Still our unreaped child, so the PID cannot have been reused.
        if (kill(_process.Process.Id, SigKill) != 0)
        {
            throw new System.ComponentModel.Win32Exception(System.Runtime.InteropServices.Marshal.GetLastPInvokeError(), $"kill -9 {_process.Process.Id}");
        }
    }

    /// <summary>Waits (bounded) until the process has exited; returns its exit code (137 after <see cref="Kill"/>).</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.Process.WaitForExitAsync(cts.Token);
        return _process.Process.ExitCode;
    }

    /// <summary>
    /// GET /api/v1/machines/MAC with curl inside the server namespace: the HTTP status (404: never seen) and the
    /// machine when 200. Unlike <see cref="GetMachineAsync"/> it starts no CLI (about a second each), so a test can
    /// read dozens of machines.
    /// </summary>
    public async Task<(int Status, MachineDto? Machine)> GetMachineFromApiAsync(string mac)
    {
        var result = await _lab.RunAsync(Namespace, $"curl -sS -w \"\\n%{{http_code}}\" {AdminUrl}/api/v1/machines/{mac}", TimeSpan.FromSeconds(10));
        var split = result.Output.LastIndexOf('\n');
        if (result.ExitCode != 0 || split < 0 || !int.TryParse(result.Output[(split + 1)..].Trim(), CultureInfo.InvariantCulture, out var status))
        {
            throw new InvalidOperationException($"GET machine {mac} failed (curl exit {result.ExitCode}): {result.Output}{result.Error}");
        }

        return (status, status == 200 ? JsonSerializer.Deserialize<MachineDto>(result.Output[..split], AdminJson.Options) : null);
    }

    private const int SigKill = 9;

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);

    public async ValueTask DisposeAsync()
    {
        if (!_process.Process.HasExited)
        {
            _process.Process.Kill(entireProcessTree: true);
            await _process.Process.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(10)).Token);
        }
    }
}
