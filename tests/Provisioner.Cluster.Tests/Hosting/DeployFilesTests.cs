using System.Diagnostics;
using System.Text.RegularExpressions;
using Provisioner.Cluster.Downing;
using Provisioner.Cluster.Hosting;
using Provisioner.Cluster.Leases;
using Provisioner.Cluster.Tests.Support;
using Provisioner.Domain.Leases;
using Provisioner.Protocols.Dhcp;

namespace Provisioner.Cluster.Tests.Hosting;

/// <summary>
/// deploy/: every example site file loads over the shipped hocon/ files as a node would and describes a cluster that can
/// form (roles as named, seeds that are cores, subnets that agree, ports that do not collide), and the systemd unit and
/// OpenRC script start that node the way the CLI and the node expect.
/// </summary>
[Collection(EnvironmentTests.Name)]
public sealed partial class DeployFilesTests
{
    private const string Service = "Service";

    public static TheoryData<string> ExampleFiles => new(DeployFiles.ExampleFiles());

    /// <summary>Every example directory, each a topology of its own.</summary>
    private static IEnumerable<IGrouping<string, (string File, ProvisionerSettings Settings)>> Topologies() =>
        DeployFiles.ExampleFiles()
            .Select(f => (File: f, Settings: DeployFiles.Bind(f)))
            .GroupBy(n => Path.GetDirectoryName(n.File) ?? string.Empty);

    private static (string File, ProvisionerSettings Settings)[] TwoSite() =>
        Topologies().Single(t => t.Key == "two-site").ToArray();

    [Fact]
    public void The_deploy_directory_is_copied_next_to_the_tests_with_the_two_site_example_the_unit_and_the_init_script()
    {
        var expected = new[]
        {
            "examples/two-site/core1.conf", "examples/two-site/core2.conf", "examples/two-site/core3.conf",
            "examples/two-site/edge-a.conf", "examples/two-site/edge-b.conf", "examples/two-site/README.md",
            "examples/single-node/single-node.conf",
            "systemd/provisioner@.service", "systemd/provisioner.env.example",
            "openrc/provisioner", "openrc/provisioner.confd",
            "postgres/setup.sql", "postgres/pg_hba.conf.example", "README.md", "config/README.md",
        };

        Assert.All(expected, f => Assert.True(File.Exists(Path.Combine(DeployFiles.Directory, f)), $"deploy/{f} missing next to the tests"));
    }

    [Theory]
    [MemberData(nameof(ExampleFiles))]
    public void Every_example_site_file_loads_over_the_shipped_files_with_the_roles_its_name_says(string file)
    {
        var settings = DeployFiles.Bind(file);

        var name = Path.GetFileNameWithoutExtension(file);
        string[] roles = name switch
        {
            _ when name.StartsWith("single-node", StringComparison.Ordinal) => [Roles.Core, Roles.Edge],
            _ when name.StartsWith("core", StringComparison.Ordinal) => [Roles.Core],
            _ when name.StartsWith("edge", StringComparison.Ordinal) => [Roles.Edge],
            _ => throw new Xunit.Sdk.XunitException($"{file}: an example's name says its role (core…, edge…, single-node…)"),
        };
        Assert.Equal(roles, settings.Roles);
        if (settings.IsCore && settings.SeedNodes.Count > 0)
        {
            // A cluster's core nodes share one journal; the password comes from PROVISIONER_DB, never from a site file.
            Assert.Equal(JournalProvider.PostgreSql, settings.Journal);
            Assert.DoesNotContain("password", settings.ConnectionString, StringComparison.OrdinalIgnoreCase);
        }

        if (settings.SeedNodes.Count > 0)
        {
            Assert.False(System.Net.IPAddress.TryParse(settings.Hostname, out var ip) && System.Net.IPAddress.IsLoopback(ip), $"{file}: other nodes cannot reach {settings.Hostname}");
            Assert.NotEqual(0, settings.Port);
        }

        if (settings.IsEdge)
        {
            Assert.NotEmpty(SubnetConfig.ListFromConfig(settings.Hocon));
            Assert.NotEmpty(settings.Hocon.GetString("provisioner.edge.interface"));
            Assert.All(new[] { "dhcp", "tftp", "http" }, s => Assert.True(settings.Hocon.GetBoolean($"provisioner.edge.{s}.enabled"), $"{file}: edge.{s} is off"));
        }
    }

