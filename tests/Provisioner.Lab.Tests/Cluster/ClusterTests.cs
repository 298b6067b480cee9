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
    public async Task A_second_edge_declaring_the_same_subnet_differently_is_refused_naming_both_until_an_operator_hands_the_subnet_over()
    {
        await using var cluster = await ClusterLab.CreateAsync(clients: 1);
        var core = await cluster.StartCoreAsync(1);
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

        // The operator hands the subnet over to the second edge (the first is to be retired): the second edge's next
        // declaration (it repeats a refused one every 30 s) redefines the subnet, and it serves.
        var handover = await core.Cli($"subnet handover lab {cluster.Lab.ServerAddress}:{ClusterLab.EdgePortBase + 2}");
        Assert.True(handover.ExitCode == 0, handover.Output + handover.Error);
        Assert.Contains($"handed over from node {cluster.Lab.ServerAddress}:{ClusterLab.EdgePortBase + 1}", handover.Output, StringComparison.Ordinal);
        var healthy = await Eventually(second.HealthAsync, h => !h.StartsWith("failing:", StringComparison.Ordinal), TimeSpan.FromSeconds(45));
        output.WriteLine($"second edge after the handover: {healthy}");
        Assert.Contains("DHCP subnet lab: Redefined", second.Log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bios_vm_boots_to_rebooted_through_site_bs_edge_while_its_actor_lives_on_a_core_node()
    {
        const string mac = "52:54:00:77:10:01";
        await using var cluster = await ClusterLab.CreateAsync(clients: 0);
        var core1 = await cluster.StartCoreAsync(1);
        await cluster.StartCoreAsync(2);
        await cluster.StartCoreAsync(3);
        // Site A's edge serves a relayed subnet of its own; site B's edge serves the VM's segment.
        var n = cluster.Lab.Subnet;
        var siteA = await cluster.StartEdgeAsync(1, $$"""{ id = site-a, network = "10.{{100 + (n % 50)}}.0.0/24", pool-start = "10.{{100 + (n % 50)}}.0.10", pool-end = "10.{{100 + (n % 50)}}.0.250", router = "10.{{100 + (n % 50)}}.0.1", lease-time = 1h }""", ownHost: true);
        await Boot.LabProfiles.WriteAsync(cluster.EdgeDirectory(2), cluster.Lab);
        var edge = await cluster.StartEdgeAsync(2, ClusterLab.LabSubnet(cluster.Lab, id: "site-b"));

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
            Assert.Equal("site-b", machine.Subnet);
            Assert.Contains($"DHCP {mac} Request xid", edge.Log, StringComparison.Ordinal);
            Assert.DoesNotContain($"DHCP {mac} Request xid", siteA.Log, StringComparison.Ordinal);

            var where = await Where(edge, mac);
            output.WriteLine($"machine {mac}: actor on {where.Node} (live: {where.Live}, sequence {where.LastSequenceNr})");
            Assert.Contains(where.Node, new[] { cluster.CoreAddress(1), cluster.CoreAddress(2), cluster.CoreAddress(3) });
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
        // udhcpc asks as patiently as a PXE ROM: the subnet's actor may have lived on the dead core and be recovering.
        foreach (var (address, mac, ns) in leased)
        {
            var (again, sameMac) = await PxeUdhcpc(cluster.Lab, ns, requested: address, patient: true);
            Assert.Equal((address, mac), (again, sameMac));
        }

        output.WriteLine($"every lease renewed {killedAt.Elapsed.TotalSeconds:0.0} s after the kill");

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
        await cluster.StartCoreAsync(1);
        var core2 = await cluster.StartCoreAsync(2);
        await cluster.StartCoreAsync(3);
        // Two hosts on the segment, each an edge declaring the same subnet (equal definitions: both accepted).
        var edges = new[] { await cluster.StartEdgeAsync(1, ownHost: true), await cluster.StartEdgeAsync(2, ownHost: true) };

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

        // The cores down the dead edge without waiting out the grace an outage gets (60 s): its host refuses connections
        // on its cluster port. The cores and the other edge stay.
        var members = await Eventually(() => ClusterOf(edges[1]), c => c.Members.All(m => m.Address != cluster.EdgeAddress(1)), TimeSpan.FromSeconds(40));
        output.WriteLine($"dead edge removed from the cluster {killed.Elapsed.TotalSeconds:0.0} s after the kill");
        Assert.Contains("refuses connections on its cluster port", cluster.Logs, StringComparison.Ordinal);
        Assert.Equal(4, members.Members.Count(m => m.Status == "Up"));
    }

    /// <summary>
    /// Two sites behind relays: site A served by edges 1 and 2 (its relay forwards to both, as dhcrelay does), site B by
    /// edge 3. 1,000 simulated machines boot at each site; 8 s in, the core hosting the most machine actors is killed,
    /// 14 s in, edge 1. Machines retry as firmware does (a failed boot powers on again) and every one finishes.
    /// </summary>
    [Fact]
    public async Task A_storm_on_two_sites_survives_kill_9_of_a_core_and_of_an_edge_every_machine_installed_no_address_twice()
    {
        const int perSite = 1000;
        const string token = "storm-token";
        await using var cluster = await ClusterLab.CreateAsync(clients: 1);
        var lab = cluster.Lab;
        var n = lab.Subnet;
        var client = lab.Clients[0];
        var clientAddress = $"10.77.{n}.20";
        // A /16 behind each site's relay: more addresses than machines.
        var sites = new[] { (Id: "site-a", Net: 100 + (n % 50)), (Id: "site-b", Net: 150 + (n % 50)) }
            .Select(site => (site.Id, site.Net, Relayed: $"10.{site.Net}.0.0/16", Relay: $"10.{site.Net}.0.1",
                Subnet: $$"""{ id = {{site.Id}}, network = "10.{{site.Net}}.0.0/16", pool-start = "10.{{site.Net}}.0.10", pool-end = "10.{{site.Net}}.7.250", router = "10.{{site.Net}}.0.1", lease-time = 1h }"""))
            .ToArray();
        await Sh(lab, client, $"ip addr add {clientAddress}/24 dev eth0");
        foreach (var site in sites)
        {
            await Sh(lab, client, $"ip route add local {site.Relayed} dev lo");
        }

        var cores = new List<ProvisionerNode> { await cluster.StartCoreAsync(1), await cluster.StartCoreAsync(2), await cluster.StartCoreAsync(3) };
        var edges = new List<ProvisionerNode>();
        foreach (var (edgeIndex, site) in new[] { (1, sites[0]), (2, sites[0]), (3, sites[1]) })
        {
            await Simulate.SimulateTests.WriteProfileAsync(cluster.EdgeDirectory(edgeIndex));
            var edge = await cluster.StartEdgeAsync(edgeIndex, site.Subnet, ownHost: true, extraHocon: $"provisioner.admin {{ listen = \"http://0.0.0.0:{9790 + edgeIndex}\", token = \"{token}\" }}");
            edge.Token = token;
            foreach (var relayed in sites.Select(s => s.Relayed))
            {
                await Sh(lab, edge.Namespace, $"ip route add {relayed} via {clientAddress}");
            }

            edges.Add(edge);
        }

        // The storm: machines power on at 20/s per site; a machine whose boot fails (its actor's core or its edge just
        // died) powers on again. Each site's simulator reads its machines back from an edge that stays.
        LabProcess Storm(int site, string servers, int adminEdge, string macBase) => lab.Start(client,
            $"sh -c \"dotnet {ProvisionerNode.Executable} simulate --dhcp-server {servers} --relay-address {sites[site].Relay} --machines {perSite} --rate 20"
            + $" --mac-base {macBase} --reboots 5 --reboot-after 2s --timeout-per-machine 400s"
            + $" --admin http://{cluster.EdgeHost(adminEdge)}:{9790 + adminEdge} --token {token} -o json > {Path.Combine(cluster.Directory, $"storm-{site}.json")}\"");
        var storms = new[]
        {
            Storm(0, $"{cluster.EdgeHost(1)},{cluster.EdgeHost(2)}", 2, "52:54:01:00:00:00"),
            Storm(1, cluster.EdgeHost(3), 3, "52:54:02:00:00:00"),
        };

        // Mid-storm: kill -9 the core hosting the most machine actors, then one of site A's two edges.
        await Task.Delay(TimeSpan.FromSeconds(8));
        var shards = await ShardsOf(cores[1]);
        var victim = shards.Regions.Single(r => r.Type == "machine").Nodes.OrderByDescending(node => node.Entities).First();
        var index = Enumerable.Range(1, 3).Single(i => cluster.CoreAddress(i) == victim.Address);
        cores[index - 1].Kill();
        output.WriteLine($"kill -9 of {victim.Address} hosting {victim.Entities} machine actors, 8 s into the storm");
        await Task.Delay(TimeSpan.FromSeconds(6));
        var acksBeforeKill = edges[0].Log.Split('\n').Count(l => l.Contains("-> Ack ", StringComparison.Ordinal));
        edges[0].Kill();
        output.WriteLine($"kill -9 of edge 1 (site A) after {acksBeforeKill} ACKs logged, 14 s into the storm");
        Assert.True(acksBeforeKill > 0, "edge 1 served nothing before it was killed");

        for (var site = 0; site < sites.Length; site++)
        {
            using (var within = new CancellationTokenSource(TimeSpan.FromSeconds(600)))
            {
                await storms[site].Process.WaitForExitAsync(within.Token);
            }

            var report = Path.Combine(cluster.Directory, $"storm-{site}.json");
            var json = File.Exists(report) ? await File.ReadAllTextAsync(report) : string.Empty;
            var result = json.TrimStart().StartsWith('{') ? JsonSerializer.Deserialize<Provisioner.Host.Simulate.SimulationReport>(json, AdminJson.Options) : null;
            Assert.True(result is not null, $"{sites[site].Id}: no report (exit {storms[site].Process.ExitCode}):\n{storms[site].Output}\n{json}");
            output.WriteLine($"{sites[site].Id}:\n{result.Render()}");
            var histories = new List<string>();
            foreach (var missing in result.Admin?.NotInstalled.Take(3) ?? [])
            {
                histories.Add((await cores[index % 3].Cli($"machine history {missing.Mac}")).Output);
            }

            Assert.True(storms[site].Process.ExitCode == 0, $"{sites[site].Id}: simulate exited {storms[site].Process.ExitCode}:\n{result.Render()}\n{string.Join("\n", histories)}");
            Assert.Equal((perSite, 0), (result.Completed, result.Failed));
            Assert.Empty(result.Duplicates);
            Assert.Equal(perSite, result.Admin!.Installed);
        }

        // The fleet view from site B's edge (the directory lives on a core): every machine of both sites.
        // Installed, or Rebooted: a machine whose phone-home answer died with edge 1 booted its disk next, as told.
        var list = await Eventually(() => ListOf(edges[2]), l => l.Machines.Count(m => m.Stage.ToString() is "Installed" or "Rebooted") == 2 * perSite, TimeSpan.FromSeconds(60));
        Assert.Equal(2 * perSite, list.Machines.Count);
        Assert.Equal(2 * perSite, list.Machines.Select(m => m.Address).Distinct().Count());

        // The killed core starts again and rejoins; the dead edge was downed (its host refused connections).
        await cluster.StartCoreAsync(index);
        var members = await Eventually(() => ClusterOf(cores[index % 3]), c => c.Members.Count(m => m.Status == "Up") == 5 && c.Unreachable.Count == 0, TimeSpan.FromSeconds(60));
        Assert.Contains(members.Members, m => m.Address == victim.Address && m.Status == "Up");
        Assert.DoesNotContain(members.Members, m => m.Address == cluster.EdgeAddress(1));
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
    /// <summary>
    /// A PXE client's lease. <paramref name="patient"/>: ask as long as a PXE ROM does (8 DISCOVERs 4 s apart, 32 s), for
    /// the first exchange after a failover, where the subnet's actor may still be moving; otherwise 5 DISCOVERs 2 s apart.
    /// </summary>
    private static async Task<(string Address, string Mac)> PxeUdhcpc(LabNetwork lab, string ns, string? requested = null, bool patient = false)
    {
        var link = await lab.RunAsync(ns, "cat /sys/class/net/eth0/address");
        var mac = link.Output.Trim();
        var request = requested is null ? string.Empty : $" -r {requested}";
        var address = patient
            ? await Udhcpc.LeaseAsync(lab, ns, "-V PXEClient:Arch:00000:UNDI:002001 -x 0x5d:0000" + request, ClientTimeout, tries: 8, periodSeconds: 4)
            : await Udhcpc.LeaseAsync(lab, ns, "-V PXEClient:Arch:00000:UNDI:002001 -x 0x5d:0000" + request, ClientTimeout);
        return (address, mac);
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
