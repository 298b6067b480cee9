using System.Text.Json;
using System.Text.RegularExpressions;
using Provisioner.Host.Admin;
using Provisioner.Lab.Tests.Support;
using Xunit.Abstractions;

namespace Provisioner.Lab.Tests.Cluster;

/// <summary>
/// Core and edge nodes as separate processes of the real executable on a private PostgreSQL, started from site files
/// that include the shipped core.conf and edge.conf (as deploy/ does).
/// </summary>
[Collection(LabCollection.Name)]
public sealed partial class ClusterTests(ITestOutputHelper output)
{
    private static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(40);

    [Fact]
    public async Task Two_cores_and_an_edge_lease_a_pxe_client_on_the_edges_subnet_and_its_machine_lives_on_a_core_node()
    {
        await using var cluster = await ClusterLab.CreateAsync(clients: 1);
        var core1 = await cluster.StartCoreAsync(1);
        var core2 = await cluster.StartCoreAsync(2);
        var edge = await cluster.StartEdgeAsync(1);

        // Every node sees all three, from any node.
        var members = await ClusterOf(edge);
        Assert.Equal(
            [(cluster.CoreAddress(1), "core"), (cluster.CoreAddress(2), "core"), (cluster.EdgeAddress(1), "edge")],
            members.Members.Where(m => m.Status == "Up").Select(m => (m.Address, string.Join(',', m.Roles))).Order().ToArray());

        // A PXE client (option 60 PXEClient, option 93 = 0) on the edge's segment: the subnet is known to the cluster only
        // because the edge declared it (the core nodes' site files name no subnet).
        var (address, mac) = await PxeUdhcpc(cluster.Lab, cluster.Lab.Clients[0]);
        Assert.StartsWith($"10.77.{cluster.Lab.Subnet}.1", address, StringComparison.Ordinal);

        var where = await Where(core2, mac);
        Assert.Contains(where.Node, new[] { cluster.CoreAddress(1), cluster.CoreAddress(2) });
        Assert.True(where.Live, $"machine {mac} not live: {JsonSerializer.Serialize(where)}\n{cluster.Logs}");
        Assert.Equal(where.Node, (await Where(edge, mac)).Node);

        // Its journey is read from PostgreSQL by a core node: Discovered with the lease the edge handed out.
        var machine = await core1.WaitForMachineAsync(mac, m => m.Address == address, TimeSpan.FromSeconds(20));
        Assert.Equal("lab", machine.Subnet);
        Assert.Contains(machine.Events, e => e.Type == "Discovered");

        // The fleet view (one directory per cluster, a singleton on a core node) answers on the edge too.
        var list = await Eventually(() => ListOf(edge), l => l.Machines.Any(m => m.MachineId == mac), TimeSpan.FromSeconds(20));
        Assert.Equal(address, list.Machines.Single(m => m.MachineId == mac).Address);
    }

    [Fact]
    public async Task A_second_edge_declaring_the_same_subnet_differently_is_refused_naming_both_and_serves_none_of_it()
    {
        await using var cluster = await ClusterLab.CreateAsync(clients: 1);
        await cluster.StartCoreAsync(1);
        await cluster.StartEdgeAsync(1);

        // Same id, a larger pool: the first edge's definition stands, the second edge says why it does not serve.
        var second = await cluster.StartEdgeAsync(2, ClusterLab.LabSubnet(cluster.Lab, poolEnd: "250"), dhcpPort: 6767, healthy: false);
        var health = await Eventually(second.HealthAsync, h => h.StartsWith("failing:", StringComparison.Ordinal), TimeSpan.FromSeconds(60));

        Assert.Contains($"subnet 'lab' is defined by node {cluster.Lab.ServerAddress}:{ClusterLab.EdgePortBase + 1}", health, StringComparison.Ordinal);
        Assert.Contains($"node {cluster.Lab.ServerAddress}:{ClusterLab.EdgePortBase + 2} declares {cluster.Lab.Network} pool 10.77.{cluster.Lab.Subnet}.100-10.77.{cluster.Lab.Subnet}.250", health, StringComparison.Ordinal);
        Assert.Contains("the cluster refused this node's", second.Log, StringComparison.Ordinal);

        // The first edge still serves the segment from its own definition.
        var (address, _) = await PxeUdhcpc(cluster.Lab, cluster.Lab.Clients[0]);
        Assert.Matches(@"^10\.77\.\d+\.1\d\d$", address);
    }

