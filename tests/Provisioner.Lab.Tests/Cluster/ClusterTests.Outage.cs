using System.Globalization;
using System.Text.RegularExpressions;
using Provisioner.Lab.Tests.Support;

namespace Provisioner.Lab.Tests.Cluster;

public sealed partial class ClusterTests
{
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(30);

    [GeneratedRegex(@"lease of (\d+\.\d+\.\d+\.\d+) obtained from \S+, lease time (\d+)")]
    private static partial Regex LeaseWithTime();

    [GeneratedRegex(@"http://\S+")]
    private static partial Regex Url();

    /// <summary>
    /// The site link of an edge fails for 30 s (a blackhole route to the cores in the edge's namespace: packets vanish,
    /// nothing is refused). The edge stays a member, keeps serving files, renews the leases it saw granted without
    /// extending them, serves the boot script and kickstart of a machine it holds, queues that machine's reports and
    /// delivers them when the link is back: the machine is Installed, each stage recorded once.
    /// </summary>
    [Fact]
    public async Task An_edge_cut_off_from_every_core_for_30_s_keeps_serving_its_site_and_delivers_its_reports_afterwards()
    {
        await using var cluster = await ClusterLab.CreateAsync(clients: 3);
        var lab = cluster.Lab;
        await Simulate.SimulateTests.WriteProfileAsync(cluster.EdgeDirectory(1));
        var core1 = await cluster.StartCoreAsync(1);
        await cluster.StartCoreAsync(2);
        var edge = await cluster.StartEdgeAsync(1, ownHost: true);
        var http = $"http://{cluster.EdgeHost(1)}:8081";
        var (machineNs, osNs, newNs) = (lab.Clients[0], lab.Clients[1], lab.Clients[2]);

        // A machine mid-install: leased as PXE firmware, its boot script read (the edge now holds its state).
        var (machineAddress, mac) = await PxeUdhcpc(lab, machineNs);
        await Sh(lab, machineNs, $"ip addr add {machineAddress}/24 dev eth0");
        var script = await Curl(lab, machineNs, $"{http}/boot/{mac}.ipxe");
        Assert.Equal(200, script.Status);
        var kernel = Url().Matches(script.Body).Select(m => m.Value).Single(u => u.Contains("vmlinuz", StringComparison.Ordinal));
        var initrd = Url().Matches(script.Body).Select(m => m.Value).Single(u => u.Contains("initrd.img", StringComparison.Ordinal));
        var kickstart = Url().Matches(script.Body).Select(m => m.Value).Single(u => u.Contains("/ks/", StringComparison.Ordinal));
        await core1.WaitForMachineAsync(mac, m => m.Events.Any(e => e.Type == "BootScriptServed"), TimeSpan.FromSeconds(20));

        // An installed OS on the segment holding a lease (a plain DHCP client).
        var (osAddress, osLeaseTime) = await PlainLease(lab, osNs, requested: null);
        Assert.Equal(3600, osLeaseTime);
        var osMac = (await lab.RunAsync(osNs, "cat /sys/class/net/eth0/address")).Output.Trim();
        string LastAck() => edge.Log.Split('\n').Last(l => l.Contains($"DHCP {osMac} ", StringComparison.Ordinal) && l.Contains("ACK", StringComparison.OrdinalIgnoreCase));

        // The link to the cores fails.
        var edgeNs = edge.Namespace;
        await Sh(lab, edgeNs, $"ip route add blackhole {lab.ServerAddress}/32");
        var cut = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            await Eventually(() => ClusterOf(core1), c => c.Unreachable.Contains(cluster.EdgeAddress(1)), TimeSpan.FromSeconds(20));
            output.WriteLine($"edge unreachable from the cores {cut.Elapsed.TotalSeconds:0.0} s after the cut");

            // Files are served, and the machine's install goes on: kernel, initrd, kickstart, phone-home.
            Assert.Equal(200, (await Curl(lab, machineNs, kernel, discard: true)).Status);
            Assert.Equal(200, (await Curl(lab, machineNs, initrd, discard: true)).Status);
            var ks = await Curl(lab, machineNs, kickstart);
            Assert.True(ks.Status == 200, $"kickstart during the outage: {ks.Status} {ks.Body}\n{Tail(edge.Log)}");
            Assert.Contains($"# {mac}", ks.Body, StringComparison.Ordinal);
            var phoneHome = Url().Matches(ks.Body).Select(m => m.Value).Single(u => u.Contains("/phone-home/", StringComparison.Ordinal));
            var phoned = await Curl(lab, machineNs, phoneHome);
            Assert.True(phoned.Status == 202, $"phone-home during the outage: {phoned.Status} {phoned.Body}\n{Tail(edge.Log)}");

            // The installed OS asks for its address again: granted from what the edge saw, not extended.
            var (again, remaining) = await PlainLease(lab, osNs, requested: osAddress);
            Assert.Equal(osAddress, again);
            Assert.InRange(remaining, 1, 3600 - 1);
            Assert.Contains("from this edge's memory", LastAck(), StringComparison.Ordinal);
            output.WriteLine($"renewal during the outage: {again}, {remaining} s left of the lease granted before it");

            // A machine never seen gets no address: only a core's lease actor grants one.
            var fresh = await lab.RunAsync(newNs, "udhcpc -i eth0 -n -q -f -t 2 -T 2 -s /bin/true -V PXEClient:Arch:00000:UNDI:002001 -x 0x5d:0000", TimeSpan.FromSeconds(20));
            Assert.DoesNotMatch(Udhcpc.LeaseLine(), fresh.Output + fresh.Error);

            // The machine's reports have not reached its actor yet.
            var during = await core1.GetMachineAsync(mac);
            Assert.DoesNotContain(during!.Events, e => e.Type is "KernelFetched" or "Installed");

            var left = Outage - cut.Elapsed;
            Assert.True(left > TimeSpan.Zero, $"the checks took {cut.Elapsed.TotalSeconds:0} s, longer than the outage");
            await Task.Delay(left);
        }
        finally
        {
            await lab.RunAsync(edgeNs, $"ip route del blackhole {lab.ServerAddress}/32");
        }

