using Akka.Actor;
using Microsoft.Data.Sqlite;
using Provisioner.Cluster.Leases;
using Provisioner.Cluster.Machines;
using Provisioner.Cluster.Tests.Support;
using Provisioner.Domain.Leases;
using Provisioner.Domain.Machines;
using Xunit.Abstractions;
using static Provisioner.Cluster.Leases.SubnetLeaseProtocol;

namespace Provisioner.Cluster.Tests.Leases;

/// <summary>
/// First boots that ride on the lease (<see cref="RequestFirstBoot"/>): the ACK waits for the subnet's write only, and
/// the subnet's <see cref="FirstBootRecorder"/> has each machine record Discovered and LeaseRecorded afterwards, also
/// after a restart. Tests that must control the hand-over run the subnet's actor outside sharding with
/// <see cref="FirstBootSettings.Concurrency"/> 0 (the node's region takes its settings from config, where there is no
/// key for it); the restarted node then recovers the same persistence id through its ordinary region.
/// </summary>
public sealed class FirstBootTests(ITestOutputHelper output)
{
    private static readonly DateTimeOffset T0 = LeaseNode.T0;

    /// <summary>Nothing handed over on its own: only a flush or a restart with other settings records a first boot.</summary>
    private static readonly SubnetLeaseSettings NoHandOver = SubnetLeaseSettings.Default with
    {
        FirstBoots = new FirstBootSettings(Concurrency: 0, Timeout: TimeSpan.FromSeconds(10), RetryAfter: TimeSpan.FromSeconds(2)),
    };

    private static string Address(int i) => $"10.0.0.{20 + i}";

    private static RequestFirstBoot FirstBoot(int i, int architecture = 7, bool ipxe = false, string? profile = "centos7") =>
        new("lab", LeaseNode.Mac(i), Address(i), T0, architecture, ipxe, profile);

    /// <summary>
    /// The "lab" subnet's lease actor started by hand (not through the region) with <paramref name="settings"/> and the
    /// definition from configuration: on a node started without declaring, so that no region entity writes the same journal.
    /// </summary>
    private static IActorRef StartLab(LeaseNode node, SubnetLeaseSettings settings)
    {
        var lab = SubnetConfig.ListFromConfig(node.Node.Settings.Hocon).Single(s => s.Id == "lab");
        return node.Node.System.ActorOf(Props.Create(() => new SubnetLeaseActor("lab", lab, settings)), "lab-by-hand");
    }

    private static Task<LeaseResult> Ask(IActorRef subnet, RequestFirstBoot request) =>
        subnet.Ask<LeaseResult>(request, TestNode.Timeout);

    private static Task<Awake> Wake(IActorRef subnet) =>
        subnet.Ask<Awake>(new SubnetLeaseProtocol.Wake("lab"), TestNode.Timeout);

    private static Task<FirstBootFlushed> Flush(IActorRef subnet, string mac) =>
        subnet.Ask<FirstBootFlushed>(new FlushFirstBoot("lab", mac), TestNode.Timeout);

    private static Task<MachineProtocol.MachineResult> Recorded(TestNode node, string mac) =>
        Eventually.Until(() => node.Get(mac), m => m.Version >= 2, $"machine {mac} records its first boot");

    private static void AssertFirstBootRecorded(MachineProtocol.MachineResult machine, RequestFirstBoot boot)
    {
        Assert.Equal(2, machine.Version);
        var s = machine.State;
        Assert.Equal(
            (MachineStage.Discovered, boot.Address, "lab", boot.Profile, boot.Architecture, boot.FirmwareIsIpxe, (DateTimeOffset?)boot.At, 1),
            (s.Stage, s.Address, s.Subnet, s.Profile, s.Architecture, s.FirmwareIsIpxe, s.FirstSeenAt, s.Attempt));
    }