    [Fact]
    public async Task A_bios_vm_boots_to_rebooted_through_the_edge_while_its_actor_lives_on_a_core_node()
    {
        const string mac = "52:54:00:77:10:01";
        await using var cluster = await ClusterLab.CreateAsync(clients: 0);
        await Boot.LabProfiles.WriteAsync(cluster.EdgeDirectory(1), cluster.Lab);
        var core1 = await cluster.StartCoreAsync(1);
        await cluster.StartCoreAsync(2);
        var edge = await cluster.StartEdgeAsync(1);

        var started = System.Diagnostics.Stopwatch.StartNew();
        var vm = await Boot.VirtualMachineBootTests.StartVmAsync(cluster.Lab, cluster.Directory, mac, uefi: false);
        try
        {
            var machine = await core1.WaitForMachineAsync(mac, m => m.Stage.ToString() == "Rebooted", TimeSpan.FromSeconds(240));
            output.WriteLine($"BIOS power-on -> Rebooted through the edge: {started.Elapsed.TotalSeconds:0.0} s");
            var types = machine.Events.Select(e => e.Type).ToArray();
            Assert.Equal(
                ["Discovered", "BootScriptServed", "KernelFetched", "InitrdFetched", "KickstartFetched", "Installed", "Rebooted"],
                types.Where(t => t is "Discovered" or "BootScriptServed" or "KernelFetched" or "InitrdFetched" or "KickstartFetched" or "Installed" or "Rebooted").Distinct().ToArray());
            Assert.Equal("lab", machine.Subnet);

            var where = await Where(edge, mac);
            output.WriteLine($"machine {mac}: actor on {where.Node} (live: {where.Live}, sequence {where.LastSequenceNr})");
            Assert.Contains(where.Node, new[] { cluster.CoreAddress(1), cluster.CoreAddress(2) });
            Assert.Equal(machine.Events.Count, where.LastSequenceNr);
        }
        finally
        {
            await Boot.VirtualMachineBootTests.StopVmAsync(vm, cluster.Directory, output);
        }
    }