        output.WriteLine($"link back after {cut.Elapsed.TotalSeconds:0.0} s");
        Assert.False(edge.HasExited, "the edge exited during the outage");

        // The queued reports arrive: each stage once, the machine Installed.
        var machine = await core1.WaitForMachineAsync(mac, m => m.Stage.ToString() == "Installed", TimeSpan.FromSeconds(60));
        var types = machine.Events.Select(e => e.Type).ToArray();
        output.WriteLine($"machine {mac} after the outage: {string.Join(", ", types)}");
        foreach (var type in new[] { "Discovered", "BootScriptServed", "KernelFetched", "InitrdFetched", "KickstartFetched", "Installed" })
        {
            Assert.Equal(1, types.Count(t => t == type));
        }

        // The edge is still a member; nothing was downed.
        var members = await Eventually(() => ClusterOf(core1), c => c.Unreachable.Count == 0, TimeSpan.FromSeconds(30));
        Assert.Contains(members.Members, m => m.Address == cluster.EdgeAddress(1) && m.Status == "Up");
        Assert.Equal(3, members.Members.Count(m => m.Status == "Up"));
        Assert.DoesNotContain("Downing ", cluster.Logs, StringComparison.Ordinal);

        // And the cores answer again: the OS's next request is ACKed by its subnet's lease actor, not from memory (right
        // after the link returns an ask may still fail while remoting reconnects, and the edge then answers from memory
        // again), and a new machine gets an address.
        var renewed = await Eventually(
            async () => (await PlainLease(lab, osNs, requested: osAddress), LastAck()),
            r => !r.Item2.Contains("memory", StringComparison.Ordinal),
            TimeSpan.FromSeconds(40));
        Assert.Equal(osAddress, renewed.Item1.Address);
        output.WriteLine($"renewed through the cores {cut.Elapsed.TotalSeconds:0.0} s after the cut");
        var (newAddress, _) = await PxeUdhcpc(lab, newNs);
        Assert.NotEqual(osAddress, newAddress);
        Assert.NotEqual(machineAddress, newAddress);
    }

    /// <summary>A plain DHCP client (an installed OS): the address and lease time it was granted.</summary>
    private static async Task<(string Address, int LeaseTime)> PlainLease(LabNetwork lab, string ns, string? requested)
    {
        var result = await lab.RunAsync(ns, "udhcpc -i eth0 -n -q -f -t 5 -T 2 -s /bin/true" + (requested is null ? string.Empty : $" -r {requested}"), ClientTimeout);
        var match = LeaseWithTime().Match(result.Output + result.Error);
        Assert.True(match.Success, $"udhcpc got no lease (exit {result.ExitCode}):\n{result.Output}\n{result.Error}");
        return (match.Groups[1].Value, int.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture));
    }

    private static async Task<(int Status, string Body)> Curl(LabNetwork lab, string ns, string url, bool discard = false)
    {
        var result = await lab.RunAsync(ns, $"curl -sS -m 15 {(discard ? "-o /dev/null " : string.Empty)}-w \"\\n%{{http_code}}\" {url}", TimeSpan.FromSeconds(20));
        var body = result.Output.TrimEnd('\n');
        var cut = body.LastIndexOf('\n');
        var status = int.TryParse(body[(cut + 1)..], CultureInfo.InvariantCulture, out var code) ? code : 0;
        return (status, cut < 0 ? string.Empty : body[..cut]);
    }

    private static async Task Sh(LabNetwork lab, string ns, string command)
    {
        var result = await lab.RunAsync(ns, command);
        Assert.True(result.ExitCode == 0, $"{ns}: {command}: {result.Output}{result.Error}");
    }

    private static string Tail(string log) => string.Join('\n', log.Split('\n').TakeLast(40));
}