    [Fact]
    public async Task Acked_first_boot_is_recorded_by_its_machine_as_discovered_with_that_lease_and_leaves_nothing_pending()
    {
        using var data = new TempDirectory();
        await using var node = await LeaseNode.StartAsync(data.Path);
        var boot = FirstBoot(1, architecture: 7, ipxe: true, profile: "rocky9");

        var ack = await node.Ask(boot);

        Assert.Equal((LeaseOutcome.Acked, boot.Address), (ack.Outcome, ack.Address));
        Assert.Contains((await node.List("lab")).Leases, l => l.Mac == boot.Mac && l.Address == boot.Address);
        AssertFirstBootRecorded(await Recorded(node.Node, boot.Mac), boot);
        await Eventually.Until(() => Wake(node.Region), a => a.PendingFirstBoots == 0, "nothing pending once recorded");
        var machine = await node.Node.Get(boot.Mac);
        Assert.Equal(2, machine.Version);
        Assert.Equal(
            [typeof(MachineEvents.Discovered), typeof(MachineEvents.LeaseRecorded)],
            (await Provisioner.Cluster.ReadModel.MachineHistory.ReadAsync(node.Node.System, boot.Mac, machine.Version)).Events.Select(e => e.GetType()));
    }

    [Fact]
    public async Task While_the_subnet_is_still_granting_its_first_boots_are_recorded_one_at_a_time_and_all_of_them()
    {
        using var data = new TempDirectory();
        await using var node = await LeaseNode.StartAsync(data.Path, declare: false);
        // The subnet never counts as quiet again within the test: only the while-granting lane records.
        var lab = StartLab(node, SubnetLeaseSettings.Default with
        {
            FirstBoots = FirstBootSettings.Default with { ConcurrencyWhileGranting = 1, QuietAfter = TimeSpan.FromHours(1) },
        });
        var boots = Enumerable.Range(1, 12).Select(i => FirstBoot(i)).ToArray();

        var acks = await Task.WhenAll(boots.Select(b => Ask(lab, b)));

        Assert.All(acks, a => Assert.Equal(LeaseOutcome.Acked, a.Outcome));
        foreach (var boot in boots)
        {
            AssertFirstBootRecorded(await Recorded(node.Node, boot.Mac), boot);
        }

        await Eventually.Until(() => Wake(lab), a => a.PendingFirstBoots == 0, "nothing pending once every machine recorded");
    }

    [Theory]
    [InlineData("first-boot-recorders")]
    [InlineData("first-boot-recorders-while-granting")]
    [InlineData("lease-snapshot-every")]
    public async Task A_lease_tuning_key_below_1_stops_the_node_naming_the_key(string key)
    {
        using var data = new TempDirectory();

        var error = await Assert.ThrowsAnyAsync<Exception>(async () => await (await LeaseNode.StartAsync(data.Path, $"provisioner.edge.dhcp.{key} = 0")).DisposeAsync());

        Assert.Contains($"provisioner.edge.dhcp.{key}: 0 is not at least 1", error.ToString());
    }

    [Fact]
    public async Task Nakked_first_boot_leaves_nothing_pending_for_its_machine()
    {
        using var data = new TempDirectory();
        await using var node = await LeaseNode.StartAsync(data.Path, declare: false);
        var lab = StartLab(node, NoHandOver);
        Assert.Equal(LeaseOutcome.Acked, (await Ask(lab, FirstBoot(1))).Outcome);

        // Machine 2 asks for machine 1's address.
        var nak = await Ask(lab, FirstBoot(2) with { Address = Address(1) });

        Assert.Equal(LeaseOutcome.Nakked, nak.Outcome);
        Assert.Equal(1, (await Wake(lab)).PendingFirstBoots);
        Assert.False((await Flush(lab, LeaseNode.Mac(2))).Recorded);
    }

