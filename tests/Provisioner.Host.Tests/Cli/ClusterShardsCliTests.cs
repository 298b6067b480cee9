using System.Text.Json;
using Provisioner.Host.Admin;
using Provisioner.Host.Cli;
using static Provisioner.Domain.Machines.MachineCommands;

namespace Provisioner.Host.Tests.Cli;

public sealed class ClusterShardsCliTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 25, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Cluster_shards_counts_the_live_machine_actors_per_node_and_json_carries_the_same()
    {
        await using var node = await LiveNode.StartAsync();
        var macs = Enumerable.Range(1, 7).Select(i => $"52:54:00:bb:00:{i:x2}").ToArray();
        foreach (var mac in macs)
        {
            await node.Drive(mac, [new RequestBoot(T0, 0, false, "centos7")]);
        }

        var (exit, json, error) = await node.Run("cluster", "shards", "-o", "json");
        Assert.Equal(CommandLine.Ok, exit);
        Assert.Equal(string.Empty, error);
        var shards = JsonSerializer.Deserialize<ShardsDto>(json, AdminJson.Options)!;
        var machines = Assert.Single(shards.Regions, r => r.Type == "machine");
        var self = Assert.Single(machines.Nodes);
        Assert.Equal(macs.Length, machines.Entities);
        Assert.Equal(macs.Length, self.Entities);
        Assert.InRange(self.Shards, 1, macs.Length);
        Assert.Empty(self.Failed);
        Assert.Contains(shards.Regions, r => r.Type == "subnet");

        var (tableExit, table, _) = await node.Run("cluster", "shards");
        Assert.Equal(CommandLine.Ok, tableExit);
        var lines = table.TrimEnd().Split('\n');
        Assert.StartsWith("TYPE", lines[0]);
        var machineLine = Assert.Single(lines, l => l.StartsWith("machine", StringComparison.Ordinal));
        Assert.Contains(self.Address, machineLine);
        Assert.Contains($" {macs.Length}", machineLine);
    }

    [Fact]
    public async Task Cluster_leave_and_down_name_the_members_when_asked_for_another_and_need_a_node()
    {
        await using var node = await LiveNode.StartAsync();
        var (clusterExit, clusterJson, _) = await node.Run("cluster", "show", "-o", "json");
        Assert.Equal(CommandLine.Ok, clusterExit);
        var self = JsonSerializer.Deserialize<ClusterDto>(clusterJson, AdminJson.Options)!.Self;

        foreach (var verb in new[] { "leave", "down" })
        {
            var (exit, _, error) = await node.Run("cluster", verb, "10.9.9.9:4053");
            Assert.Equal(CommandLine.Failed, exit);
            Assert.Contains("'10.9.9.9:4053' is not a member (members: " + self + ")", error, StringComparison.Ordinal);

            var (usage, _, usageError) = await node.Run("cluster", verb);
            Assert.Equal(CommandLine.Usage, usage);
            Assert.Contains("a node", usageError, StringComparison.Ordinal);
        }

        // Asking the node itself to leave, by host:port: accepted, and the member starts leaving.
        var address = new Uri(self.Replace("akka.tcp://provisioner@", "tcp://", StringComparison.Ordinal));
        var (leaveExit, leaveJson, leaveError) = await node.Run("cluster", "leave", $"{address.Host}:{address.Port}", "-o", "json");
        Assert.True(leaveExit == CommandLine.Ok, leaveError);
        Assert.Equal(new MembershipResultDto(self, "leaving"), JsonSerializer.Deserialize<MembershipResultDto>(leaveJson, AdminJson.Options));
    }

    [Fact]
    public async Task Node_show_and_node_gc_report_memory_and_the_new_machine_bound()
    {
        await using var node = await LiveNode.StartAsync("provisioner.machines.max-new-live = 1234");
        await node.Drive("52:54:00:bb:01:01", [new RequestBoot(T0, 0, false, "centos7")]);

        var (exit, json, error) = await node.Run("node", "gc", "-o", "json");
        Assert.Equal(CommandLine.Ok, exit);
        Assert.Equal(string.Empty, error);
        var after = JsonSerializer.Deserialize<NodeDto>(json, AdminJson.Options)!;
        Assert.True(after.Collected);
        Assert.Equal(1234, after.NewMachinesLimit);
        Assert.Equal(0, after.NewMachinesLive); // the one machine persisted, so it holds no slot
        Assert.True(after.GcHeapBytes > 0 && after.ResidentBytes > after.GcHeapBytes / 2, $"heap {after.GcHeapBytes}, RSS {after.ResidentBytes}");
        Assert.Equal(3, after.GcCollections.Count);
        Assert.True(after.GcPausedMs >= 0);
        // `node gc` ran a full blocking collection: it is the last of its kind, and the latest of all.
        var full = Assert.Single(after.LastGcs, g => g.Kind == "FullBlocking");
        Assert.Equal(2, full.Generation);
        Assert.Equal(after.LastGcs.Max(g => g.Index), full.Index);
        Assert.True(full.PausedMs > 0);

        var (showExit, table, _) = await node.Run("node", "show");
        Assert.Equal(CommandLine.Ok, showExit);
        Assert.Contains("Resident memory :", table);
        Assert.Contains("0 live of 1234 (machines.max-new-live)", table);
        Assert.Contains($"#{full.Index} FullBlocking gen2", table);
        // This node answers no DHCP: its machines record their boots themselves.
        Assert.Null(after.KnownMachines);
        Assert.Contains("First boots     : recorded by each machine's actor before its ACK", table);
    }
}
