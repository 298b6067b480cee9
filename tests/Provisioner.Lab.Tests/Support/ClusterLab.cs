using System.Globalization;

namespace Provisioner.Lab.Tests.Support;

/// <summary>
/// A multi-node Provisioner in one lab: a private PostgreSQL (scripts/lab/postgres.sh, on the server namespace's
/// loopback), core nodes and edge nodes, each a separate `provisioner serve` process started as a unit file starts it:
/// a site file that includes the shipped <c>core.conf</c> or <c>edge.conf</c>, and PROVISIONER_DB in the environment.
/// Core nodes run in the server namespace and speak Akka.Remote on its bridge address (the database on its loopback);
/// an edge runs there too and serves br0, or on a host of its own on the segment (a namespace with eth0 on the bridge),
/// as two edges of one site do. Disposing kills every node by PID, stops the database and deletes what the lab created.
/// </summary>
public sealed class ClusterLab : IAsyncDisposable
{
    /// <summary>Akka.Remote port of core node i (1-based) is CorePortBase + i; edges follow from EdgePortBase.</summary>
    public const int CorePortBase = 4060;
    public const int EdgePortBase = 4070;

    private readonly List<ProvisionerNode> _nodes = [];
    private readonly Dictionary<int, string> _hostNamespaces = [];
    private readonly LabDirectory _directory = new();
    private bool _postgres;

    private ClusterLab(LabNetwork lab) => Lab = lab;

    public LabNetwork Lab { get; }

    public string Directory => _directory.Path;

    /// <summary>What the nodes get as PROVISIONER_DB.</summary>
    public string ConnectionString { get; private set; } = string.Empty;

    /// <summary>
    /// The seeds every node lists: the first three core nodes (as deploy/ advises: all cores). With core node 1 alone as
    /// the seed, a restarted core 1 would form a cluster of its own instead of rejoining the running one.
    /// </summary>
    public string Seeds => string.Join(", ", Enumerable.Range(1, 3).Select(i => $"\"{CoreAddress(i)}\""));

    public static string Address(string host, int port) => string.Create(CultureInfo.InvariantCulture, $"akka.tcp://provisioner@{host}:{port}");

    public string CoreAddress(int index) => Address(Lab.ServerAddress, CorePortBase + index);

    /// <summary>Edge <paramref name="index"/>'s cluster address (its host's address when it has a host of its own).</summary>
    public string EdgeAddress(int index) => Address(EdgeHost(index), EdgePortBase + index);

    /// <summary>The address edge <paramref name="index"/> binds: the server's bridge address, or its own host's (.10 + index).</summary>
    public string EdgeHost(int index) => _ownHosts.Contains(index) ? OwnHostAddress(index) : Lab.ServerAddress;

    private string OwnHostAddress(int index) => string.Create(CultureInfo.InvariantCulture, $"10.77.{Lab.Subnet}.{10 + index}");

    private readonly HashSet<int> _ownHosts = [];

    public static async Task<ClusterLab> CreateAsync(int clients = 1)
    {
        var lab = await LabNetwork.CreateAsync(clients);
        var cluster = new ClusterLab(lab);
        try
        {
            var script = Path.Combine(AppContext.BaseDirectory, "lab", "postgres.sh");
            var started = await lab.RunAsync(lab.Server, $"bash {script} start {cluster.Directory}/pg 5432", TimeSpan.FromSeconds(120));
            if (started.ExitCode != 0)
            {
                throw new InvalidOperationException($"postgres.sh start failed ({started.ExitCode}):\n{started.Output}\n{started.Error}");
            }

            cluster._postgres = true;
            cluster.ConnectionString = started.Output.Trim().Split('\n')[^1];
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }

        return cluster;
    }

    /// <summary>Core node <paramref name="index"/> (1-based; node 1 is the seed and must start first).</summary>
    public async Task<ProvisionerNode> StartCoreAsync(int index, string extraHocon = "")
    {
        var directory = NodeDirectory($"core{index}");
        var site = Path.Combine(directory, "site.conf");
        await File.WriteAllTextAsync(site, string.Create(CultureInfo.InvariantCulture, $$"""
            include "core.conf"
            provisioner {
              node { hostname = "{{Lab.ServerAddress}}", port = {{CorePortBase + index}}, seed-nodes = [{{Seeds}}] }
              admin.listen = "http://127.0.0.1:{{9780 + index}}"
              persistence.data-dir = "{{directory}}/data"
            }
            {{extraHocon}}
            """));
        return Track(await ProvisionerNode.StartWithConfigAsync(Lab, directory, site, 9780 + index, Environment()));
    }