    [Fact]
    public async Task With_no_hand_over_a_first_boot_stays_pending_until_a_flush_which_answers_once_the_machine_recorded_it()
    {
        using var data = new TempDirectory();
        await using var node = await LeaseNode.StartAsync(data.Path, declare: false);
        var lab = StartLab(node, NoHandOver);
        var waiting = FirstBoot(1);
        var flushed = FirstBoot(2, architecture: 0, ipxe: true, profile: null);

        Assert.Equal(LeaseOutcome.Acked, (await Ask(lab, waiting)).Outcome);
        Assert.Equal(LeaseOutcome.Acked, (await Ask(lab, flushed)).Outcome);
        var awake = await Wake(lab);
        Assert.Equal((2, 2), (awake.Leases, awake.PendingFirstBoots));

        var first = await Flush(lab, flushed.Mac);

        // Answered only once the machine's write was durable: read right after, it is Discovered with its lease.
        Assert.Equal((true, (string?)null), (first.Recorded, first.Reason));
        AssertFirstBootRecorded(await node.Node.Get(flushed.Mac), flushed);
        // Nothing was handed over on its own: the boot the recorder got first (before the flush) is still not recorded.
        Assert.Equal(0, (await node.Node.Get(waiting.Mac)).Version);
        Assert.Equal(1, (await Wake(lab)).PendingFirstBoots);

        var second = await Flush(lab, flushed.Mac);

        Assert.Equal((false, (string?)null), (second.Recorded, second.Reason));
        Assert.Equal(2, (await node.Node.Get(flushed.Mac)).Version);
    }

    [Fact]
    public async Task First_boots_pending_when_the_node_stops_are_recorded_by_their_machines_once_the_restarted_node_wakes_the_subnet()
    {
        using var data = new TempDirectory();
        var boots = Enumerable.Range(1, 5).Select(i => FirstBoot(i, architecture: i % 2 == 0 ? 7 : 0, ipxe: i % 3 == 0)).ToArray();
        await using (var node = await LeaseNode.StartAsync(data.Path, declare: false))
        {
            var lab = StartLab(node, NoHandOver);
            foreach (var boot in boots)
            {
                Assert.Equal(LeaseOutcome.Acked, (await Ask(lab, boot)).Outcome);
            }

            Assert.Equal(boots.Length, (await Wake(lab)).PendingFirstBoots);
            Assert.All(await Task.WhenAll(boots.Select(b => node.Node.Get(b.Mac))), m => Assert.Equal(0, m.Version));
        }

        await using (var node = await LeaseNode.StartAsync(data.Path))
        {
            var awake = await Wake(node.Region);

            Assert.Equal(boots.Length, awake.Leases);
            foreach (var boot in boots)
            {
                AssertFirstBootRecorded(await Recorded(node.Node, boot.Mac), boot);
            }

            await Eventually.Until(() => Wake(node.Region), a => a.PendingFirstBoots == 0, "nothing pending once every machine recorded");
        }
    }

    [Fact]
    public async Task First_boots_pending_in_a_subnet_snapshot_are_recorded_after_a_restart()
    {
        using var data = new TempDirectory();
        // Snapshot as often as allowed: after A (1 event, 1 binding), not after B (1 < 2 bindings) nor C (2 < 3 bindings).
        // Each grant is one event: the lease and the first boot in one FirstBootLeaseGranted.
        var everyEvent = NoHandOver with { SnapshotEvery = 1 };
        var (a, b, c) = (FirstBoot(1), FirstBoot(2, ipxe: true), FirstBoot(3, architecture: 0));
        string sqlite;
        await using (var node = await LeaseNode.StartAsync(data.Path, declare: false))
        {
            sqlite = node.Node.Settings.SqlitePath;
            var lab = StartLab(node, everyEvent);
            Assert.Equal(LeaseOutcome.Acked, (await Ask(lab, a)).Outcome);
            await Eventually.Until(() => SnapshotsOf(sqlite, "subnet-lab"), s => s.Count == 1 && s[0].SequenceNr == 1, "a subnet snapshot after A's grant");
            Assert.Equal(LeaseOutcome.Acked, (await Ask(lab, b)).Outcome);
            Assert.Equal(LeaseOutcome.Acked, (await Ask(lab, c)).Outcome);
            Assert.Equal(3, (await Wake(lab)).PendingFirstBoots);
        }

        // A is pending only in the snapshot (its event is behind it); B and C only in events after it.
        var snapshot = Assert.Single(SnapshotsOf(sqlite, "subnet-lab"));
        Assert.Equal(1, snapshot.SequenceNr);
        Assert.Equal(3, HighestEventOf(sqlite, "subnet-lab"));

        await using (var node = await LeaseNode.StartAsync(data.Path))
        {
            var stored = Assert.IsType<SubnetSnapshot>(node.Node.System.Serialization.Deserialize(snapshot.Payload, snapshot.SerializerId, snapshot.Manifest));
            Assert.Equal([a.Mac], stored.PendingBoots.Select(p => p.Mac));
            Assert.Equal(3, (await Wake(node.Region)).Leases);
            foreach (var boot in new[] { a, b, c })
            {
                AssertFirstBootRecorded(await Recorded(node.Node, boot.Mac), boot);
            }
        }
    }

