using System.Net;
using Provisioner.Cluster.Tests.Support;
using Provisioner.Edge.Dhcp;
using Provisioner.Edge.Http;
using Provisioner.Edge.Tftp;
using Provisioner.Host.Cli;
using Provisioner.Protocols.Dhcp;

namespace Provisioner.Host.Tests.Deploy;

/// <summary>Reads and sets PROVISIONER_* variables: runs alone.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class DeployEnvironment
{
    public const string Name = "deploy-environment";
}

/// <summary>
/// deploy/ against the executable: the CLI takes the systemd unit's command line, and every example edge's DHCP, TFTP
/// and HTTP sections bind as the node binds them at start, to paths the unit lets it write.
/// </summary>
[Collection(DeployEnvironment.Name)]
public sealed class DeployFilesHostTests
{
    [Fact]
    public async Task The_cli_accepts_the_systemd_units_serve_command_line_and_goes_on_to_read_the_site_file()
    {
        var siteFile = Path.Combine(Path.GetTempPath(), $"provisioner-no-such-{Guid.NewGuid():N}", "core.conf");
        var args = DeployFiles.SystemdExecStart("core").Skip(1).ToArray();
        // The unit's values with a site file that is not there: parsing must pass and loading fail, so no node starts.
        args[Array.IndexOf(args, "--hocon-dir") + 1] = DeployFiles.HoconDirectory;
        args[Array.IndexOf(args, "--config") + 1] = siteFile;

        var (exit, _, stderr) = await RunAsync(args);

        Assert.True(exit == CommandLine.Failed, $"exit {exit}: {stderr}");
        Assert.Contains($"configuration file '{siteFile}' not found", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_option_serve_does_not_know_is_a_usage_error_so_the_unit_check_above_can_fail()
    {
        var (exit, _, stderr) = await RunAsync(["serve", "--site", "/etc/provisioner/core.conf"]);

        Assert.Equal(CommandLine.Usage, exit);
        Assert.Contains("unknown option '--site'", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_example_edge_binds_dhcp_tftp_and_http_on_its_interface_and_address()
    {
        var edges = DeployFiles.ExampleFiles().Select(f => (File: f, Settings: DeployFiles.Bind(f))).Where(n => n.Settings.IsEdge).ToArray();

        Assert.NotEmpty(edges);
        foreach (var (file, settings) in edges)
        {
            var section = settings.Hocon.GetConfig("provisioner.edge");
            var dhcp = DhcpServerOptions.FromConfig(section);
            var tftp = TftpServerOptions.FromConfig(section);
            var http = BootHttpOptions.FromConfig(section, settings.DataDirectory);
            var address = section.GetString("address");

            Assert.True(dhcp.Enabled && tftp.Enabled, file);
            Assert.Equal(67, dhcp.Port);
            Assert.Equal(69, tftp.Port);
            Assert.Equal(section.GetString("interface"), dhcp.Interface);
            Assert.Equal(dhcp.Interface, tftp.Interface);
            Assert.Equal(IPv4Address.Parse(address), dhcp.Address);
            Assert.Equal(IPAddress.Parse(address), tftp.BindAddress);
            // The boot URLs DHCP hands out point at this edge's own HTTP listener.
            Assert.Equal(http.BaseUrl, dhcp.EdgeBaseUrl);
            Assert.NotEmpty(dhcp.Subnets);
        }
    }

    [Fact]
    public void Every_path_an_example_node_writes_is_one_the_systemd_unit_makes_writable()
    {
        var unit = SystemdUnit.Parse(File.ReadAllText(DeployFiles.SystemdUnitPath));
        var writable = unit.Words("Service", "ReadWritePaths").Concat(unit.Words("Service", "StateDirectory").Select(d => "/var/lib/" + d)).ToArray();

        foreach (var file in DeployFiles.ExampleFiles())
        {
            var settings = DeployFiles.Bind(file);
            var paths = new List<string> { settings.DataDirectory };
            if (settings.IsEdge)
            {
                var section = settings.Hocon.GetConfig("provisioner.edge");
                var http = BootHttpOptions.FromConfig(section, settings.DataDirectory);
                paths.AddRange([TftpServerOptions.FromConfig(section).Root, http.AssetsDirectory, http.TokenKeyPath]);
            }

            Assert.All(paths, p => Assert.True(
                writable.Any(w => p == w || p.StartsWith(w.TrimEnd('/') + "/", StringComparison.Ordinal)),
                $"{file}: {p} is not writable under the unit's ProtectSystem=strict"));
        }
    }

    private static async Task<(int Exit, string Stdout, string Stderr)> RunAsync(string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        // No PROVISIONER_* variable matters here: both runs stop before the configuration is loaded or applied.
        var exit = await CommandLine.RunAsync(args, stdout, stderr);
        return (exit, stdout.ToString(), stderr.ToString());
    }
}