    [Fact]
    public async Task Kill_9_of_the_core_hosting_a_machine_moves_its_actor_keeps_every_lease_and_stage_and_the_core_rejoins()
    {
        await using var cluster = await ClusterLab.CreateAsync(clients: 4);
        var cores = new List<ProvisionerNode> { await cluster.StartCoreAsync(1), await cluster.StartCoreAsync(2), await cluster.StartCoreAsync(3) };
        var edge = await cluster.StartEdgeAsync(1);
        var leased = new List<(string Address, string Mac, string Ns)>();
        foreach (var ns in cluster.Lab.Clients)
        {
            var (address, mac) = await PxeUdhcpc(cluster.Lab, ns);
            leased.Add((address, mac, ns));
        }

        Assert.Equal(leased.Count, leased.Select(l => l.Address).Distinct().Count());
        var before = new Dictionary<string, MachineWhereDto>();
        foreach (var (_, mac, _) in leased)
        {
            before[mac] = await Where(edge, mac);
        }

        // The core hosting the most machines dies without a word (kill -9 of its PID).
        var victim = before.Values.GroupBy(w => w.Node).OrderByDescending(g => g.Count()).First().Key!;
        var index = Enumerable.Range(1, 3).Single(i => cluster.CoreAddress(i) == victim);
        var moved = before.Where(kv => kv.Value.Node == victim).Select(kv => kv.Key).ToArray();
        var killedAt = System.Diagnostics.Stopwatch.StartNew();
        cores[index - 1].Kill();
        Assert.Equal(137, await cores[index - 1].WaitForExitAsync(TimeSpan.FromSeconds(10)));

        // Each machine it hosted is served again from another core: its actor recovers there from PostgreSQL.
        var survivor = cores[index % 3];
        foreach (var mac in moved)
        {
            var machine = await survivor.WaitForMachineAsync(mac, m => m.Address is not null, TimeSpan.FromSeconds(60));
            Assert.Contains(machine.Events, e => e.Type == "Discovered");
        }

        output.WriteLine($"kill -9 of {victim} ({moved.Length} machines) -> all served again after {killedAt.Elapsed.TotalSeconds:0.0} s");
        foreach (var mac in moved)
        {
            var where = await Where(edge, mac);
            Assert.NotEqual(victim, where.Node);
        }

        // Every lease survived: each client asking for its address again gets it (the subnet's actor, wherever it now
        // lives, recovered its table from the journal), and no address went to two machines.
        foreach (var (address, mac, ns) in leased)
        {
            var (again, sameMac) = await PxeUdhcpc(cluster.Lab, ns, requested: address);
            Assert.Equal((address, mac), (again, sameMac));
        }

        // The killed core starts again and rejoins the running cluster.
        await cluster.StartCoreAsync(index);
        var members = await Eventually(() => ClusterOf(edge), c => c.Members.Count(m => m.Status == "Up") == 4 && c.Unreachable.Count == 0, TimeSpan.FromSeconds(60));
        Assert.Contains(members.Members, m => m.Address == victim && m.Status == "Up");
    }

    private static async Task<ClusterDto> ClusterOf(ProvisionerNode node)
    {
        var result = await node.Cli("cluster show -o json");
        Assert.True(result.ExitCode == 0, result.Output + result.Error);
        return JsonSerializer.Deserialize<ClusterDto>(result.Output, AdminJson.Options)!;
    }

    [Fact]
    public async Task Two_edges_of_one_site_serve_one_subnet_and_when_one_is_killed_its_clients_are_served_by_the_other()
    {
        await using var cluster = await ClusterLab.CreateAsync(clients: 4);
        // A dead edge is downed after the edge grace (60 s by default, for outages of a site link); 10 s here.
        const string grace = "akka.cluster.core-majority.edge-grace = 10s";
        await cluster.StartCoreAsync(1, grace);
        var core2 = await cluster.StartCoreAsync(2, grace);
        await cluster.StartCoreAsync(3, grace);
        // Two hosts on the segment, each an edge declaring the same subnet (equal definitions: both accepted).
        var edges = new[] { await cluster.StartEdgeAsync(1, ownHost: true, extraHocon: grace), await cluster.StartEdgeAsync(2, ownHost: true, extraHocon: grace) };

        var leased = new List<(string Address, string Mac, string Ns)>();
        foreach (var ns in cluster.Lab.Clients.Take(3))
        {
            var (address, mac) = await PxeUdhcpc(cluster.Lab, ns);
            leased.Add((address, mac, ns));
        }

        Assert.Equal(3, leased.Select(l => l.Address).Distinct().Count());
        static int Acks(ProvisionerNode edge) => edge.Log.Split('\n').Count(l => l.Contains("-> Ack ", StringComparison.Ordinal));
        var acksBefore = edges.Select(Acks).ToArray();
        output.WriteLine($"ACKs logged by edge 1 / edge 2 before the kill: {acksBefore[0]} / {acksBefore[1]}");

        // Edge 1 dies. Each client asks for its address again (INIT-REBOOT, broadcast, as firmware does after a
        // failed boot): the surviving edge answers with the same address from the same lease table, and a new
        // machine is leased a new one.
        edges[0].Kill();
        Assert.Equal(137, await edges[0].WaitForExitAsync(TimeSpan.FromSeconds(10)));
        var killed = System.Diagnostics.Stopwatch.StartNew();
        foreach (var (address, mac, ns) in leased)
        {
            Assert.Equal((address, mac), await PxeUdhcpc(cluster.Lab, ns, requested: address));
        }

        var (fresh, freshMac) = await PxeUdhcpc(cluster.Lab, cluster.Lab.Clients[3]);
        output.WriteLine($"after the kill: {leased.Count} renewals and a new machine served by edge 2 within {killed.Elapsed.TotalSeconds:0.0} s");
        Assert.DoesNotContain(fresh, leased.Select(l => l.Address));
        // All four ACKs after the kill came from edge 2.
        Assert.Equal(acksBefore[1] + 4, Acks(edges[1]));

        // Every machine's journey is intact, read on a core node.
        foreach (var mac in leased.Select(l => l.Mac).Append(freshMac))
        {
            var machine = await core2.WaitForMachineAsync(mac, m => m.Address is not null, TimeSpan.FromSeconds(20));
            Assert.Contains(machine.Events, e => e.Type == "Discovered");
        }

        // The cores down the dead edge after its grace; the cores and the other edge stay.
        var members = await Eventually(() => ClusterOf(edges[1]), c => c.Members.All(m => m.Address != cluster.EdgeAddress(1)), TimeSpan.FromSeconds(60));
        Assert.Equal(4, members.Members.Count(m => m.Status == "Up"));
    }