    [Fact]
    public void A_single_node_example_runs_alone_on_sqlite()
    {
        var settings = DeployFiles.Bind(Path.Combine("single-node", "single-node.conf"));

        Assert.Equal(JournalProvider.Sqlite, settings.Journal);
        Assert.Empty(settings.SeedNodes);
    }

    [Fact]
    public void Every_seed_node_is_the_cluster_address_of_a_core_example_of_the_same_topology_listed_alike_everywhere()
    {
        foreach (var topology in Topologies().Where(t => t.Any(n => n.Settings.SeedNodes.Count > 0)))
        {
            var cores = topology.Where(n => n.Settings.IsCore).Select(n => $"{n.Settings.Hostname}:{n.Settings.Port}").ToHashSet(StringComparer.Ordinal);
            var first = topology.First();
            foreach (var (file, settings) in topology)
            {
                Assert.NotEmpty(settings.SeedNodes);
                // Seeds in another order on another node would let two nodes each form a cluster of their own.
                Assert.True(first.Settings.SeedNodes.SequenceEqual(settings.SeedNodes), $"{file} lists other seed nodes than {first.File}");
                foreach (var seed in settings.SeedNodes)
                {
                    var match = SeedNode().Match(seed);
                    Assert.True(match.Success, $"{file}: seed '{seed}' is not akka.tcp://SYSTEM@HOST:PORT");
                    Assert.Equal(ProvisionerAkka.ActorSystemName, match.Groups["system"].Value);
                    Assert.Contains($"{match.Groups["host"].Value}:{match.Groups["port"].Value}", cores);
                }
            }
        }
    }

    [Fact]
    public void Edges_never_define_one_subnet_id_differently_and_no_two_subnets_overlap_across_sites()
    {
        foreach (var topology in Topologies())
        {
            var subnets = topology
                .Where(n => n.Settings.IsEdge)
                .SelectMany(n => SubnetConfig.ListFromConfig(n.Settings.Hocon).Select(s => (n.File, Subnet: s)))
                .ToArray();
            for (var i = 0; i < subnets.Length; i++)
            {
                for (var j = 0; j < i; j++)
                {
                    var (a, b) = (subnets[j], subnets[i]);
                    if (a.Subnet.Id == b.Subnet.Id)
                    {
                        // What the subnet's lease actor compares: a different definition from another node is refused.
                        Assert.Equal(Describe(a.Subnet), Describe(b.Subnet));
                    }
                    else
                    {
                        Assert.False(a.Subnet.Overlaps(b.Subnet), $"{b.File} subnet '{b.Subnet.Id}' ({b.Subnet.Cidr}) overlaps {a.File} subnet '{a.Subnet.Id}' ({a.Subnet.Cidr})");
                    }
                }
            }
        }
    }

    [Fact]
    public void Every_edge_is_on_one_subnet_it_serves_and_hands_out_boot_urls_on_that_address()
    {
        foreach (var (file, settings) in Topologies().SelectMany(t => t).Where(n => n.Settings.IsEdge))
        {
            var address = IPv4Address.Parse(settings.Hocon.GetString("provisioner.edge.address"));
            var subnets = SubnetConfig.ListFromConfig(settings.Hocon);

            Assert.Single(subnets, s => s.Contains(address));
            var listen = new Uri(settings.Hocon.GetString("provisioner.edge.http.listen"));
            Assert.Contains(listen.Host, new[] { address.ToString(), "0.0.0.0" });
        }
    }

