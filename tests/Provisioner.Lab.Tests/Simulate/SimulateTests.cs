using System.Globalization;
using System.Text.Json;
using Provisioner.Host.Admin;
using Provisioner.Host.Simulate;
using Provisioner.Lab.Tests.Support;
using Xunit.Abstractions;

namespace Provisioner.Lab.Tests.Simulate;

/// <summary>
/// Issue 10: <c>provisioner simulate</c> against a real single node. The machines sit behind a relay in a client
/// namespace, on a subnet of their own (10.88.N.0/24) that the node serves by giaddr: the client namespace holds that
/// whole subnet as local addresses (so the simulator receives the relay's replies on 10.88.N.1:67 and each machine
/// sends its TFTP and HTTP from the address it was ACKed), and the server namespace routes it back through the
/// client. The node serves a profile whose kernel and initrd are small files in its assets directory.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class SimulateTests(ITestOutputHelper output)
{
    private const string Token = "simulate-lab-token";
    private const int AdminPort = 9780;

    [Fact]
    public async Task Hundred_relayed_machines_at_20_per_second_all_reach_installed_with_distinct_addresses()
    {
        await using var lab = await LabNetwork.CreateAsync(clients: 1);
        using var dir = new LabDirectory();
        var n = lab.Subnet;
        var client = lab.Clients[0];
        var relayed = $"10.88.{n}.0/24";
        var relay = $"10.88.{n}.1";
        var clientAddress = $"10.77.{n}.20";
        await Sh(lab, client, $"ip addr add {clientAddress}/24 dev eth0");
        await Sh(lab, client, $"ip route add local {relayed} dev lo");
        await Sh(lab, lab.Server, $"ip route add {relayed} via {clientAddress}");
        await WriteProfileAsync(dir.Path);

        var extraSubnets = string.Create(CultureInfo.InvariantCulture, $$"""
            {
              id = relayed
              network = "{{relayed}}"
              pool-start = "10.88.{{n}}.10"
              pool-end = "10.88.{{n}}.250"
              router = "{{relay}}"
              lease-time = 1h
            }
            """);
        // The admin API on every address of the server namespace (so the simulator reaches it from the client's), which
        // needs a token.
        var extraHocon = $"provisioner.admin.listen = \"http://0.0.0.0:{AdminPort}\"\nprovisioner.admin.token = \"{Token}\"";
        await using var node = await ProvisionerNode.StartAsync(lab, dir.Path, extraHocon, extraSubnets);

        var run = await lab.RunAsync(client,
            $"dotnet {ProvisionerNode.Executable} simulate --dhcp-server {lab.ServerAddress} --relay-address {relay} --machines 100 --rate 20"
            + $" --admin http://{lab.ServerAddress}:{AdminPort} --token {Token} -o json",
            TimeSpan.FromSeconds(300));
        output.WriteLine(run.Error);
        var report = run.Output.TrimStart().StartsWith('{') ? JsonSerializer.Deserialize<SimulationReport>(run.Output, AdminJson.Options) : null;
        Assert.True(report is not null, $"simulate wrote no JSON report (exit {run.ExitCode}):\n{run.Output}\n{run.Error}\n{Tail(node.Log)}");
        output.WriteLine(report.Render());

        Assert.True(run.ExitCode == 0, $"simulate exited {run.ExitCode}:\n{report.Render()}\n{Tail(node.Log)}");
        Assert.Equal(100, report.Machines);
        Assert.Equal(100, report.Completed);
        Assert.Equal(0, report.Failed);
        Assert.Empty(report.Duplicates);
        Assert.Equal(100, report.Addresses);
        Assert.Equal("each machine's leased address", report.Sources);
        Assert.NotNull(report.Admin);
        Assert.Equal(100, report.Admin.Checked);
        Assert.Equal(100, report.Admin.Installed);
        Assert.All(report.Stages, s => Assert.Equal(100, s.Count));
        Assert.True(report.MachinesPerSecond > 0);
        Assert.True(report.Packets is { DhcpSent: >= 400 }, $"DHCP packets: {report.Packets}"); // two DORAs per machine at least
        // Sent from their leased addresses, the NBP downloads were tied to their machines (NbpServed recorded).
        Assert.DoesNotContain("but no machine is known at that address", node.Log);
    }

    /// <summary>A profile whose kernel and initrd the node serves itself (/assets/sim/...), and whose kickstart phones home.</summary>
    internal static async Task WriteProfileAsync(string directory)
    {
        var config = Path.Combine(directory, "config");
        var assets = Path.Combine(directory, "assets", "sim");
        Directory.CreateDirectory(Path.Combine(config, "profiles"));
        Directory.CreateDirectory(assets);
        var random = new Random(10);
        var kernel = new byte[256 * 1024];
        var initrd = new byte[1024 * 1024];
        random.NextBytes(kernel);
        random.NextBytes(initrd);
        await File.WriteAllBytesAsync(Path.Combine(assets, "vmlinuz"), kernel);
        await File.WriteAllBytesAsync(Path.Combine(assets, "initrd.img"), initrd);
        await File.WriteAllLinesAsync(Path.Combine(config, "profiles", "sim.profile"),
        [
            "description = boot-storm simulator: small fake kernel and initrd",
            "kernel = sim/vmlinuz",
            "initrd = sim/initrd.img",
            "repo-url = http://example.invalid/os",
            "kickstart = sim.ks",
            "root-password-hash = $6$sim$sim",
        ]);
        await File.WriteAllLinesAsync(Path.Combine(config, "profiles", "sim.ks"), ["# {{mac}}", "text", "%post", "curl -fsS {{phone_home_url}}", "%end"]);
        await File.WriteAllLinesAsync(Path.Combine(config, "rules.conf"), ["default sim"]);
    }

    private static async Task Sh(LabNetwork lab, string ns, string command)
    {
        var result = await lab.RunAsync(ns, command);
        Assert.True(result.ExitCode == 0, $"{ns}: {command}: {result.Output}{result.Error}");
    }

    private static string Tail(string log) => string.Join('\n', log.Split('\n').TakeLast(40));
}