    [Fact]
    public async Task A_storm_of_simulated_machines_survives_kill_9_of_a_core_every_machine_installed_no_address_twice()
    {
        const int machines = 520; // more than one page of the fleet list (500)
        const string token = "storm-token";
        await using var cluster = await ClusterLab.CreateAsync(clients: 1);
        var lab = cluster.Lab;
        var n = lab.Subnet;
        var client = lab.Clients[0];
        // A /16 behind the relay: more addresses than machines (a /24's 241 ran out at machine 242).
        var net = 100 + (n % 100);
        var relayed = $"10.{net}.0.0/16";
        var relay = $"10.{net}.0.1";
        var clientAddress = $"10.77.{n}.20";
        foreach (var (ns, command) in new[] { (client, $"ip addr add {clientAddress}/24 dev eth0"), (client, $"ip route add local {relayed} dev lo"), (lab.Server, $"ip route add {relayed} via {clientAddress}") })
        {
            var done = await lab.RunAsync(ns, command);
            Assert.True(done.ExitCode == 0, $"{command}: {done.Output}{done.Error}");
        }

        await Simulate.SimulateTests.WriteProfileAsync(cluster.EdgeDirectory(1));
        var cores = new List<ProvisionerNode> { await cluster.StartCoreAsync(1), await cluster.StartCoreAsync(2), await cluster.StartCoreAsync(3) };
        var subnets = ClusterLab.LabSubnet(lab) + $$"""
            { id = relayed, network = "{{relayed}}", pool-start = "10.{{net}}.0.10", pool-end = "10.{{net}}.3.250", router = "{{relay}}", lease-time = 1h }
            """;
        var edge = await cluster.StartEdgeAsync(1, subnets, extraHocon: $"provisioner.admin {{ listen = \"http://0.0.0.0:9791\", token = \"{token}\" }}");
        edge.Token = token;

        // The storm: machines power on at 20/s; a machine whose boot fails (its actor's core just died) powers on again.
        var report = Path.Combine(cluster.Directory, "storm.json");
        var storm = lab.Start(client,
            $"sh -c \"dotnet {ProvisionerNode.Executable} simulate --dhcp-server {lab.ServerAddress} --relay-address {relay} --machines {machines} --rate 20"
            + $" --reboots 5 --reboot-after 2s --timeout-per-machine 300s --admin http://{lab.ServerAddress}:9791 --token {token} -o json > {report}\"");

        // Mid-storm: kill -9 the core hosting the most machine actors.
        await Task.Delay(TimeSpan.FromSeconds(6));
        var shards = await ShardsOf(cores[1]);
        var victim = shards.Regions.Single(r => r.Type == "machine").Nodes.OrderByDescending(node => node.Entities).First();
        var index = Enumerable.Range(1, 3).Single(i => cluster.CoreAddress(i) == victim.Address);
        cores[index - 1].Kill();
        output.WriteLine($"kill -9 of {victim.Address} hosting {victim.Entities} machine actors, 6 s into the storm");

        using (var within = new CancellationTokenSource(TimeSpan.FromSeconds(420)))
        {
            await storm.Process.WaitForExitAsync(within.Token);
        }

        var json = File.Exists(report) ? await File.ReadAllTextAsync(report) : string.Empty;
        var result = json.TrimStart().StartsWith('{') ? JsonSerializer.Deserialize<Provisioner.Host.Simulate.SimulationReport>(json, AdminJson.Options) : null;
        Assert.True(result is not null, $"no report (exit {storm.Process.ExitCode}):\n{storm.Output}\n{json}");
        output.WriteLine(result.Render());
        Assert.True(storm.Process.ExitCode == 0, $"simulate exited {storm.Process.ExitCode}:\n{result.Render()}");
        Assert.Equal((machines, 0), (result.Completed, result.Failed));
        Assert.Empty(result.Duplicates);
        Assert.Equal(machines, result.Admin!.Installed);

        // The fleet view from the edge (the directory lives on a core): every machine, in pages under Akka's frame size.
        var list = await Eventually(() => ListOf(edge), l => l.Machines.Count(m => m.Stage.ToString() == "Installed") == machines, TimeSpan.FromSeconds(60));
        Assert.Equal(machines, list.Machines.Count);

        // The killed core starts again and rejoins.
        await cluster.StartCoreAsync(index);
        var members = await Eventually(() => ClusterOf(cores[index % 3]), c => c.Members.Count(m => m.Status == "Up") == 4 && c.Unreachable.Count == 0, TimeSpan.FromSeconds(60));
        Assert.Contains(members.Members, m => m.Address == victim.Address && m.Status == "Up");
    }