    [Fact]
    public void Site_b_serves_a_relayed_subnet_that_its_routers_relay_agent_address_selects()
    {
        var edgeB = TwoSite().Single(n => n.File.EndsWith("edge-b.conf", StringComparison.Ordinal)).Settings;
        var address = IPv4Address.Parse(edgeB.Hocon.GetString("provisioner.edge.address"));

        var relayed = SubnetConfig.ListFromConfig(edgeB.Hocon).Where(s => !s.Contains(address)).ToArray();

        // The relay agent puts its own interface address (the subnet's router) in giaddr; that address picks the subnet.
        Assert.NotEmpty(relayed);
        Assert.All(relayed, s => Assert.True(s.Router is { } router && s.Contains(router), $"subnet '{s.Id}': its router is the relay agent, inside {s.Cidr}"));
    }

    [Fact]
    public void Site_a_holds_every_core_node_and_more_than_one_of_them()
    {
        var nodes = TwoSite();
        var cores = nodes.Where(n => n.Settings.IsCore).ToArray();

        // Odd, so keep-majority always has a majority side after a split in two.
        Assert.True(cores.Length >= 3 && cores.Length % 2 == 1, $"{cores.Length} core nodes");
        Assert.Equal(2, nodes.Count(n => n.Settings.IsEdge));
    }

    [Fact]
    public void No_two_listeners_on_one_host_share_a_port()
    {
        foreach (var host in Topologies().SelectMany(t => t).GroupBy(n => n.Settings.Hostname))
        {
            var listeners = host.SelectMany(n => Listeners(n.File, n.Settings)).ToArray();
            var clash = listeners.GroupBy(l => (l.Protocol, l.Port)).FirstOrDefault(g => g.Count() > 1);

            Assert.True(clash is null, clash is null ? null : $"{host.Key}: {clash.Key.Protocol} port {clash.Key.Port} used by {string.Join(" and ", clash.Select(l => l.What))}");
        }
    }

    [Fact]
    public void Every_node_of_a_cluster_downs_with_the_same_timings()
    {
        foreach (var topology in Topologies())
        {
            // One rule on every node, or the two sides of a partition decide differently.
            var timings = topology.Where(n => n.Settings.SeedNodes.Count > 0)
                .Select(n => CoreMajoritySettings.From(n.Settings.Hocon.WithFallback(ProvisionerAkka.ClusterTuning)))
                .Distinct()
                .ToArray();
            Assert.True(timings.Length <= 1, string.Join(" vs ", timings.AsEnumerable()));
        }
    }

    [Fact]
    public async Task A_site_files_downing_timings_reach_the_running_node_with_the_codes_core_majority()
    {
        var site = DeployFiles.Bind(Path.Combine("two-site", "edge-a.conf")).Hocon;
        using var data = new TempDirectory();
        var settings = CleanEnvironment.Run(() => TestNode.SettingsFor(data.Path, $"akka.cluster.core-majority.edge-grace = {site.GetString("akka.cluster.core-majority.edge-grace")}"));

        await using var node = await TestNode.StartAsync(settings);

        // What the downing provider reads at start (deploy/README.md states these timings).
        var config = node.System.Settings.Config;
        Assert.IsType<CoreMajorityDowningProvider>(Akka.Cluster.Cluster.Get(node.System).DowningProvider);
        Assert.Equal(new CoreMajoritySettings(TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(2)), CoreMajoritySettings.From(config));
        Assert.Equal(TimeSpan.FromSeconds(2), Akka.Cluster.Cluster.Get(node.System).DowningProvider.DownRemovalMargin);
        Assert.Equal(TimeSpan.FromSeconds(1), config.GetTimeSpan("akka.cluster.failure-detector.heartbeat-interval"));
        Assert.Equal(TimeSpan.FromSeconds(3), config.GetTimeSpan("akka.cluster.failure-detector.acceptable-heartbeat-pause"));
        // A downed node runs coordinated shutdown, and the process then exits: hence Restart=always.
        Assert.True(config.GetBoolean("akka.cluster.run-coordinated-shutdown-when-down"));
    }