    [Fact]
    public async Task First_boots_recorded_before_a_restart_are_handed_over_again_after_it_and_change_nothing()
    {
        using var data = new TempDirectory();
        var boots = Enumerable.Range(1, 4).Select(i => FirstBoot(i)).ToArray();
        await using (var node = await LeaseNode.StartAsync(data.Path))
        {
            foreach (var boot in boots)
            {
                Assert.Equal(LeaseOutcome.Acked, (await node.Ask(boot)).Outcome);
            }

            foreach (var boot in boots)
            {
                AssertFirstBootRecorded(await Recorded(node.Node, boot.Mac), boot);
            }

            await Eventually.Until(() => Wake(node.Region), a => a.PendingFirstBoots == 0, "nothing pending once every machine recorded");
        }

        await using (var node = await LeaseNode.StartAsync(data.Path))
        {
            // "Recorded" is not persisted: every FirstBootGranted after the last snapshot is pending again after a recovery.
            var awake = await Wake(node.Region);
            output.WriteLine($"after the restart: {awake.PendingFirstBoots} of {boots.Length} first boots, all recorded before it, pending again");

            await Eventually.Until(() => Wake(node.Region), a => a.PendingFirstBoots == 0, "every repeated hand-over answered");
            foreach (var boot in boots)
            {
                AssertFirstBootRecorded(await node.Node.Get(boot.Mac), boot);
            }
        }
    }

    [Fact]
    public async Task Record_first_boot_changes_nothing_for_a_machine_that_already_has_events()
    {
        using var data = new TempDirectory();
        await using var node = await LeaseNode.StartAsync(data.Path);
        var mac = LeaseNode.Mac(1);
        await node.Node.Execute(mac, new MachineCommands.RequestBoot(T0, 7, false, "centos7", "10.0.0.99", "lab"));
        await node.Node.Execute(mac, new MachineCommands.ReportNbpServed(T0.AddSeconds(2), "ipxe.efi"));
        var before = await node.Node.Get(mac);
        Assert.Equal((MachineStage.NbpServed, 3L), (before.State.Stage, before.Version));

        var result = await node.Node.Region.Ask<MachineProtocol.CommandResult>(
            new MachineProtocol.RecordFirstBoot(mac, new MachineCommands.RequestBoot(T0.AddSeconds(3), 0, false, "rocky9", Address(1), "lab")),
            TestNode.Timeout);

        Assert.Equal((DecisionOutcome.Unchanged, MachineStage.NbpServed, 3L), (result.Outcome, result.Stage, result.Version));
        var after = await node.Node.Get(mac);
        Assert.Equal(before.State, after.State);
        Assert.Equal(3, after.Version);
    }

    [Fact]
    public async Task First_boot_flushed_to_a_machine_that_moved_on_counts_as_recorded_and_changes_nothing()
    {
        using var data = new TempDirectory();
        await using var node = await LeaseNode.StartAsync(data.Path, declare: false);
        var lab = StartLab(node, NoHandOver);
        var boot = FirstBoot(1);
        Assert.Equal(LeaseOutcome.Acked, (await Ask(lab, boot)).Outcome);
        // The machine got ahead of its subnet (recorded through its own actor meanwhile).
        await node.Node.Execute(boot.Mac, new MachineCommands.RequestBoot(T0, 7, false, "centos7", boot.Address, "lab"));
        await node.Node.Execute(boot.Mac, new MachineCommands.ReportNbpServed(T0.AddSeconds(2), "ipxe.efi"));
        var before = await node.Node.Get(boot.Mac);

        var flushed = await Flush(lab, boot.Mac);

        Assert.True(flushed.Recorded);
        Assert.Equal(0, (await Wake(lab)).PendingFirstBoots);
        var after = await node.Node.Get(boot.Mac);
        Assert.Equal((before.State, 3L), (after.State, after.Version));
    }