    private static async Task<ShardsDto> ShardsOf(ProvisionerNode node)
    {
        var result = await node.Cli("cluster shards -o json");
        Assert.True(result.ExitCode == 0, result.Output + result.Error);
        return JsonSerializer.Deserialize<ShardsDto>(result.Output, AdminJson.Options)!;
    }

    private static async Task<MachineListDto> ListOf(ProvisionerNode node)
    {
        var result = await node.Cli("machine list -o json");
        Assert.True(result.ExitCode == 0, result.Output + result.Error);
        return JsonSerializer.Deserialize<MachineListDto>(result.Output, AdminJson.Options)!;
    }

    private static async Task<MachineWhereDto> Where(ProvisionerNode node, string mac)
    {
        var result = await node.Cli($"machine where {mac} -o json");
        Assert.True(result.ExitCode == 0, result.Output + result.Error);
        return JsonSerializer.Deserialize<MachineWhereDto>(result.Output, AdminJson.Options)!;
    }

    /// <summary>busybox udhcpc as PXE firmware announces itself (vendor class PXEClient, architecture 0): its address and MAC.</summary>
    private static async Task<(string Address, string Mac)> PxeUdhcpc(LabNetwork lab, string ns, string? requested = null)
    {
        var link = await lab.RunAsync(ns, "cat /sys/class/net/eth0/address");
        var mac = link.Output.Trim();
        var request = requested is null ? string.Empty : $" -r {requested}";
        return (await Udhcpc.LeaseAsync(lab, ns, "-V PXEClient:Arch:00000:UNDI:002001 -x 0x5d:0000" + request, ClientTimeout), mac);
    }

    private static async Task<T> Eventually<T>(Func<Task<T>> read, Func<T, bool> done, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        var last = await read();
        while (!done(last) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(500);
            last = await read();
        }

        return done(last) ? last : throw new TimeoutException($"not within {within.TotalSeconds:0} s; last: {last}");
    }
}