    /// <summary>
    /// Edge node <paramref name="index"/> (1-based): DHCP, TFTP and HTTP on br0 with <paramref name="subnets"/> (HOCON
    /// objects for <c>dhcp.subnets</c>; by default the lab's own segment as subnet "lab").
    /// </summary>
    /// <param name="dhcpPort">67 for the edge that serves the segment; another port for an edge that must not answer it.</param>
    /// <param name="ownHost">Run on a host of its own on the segment (10.77.N.(10 + index), interface eth0), not in the server namespace.</param>
    public async Task<ProvisionerNode> StartEdgeAsync(int index, string? subnets = null, int dhcpPort = 67, bool healthy = true, string extraHocon = "", bool ownHost = false)
    {
        string? ns = null;
        if (ownHost)
        {
            if (_ownHosts.Add(index))
            {
                _hostNamespaces[index] = await Lab.AddHostAsync(OwnHostAddress(index));
            }

            ns = _hostNamespaces[index];
        }

        var host = EdgeHost(index);
        var device = ownHost ? "eth0" : "br0";
        var directory = EdgeDirectory(index);
        var config = Path.Combine(directory, "config");
        if (!File.Exists(Path.Combine(config, "rules.conf")))
        {
            await ProvisionerNode.WriteMinimalProfileAsync(config);
        }

        subnets ??= LabSubnet(Lab);
        var site = Path.Combine(directory, "site.conf");
        await File.WriteAllTextAsync(site, string.Create(CultureInfo.InvariantCulture, $$"""
            include "edge.conf"
            provisioner {
              node { hostname = "{{host}}", port = {{EdgePortBase + index}}, seed-nodes = [{{Seeds}}] }
              admin.listen = "http://127.0.0.1:{{9790 + index}}"
              persistence.data-dir = "{{directory}}/data"
              edge {
                interface = {{device}}
                address = "{{host}}"
                config-dir = "{{config}}"
                dhcp { enabled = on, port = {{dhcpPort}}, subnets = [ {{subnets}} ] }
                tftp { enabled = on, root = "{{directory}}/tftp", port = {{(dhcpPort == 67 ? 69 : 6900 + index)}} }
                http { enabled = on, listen = "http://{{host}}:{{8080 + index}}", assets = "{{directory}}/assets" }
              }
            }
            {{extraHocon}}
            """));
        System.IO.Directory.CreateDirectory(Path.Combine(directory, "assets"));
        return Track(await ProvisionerNode.StartWithConfigAsync(Lab, directory, site, 9790 + index, Environment(), healthy, ns));
    }

    /// <summary>The lab segment as a subnet object (pool .100-.199).</summary>
    public static string LabSubnet(LabNetwork lab, string id = "lab", string poolEnd = "199") => string.Create(CultureInfo.InvariantCulture, $$"""
        { id = {{id}}, network = "{{lab.Network}}", pool-start = "10.77.{{lab.Subnet}}.100", pool-end = "10.77.{{lab.Subnet}}.{{poolEnd}}", router = "{{lab.ServerAddress}}", lease-time = 1h }
        """);

    /// <summary>Every node's output, for a failure message.</summary>
    public string Logs => string.Join("\n", _nodes.Select(n => $"===== {n.Directory}\n{n.Log}"));

    private Dictionary<string, string> Environment() => new() { ["PROVISIONER_DB"] = ConnectionString };

    /// <summary>Where edge node <paramref name="index"/> keeps its data, config (profiles) and assets; may be filled before it starts.</summary>
    public string EdgeDirectory(int index) => NodeDirectory($"edge{index}");

    private string NodeDirectory(string name)
    {
        var directory = Path.Combine(Directory, name);
        System.IO.Directory.CreateDirectory(Path.Combine(directory, "data"));
        return directory;
    }

    private ProvisionerNode Track(ProvisionerNode node)
    {
        _nodes.Add(node);
        return node;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }

        if (_postgres)
        {
            var script = Path.Combine(AppContext.BaseDirectory, "lab", "postgres.sh");
            await Lab.RunAsync(Lab.Server, $"bash {script} stop {Directory}/pg", TimeSpan.FromSeconds(60));
        }

        await Lab.DisposeAsync();
        _directory.Dispose();
    }
}