    [Fact]
    public async Task Record_first_boot_twice_records_it_once()
    {
        using var data = new TempDirectory();
        await using var node = await LeaseNode.StartAsync(data.Path);
        var mac = LeaseNode.Mac(1);
        var record = new MachineProtocol.RecordFirstBoot(mac, new MachineCommands.RequestBoot(T0, 7, false, "centos7", Address(1), "lab"));

        var first = await node.Node.Region.Ask<MachineProtocol.CommandResult>(record, TestNode.Timeout);
        var again = await node.Node.Region.Ask<MachineProtocol.CommandResult>(record, TestNode.Timeout);

        Assert.Equal((DecisionOutcome.Accepted, BootAction.Nbp, MachineStage.Discovered, 2L), (first.Outcome, first.Boot, first.Stage, first.Version));
        Assert.Equal((DecisionOutcome.Unchanged, MachineStage.Discovered, 2L), (again.Outcome, again.Stage, again.Version));
    }

    // A RequestFirstBoot whose lease decision needs no event (the MAC already holds that address and the REQUEST would
    // extend it by less than half a lease time, e.g. a non-PXE client of the same NIC leased it minutes ago under
    // non-pxe-clients = plain-dhcp) still makes its first boot durable and pending: DHCP answers it with a boot file, so
    // its TFTP/HTTP reports must find it Discovered.
    [Fact]
    public async Task First_boot_of_a_mac_that_already_holds_that_lease_is_still_pending_for_its_machine()
    {
        using var data = new TempDirectory();
        await using var node = await LeaseNode.StartAsync(data.Path, declare: false);
        var lab = StartLab(node, NoHandOver);
        var mac = LeaseNode.Mac(1);
        // The plain lease a non-booting DHCP client of this MAC got (no machine event).
        var plain = await lab.Ask<LeaseResult>(new Request("lab", mac, Address(1), false, T0), TestNode.Timeout);
        Assert.Equal(LeaseOutcome.Acked, plain.Outcome);

        var ack = await Ask(lab, FirstBoot(1) with { At = T0.AddMinutes(5) });

        Assert.Equal((LeaseOutcome.Acked, Address(1)), (ack.Outcome, ack.Address));
        Assert.Equal(1, (await Wake(lab)).PendingFirstBoots);
        Assert.True((await Flush(lab, mac)).Recorded);
        Assert.Equal(MachineStage.Discovered, (await node.Node.Get(mac)).State.Stage);
    }

    private static List<(long SequenceNr, byte[] Payload, int SerializerId, string Manifest)> SnapshotsOf(string sqlitePath, string persistenceId) =>
        Query(sqlitePath, "SELECT sequence_number, snapshot, serializer_id, manifest FROM snapshot WHERE persistence_id = @id ORDER BY sequence_number", persistenceId,
            r => (r.GetInt64(0), (byte[])r.GetValue(1), r.GetInt32(2), r.GetString(3)));

    private static long HighestEventOf(string sqlitePath, string persistenceId) =>
        Query(sqlitePath, "SELECT MAX(sequence_number) FROM journal WHERE persistence_id = @id", persistenceId, r => r.GetInt64(0)).Single();

    private static List<T> Query<T>(string sqlitePath, string sql, string persistenceId, Func<SqliteDataReader, T> row)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = sqlitePath, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("@id", persistenceId);
        using var reader = command.ExecuteReader();
        var rows = new List<T>();
        while (reader.Read())
        {
            rows.Add(row(reader));
        }

        return rows;
    }
}