    [Fact]
    public async Task An_operators_timings_win_over_the_codes()
    {
        using var data = new TempDirectory();
        var settings = CleanEnvironment.Run(() => TestNode.SettingsFor(data.Path, "akka.cluster.core-majority { stable-after = 7s, edge-grace = 2m }"));

        await using var node = await TestNode.StartAsync(settings);

        Assert.Equal(new CoreMajoritySettings(TimeSpan.FromSeconds(7), TimeSpan.FromMinutes(2), TimeSpan.FromSeconds(2)), CoreMajoritySettings.From(node.System.Settings.Config));
    }

    [Fact]
    public void The_postgres_setup_creates_the_role_and_database_the_core_examples_connect_as_and_pg_hba_admits_every_core()
    {
        var setup = File.ReadAllText(Path.Combine(DeployFiles.Directory, "postgres", "setup.sql"));
        var hba = File.ReadAllLines(Path.Combine(DeployFiles.Directory, "postgres", "pg_hba.conf.example"))
            .Where(l => l.Length > 0 && l[0] != '#')
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .ToArray();

        foreach (var (file, settings) in TwoSite().Where(n => n.Settings.IsCore))
        {
            var connection = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var part in settings.ConnectionString.Split(';', StringSplitOptions.RemoveEmptyEntries))
            {
                var eq = part.IndexOf('=', StringComparison.Ordinal);
                connection[part[..eq].Trim()] = part[(eq + 1)..].Trim();
            }

            Assert.Contains($"CREATE ROLE {connection["Username"]}", setup, StringComparison.Ordinal);
            Assert.Contains($"CREATE DATABASE {connection["Database"]} OWNER {connection["Username"]}", setup, StringComparison.Ordinal);
            Assert.Contains(hba, l => l is [_, var db, var user, var address, "scram-sha-256"]
                && db == connection["Database"] && user == connection["Username"] && address == $"{settings.Hostname}/32");
        }
    }

    [Fact]
    public void The_systemd_unit_runs_serve_with_the_published_hocon_directory_and_the_instances_site_file()
    {
        var args = DeployFiles.SystemdExecStart("core");

        Assert.Equal(
            ["/opt/provisioner/provisioner", "serve", "--hocon-dir", "/opt/provisioner/hocon", "--config", "/etc/provisioner/core.conf"],
            args);
    }

    [Fact]
    public void The_systemd_unit_runs_as_provisioner_with_the_environment_file_and_only_the_two_network_capabilities()
    {
        var unit = Unit();

        Assert.Equal("provisioner", unit.Value(Service, "User"));
        Assert.Contains("-/etc/provisioner/provisioner.env", unit.Values(Service, "EnvironmentFile"));
        Assert.Equal(["CAP_NET_BIND_SERVICE", "CAP_NET_RAW"], unit.Words(Service, "AmbientCapabilities").Order(StringComparer.Ordinal));
        Assert.Equal(["CAP_NET_BIND_SERVICE", "CAP_NET_RAW"], unit.Words(Service, "CapabilityBoundingSet").Order(StringComparer.Ordinal));
        Assert.True(unit.Boolean(Service, "NoNewPrivileges"));
    }

    [Fact]
    public void The_systemd_unit_makes_writable_every_path_the_node_writes_by_default_and_nothing_else_of_the_system()
    {
        var unit = Unit();
        var defaults = DeployFiles.Defaults();
        var writable = unit.Words(Service, "ReadWritePaths")
            .Concat(unit.Words(Service, "StateDirectory").Select(d => "/var/lib/" + d))
            .ToArray();

        Assert.Equal("strict", unit.Value(Service, "ProtectSystem"));
        Assert.True(unit.Boolean(Service, "PrivateTmp"));
        Assert.All(
            new[] { "provisioner.persistence.data-dir", "provisioner.edge.tftp.root", "provisioner.edge.http.assets" },
            key =>
            {
                var path = defaults.GetString(key);
                Assert.True(writable.Any(w => path == w || path.StartsWith(w.TrimEnd('/') + "/", StringComparison.Ordinal)), $"{key} = {path} is not writable under ProtectSystem=strict");
            });
    }

    [Fact]
    public void The_systemd_unit_stops_a_node_with_sigterm_and_gives_it_longer_than_the_30_s_it_takes_to_leave()
    {
        var unit = Unit();

        Assert.Equal("SIGTERM", unit.Value(Service, "KillSignal"));
        var timeout = SystemdUnit.ParseTimeSpan(unit.Value(Service, "TimeoutStopSec") ?? "90s");
        Assert.InRange(timeout, TimeSpan.FromSeconds(31), TimeSpan.FromMinutes(2));
    }

    [Fact]
    public void The_systemd_unit_restarts_a_node_even_after_a_clean_exit_as_a_downed_node_makes()
    {
        var unit = Unit();

        Assert.Equal("always", unit.Value(Service, "Restart"));
        Assert.True(SystemdUnit.ParseTimeSpan(unit.Value(Service, "RestartSec") ?? "100ms") >= TimeSpan.FromSeconds(1));
    }

    [Fact]
    public void The_systemd_unit_allows_enough_open_files_for_every_tftp_transfer_and_more()
    {
        var unit = Unit();
        var maxTransfers = DeployFiles.Defaults().GetInt("provisioner.edge.tftp.max-transfers");

        var limit = int.Parse(unit.Value(Service, "LimitNOFILE")!.Split(':')[0], System.Globalization.CultureInfo.InvariantCulture);

        Assert.True(limit >= 4 * maxTransfers, $"LimitNOFILE {limit} for {maxTransfers} TFTP transfers");
    }

    [Fact]
    public void The_systemd_unit_leaves_out_the_hardening_that_breaks_a_dotnet_node_binding_privileged_ports()
    {
        var unit = Unit();

        // The JIT writes code and runs it; capabilities inside a user namespace do not reach the host's port 67.
        Assert.NotEqual(true, unit.Boolean(Service, "MemoryDenyWriteExecute"));
        Assert.NotEqual(true, unit.Boolean(Service, "PrivateUsers"));
        Assert.NotEqual(true, unit.Boolean(Service, "PrivateNetwork"));
        var families = unit.Words(Service, "RestrictAddressFamilies");
        Assert.All(new[] { "AF_INET", "AF_INET6", "AF_UNIX", "AF_NETLINK" }, f => Assert.Contains(f, families));
    }

    [Fact]
    public void The_systemd_unit_passes_systemd_analyze_verify()
    {
        // scripts/setup.sh installs systemd: a missing systemd-analyze fails here rather than skipping the check.
        var analyze = new[] { "/usr/bin/systemd-analyze", "/bin/systemd-analyze" }.FirstOrDefault(File.Exists);
        Assert.True(analyze is not null, "systemd-analyze not found: run scripts/setup.sh (it installs the systemd package)");
        using var directory = new TempDirectory();
        // verify checks that ExecStart's program exists: a stand-in where the published node would be.
        var text = File.ReadAllText(DeployFiles.SystemdUnitPath)
            .Replace("ExecStart=/opt/provisioner/provisioner ", "ExecStart=/bin/true ", StringComparison.Ordinal)
            .Replace("WorkingDirectory=/var/lib/provisioner", "WorkingDirectory=/", StringComparison.Ordinal);
        File.WriteAllText(Path.Combine(directory.Path, "provisioner@.service"), text);
        File.CreateSymbolicLink(Path.Combine(directory.Path, "provisioner@edge.service"), Path.Combine(directory.Path, "provisioner@.service"));

        var (exit, output) = Run(analyze!, ["verify", "--man=no", Path.Combine(directory.Path, "provisioner@edge.service")]);

        // It exits 0 on unknown keys too, warning on stderr: any line that names the unit file is a finding.
        Assert.True(exit == 0 && !output.Contains("provisioner@", StringComparison.Ordinal), $"systemd-analyze verify (exit {exit}):\n{output}");
    }

    [Fact]
    public void The_openrc_script_and_its_confd_parse_as_posix_shell()
    {
        foreach (var file in new[] { DeployFiles.OpenRcScriptPath, DeployFiles.OpenRcConfPath })
        {
            var (exit, output) = Run("/bin/sh", ["-n", file]);

            Assert.True(exit == 0, $"sh -n {file}:\n{output}");
        }
    }

    [Theory]
    [InlineData("provisioner", "/etc/provisioner/site.conf")]
    [InlineData("provisioner.edge", "/etc/provisioner/edge.conf")]
    public void The_openrc_script_starts_the_same_command_as_the_systemd_unit_as_the_same_user(string service, string siteFile)
    {
        var unit = Unit();

        // openrc-run reads the conf.d, then the script, then calls start; here sh does the reading and prints the result.
        var (exit, output) = Sh(service, """printf '%s\n' "$supervisor" "$command" $command_args "$command_user" "$capabilities" "$PROVISIONER_NOFILE" """);

        Assert.True(exit == 0, output);
        var lines = output.TrimEnd('\n').Split('\n');
        Assert.Equal("supervise-daemon", lines[0]);
        Assert.Equal(DeployFiles.SystemdExecStart("x").Take(5).Append(siteFile), lines[1..7]);
        Assert.Equal($"{unit.Value(Service, "User")}:{unit.Value(Service, "Group")}", lines[7]);
        Assert.Equal("^cap_net_bind_service,^cap_net_raw", lines[8]);
        Assert.Equal(unit.Value(Service, "LimitNOFILE"), lines[9]);
    }

    [Fact]
    public void The_openrc_script_needs_the_network_and_starts_after_a_local_postgresql()
    {
        var (exit, output) = Sh("provisioner", """need() { echo "need $*"; }; after() { echo "after $*"; }; use() { :; }; before() { :; }; depend""");

        Assert.True(exit == 0, output);
        Assert.Contains("need net", output, StringComparison.Ordinal);
        Assert.Contains("after postgresql", output, StringComparison.Ordinal);
    }

    private static SystemdUnit Unit() => SystemdUnit.Parse(File.ReadAllText(DeployFiles.SystemdUnitPath));

    private static string Describe(SubnetDefinition subnet) =>
        SubnetDeclarations.Declare(subnet, "any-node", DateTimeOffset.UnixEpoch).Describe();

    /// <summary>What a node listens on: Akka.Remote, the admin API, and an edge's DHCP, TFTP and HTTP.</summary>
    private static IEnumerable<(string Protocol, int Port, string What)> Listeners(string file, ProvisionerSettings settings)
    {
        yield return ("tcp", settings.Port, $"{file} node.port");
        yield return ("tcp", new Uri(settings.AdminListen).Port, $"{file} admin.listen");
        if (!settings.IsEdge)
        {
            yield break;
        }

        var edge = settings.Hocon.GetConfig("provisioner.edge");
        if (edge.GetBoolean("dhcp.enabled"))
        {
            yield return ("udp", edge.GetInt("dhcp.port"), $"{file} edge.dhcp.port");
        }

        if (edge.GetBoolean("tftp.enabled"))
        {
            yield return ("udp", edge.GetInt("tftp.port"), $"{file} edge.tftp.port");
        }

        if (edge.GetBoolean("http.enabled"))
        {
            yield return ("tcp", new Uri(edge.GetString("http.listen")).Port, $"{file} edge.http.listen");
        }
    }

    /// <summary>Sources the conf.d example and the init script as openrc-run would for <paramref name="service"/>, then runs <paramref name="script"/>.</summary>
    private static (int Exit, string Output) Sh(string service, string script) =>
        Run("/bin/sh", ["-c", $". \"$1\" && . \"$2\" && {script}", "sh", DeployFiles.OpenRcConfPath, DeployFiles.OpenRcScriptPath], new() { ["RC_SVCNAME"] = service });

    private static (int Exit, string Output) Run(string program, string[] args, Dictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in environment ?? [])
        {
            start.Environment[key] = value;
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(30)))
        {
            process.Kill();
            throw new TimeoutException($"{program} {string.Join(' ', args)} did not finish in 30 s");
        }

        return (process.ExitCode, stdout.Result + stderr.Result);
    }

    [GeneratedRegex("^akka\\.tcp://(?<system>[^@]+)@(?<host>[^:]+):(?<port>[0-9]+)$")]
    private static partial Regex SeedNode();
}
