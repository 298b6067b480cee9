using System.Text.Json;
using Microsoft.Data.Sqlite;
using Provisioner.Cluster.Hosting;
using Provisioner.Cluster.Tests.Support;
using Provisioner.Domain.Machines;
using static Provisioner.Domain.Machines.MachineCommands;
using static Provisioner.Domain.Machines.MachineEvents;

namespace Provisioner.Cluster.Tests.Machines;

/// <summary>
/// A node upgraded from the version whose <see cref="MachineState"/> carried every event of the machine still recovers
/// the machines that version snapshotted. The rows in Fixtures/machine-state-snapshot-with-history.json were written by
/// that version's own SQLite snapshot store and journal (see the fixture's "source"), so these tests replay real bytes.
/// </summary>
public sealed class LegacySnapshotTests
{
    private const string Uefi = "52:54:00:00:00:02";

    /// <summary>The events the fixture's journal holds, in order (MachineJourneys.UefiUntilKernel on the manual clock).</summary>
    private static readonly IMachineEvent[] FixtureEvents =
    [
        new Discovered(MachineJourneys.T0, 7, false, "centos7", 1),
        new LeaseRecorded(MachineJourneys.T0, "10.0.0.11", "10.0.0.0/24"),
        new NbpServed(MachineJourneys.T0.AddSeconds(2), "ipxe.efi"),
        new BootScriptServed(MachineJourneys.T0.AddSeconds(5)),
        new KernelFetched(MachineJourneys.T0.AddSeconds(6), "/assets/vmlinuz"),
    ];

    [Fact]
    public async Task A_machine_recovers_from_a_snapshot_written_while_its_state_carried_its_history()
    {
        using var data = new TempDirectory();
        var settings = TestNode.SettingsFor(data.Path);
        // The snapshot row alone: whatever the machine knows after recovery can only have come from the old snapshot.
        await SeedAsync(data.Path, withJournal: false);

        await using var node = await TestNode.StartAsync(settings, new ManualClock(MachineJourneys.T0));
        var recovered = await node.Get(Uefi);

        var expected = Machine.Replay(Uefi, FixtureEvents);
        Assert.Equal(MachineStage.KernelFetched, expected.Stage);
        // Record equality compares the legacy History by reference: equal only if recovery dropped the snapshot's events.
        Assert.Equal(expected, recovered.State);
        Assert.Equal(5, recovered.Version);
        Assert.True(recovered.Known);
    }

    [Fact]
    public async Task The_fixture_is_a_snapshot_that_carries_the_machines_events()
    {
        using var system = Akka.Actor.ActorSystem.Create("legacy-snapshot", ProvisionerAkka.SerializationHocon);
        var snapshot = (await ReadFixtureAsync()).RootElement.GetProperty("snapshot");

        var state = Assert.IsType<MachineState>(system.Serialization.Deserialize(
            Convert.FromBase64String(snapshot.GetProperty("payload").GetString()!),
            snapshot.GetProperty("serializerId").GetInt32(),
            snapshot.GetProperty("manifest").GetString()));

        // What the tests above recover from is an old snapshot indeed: every field where the old version put it.
#pragma warning disable PV0001
        Assert.Equal(FixtureEvents, state.History);
#pragma warning restore PV0001
        Assert.Equal(Machine.Replay(Uefi, FixtureEvents), Machine.FromSnapshot(state));
        await system.Terminate();
    }

    [Fact]
    public async Task A_discovered_event_written_before_boot_paths_were_recorded_still_reads_as_a_plain_discovered()
    {
        using var system = Akka.Actor.ActorSystem.Create("legacy-discovered", ProvisionerAkka.SerializationHocon);
        var first = (await ReadFixtureAsync()).RootElement.GetProperty("journal").EnumerateArray().First(r => r.GetProperty("sequenceNumber").GetInt64() == 1);

        var discovered = system.Serialization.Deserialize(
            Convert.FromBase64String(first.GetProperty("message").GetString()!),
            first.GetProperty("identifier").GetInt32(),
            first.GetProperty("manifest").GetString());

        // The old bytes, read by this version: the same type and values, no path (DiscoveredOnPath is a new type).
        Assert.Equal(typeof(Discovered), discovered.GetType());
        Assert.Equal(FixtureEvents[0], discovered);
        Assert.Equal(Machine.Replay(Uefi, [FixtureEvents[0]]), Machine.Replay(Uefi, [(IMachineEvent)discovered]));
        await system.Terminate();
    }

    [Fact]
    public async Task A_machine_recovered_from_an_old_snapshot_keeps_deciding_and_recovers_again_from_its_next_snapshot()
    {
        using var data = new TempDirectory();
        var settings = TestNode.SettingsFor(data.Path, "provisioner.machines.snapshot-every = 2");
        await SeedAsync(data.Path, withJournal: true);
        MachineState after;

        await using (var node = await TestNode.StartAsync(settings, new ManualClock(MachineJourneys.T0)))
        {
            // The kernel was already recorded before the upgrade: a repeat changes nothing.
            var repeat = await node.Execute(Uefi, new ReportKernelFetched(MachineJourneys.T0.AddSeconds(7), "/assets/vmlinuz"));
            Assert.Equal(DecisionOutcome.Unchanged, repeat.Outcome);
            Assert.Equal(5, repeat.Version);

            var initrd = await node.Execute(Uefi, new ReportInitrdFetched(MachineJourneys.T0.AddSeconds(8), "/assets/initrd.img"));
            Assert.Equal(DecisionOutcome.Accepted, initrd.Outcome);
            Assert.Equal(6, initrd.Version);

            var kickstart = await node.Execute(Uefi, new ReportKickstartFetched(MachineJourneys.T0.AddSeconds(20)));
            Assert.Equal(DecisionOutcome.Accepted, kickstart.Outcome);
            Assert.Equal(MachineStage.KickstartFetched, kickstart.Stage);
            Assert.Equal(7, kickstart.Version);

            after = (await node.Get(Uefi)).State;
            IMachineEvent[] journal = [.. FixtureEvents, new InitrdFetched(MachineJourneys.T0.AddSeconds(8), "/assets/initrd.img"), new KickstartFetched(MachineJourneys.T0.AddSeconds(20))];
            Assert.Equal(Machine.Replay(Uefi, journal), after);
            // Its journey, the old version's events and the new one's, is read from the journal.
            var history = await MachinePersistenceTests.HistoryAsync(node, Uefi);
            Assert.Equal(journal, history.Events);
            Assert.Equal(7, history.Total);
            await WaitForSnapshotAsync(data.Path, atLeast: 6);
        }

        // Restarted, the machine recovers from the snapshot written after the upgrade.
        await using (var node = await TestNode.StartAsync(settings, new ManualClock(MachineJourneys.T0)))
        {
            Assert.Equal(after, (await node.Get(Uefi)).State);
            var installed = await node.Execute(Uefi, new ReportInstalled(MachineJourneys.T0.AddSeconds(60)));
            Assert.Equal(DecisionOutcome.Accepted, installed.Outcome);
            Assert.Equal(MachineStage.Installed, installed.Stage);
        }
    }

    /// <summary>Lays out the node's database as the old version did (its WAL switch included) and writes the fixture's rows into it.</summary>
    private static async Task SeedAsync(string dataDirectory, bool withJournal)
    {
        ProvisionerAkka.PrepareSqlite(Path.Combine(dataDirectory, "provisioner.db"));
        using var fixture = await ReadFixtureAsync();
        using var connection = new SqliteConnection($"Data Source={Path.Combine(dataDirectory, "provisioner.db")}");
        connection.Open();
        foreach (var statement in fixture.RootElement.GetProperty("schema").EnumerateArray())
        {
            using var create = connection.CreateCommand();
            create.CommandText = statement.GetString();
            create.ExecuteNonQuery();
        }

        var snapshot = fixture.RootElement.GetProperty("snapshot");
        using (var insert = connection.CreateCommand())
        {
            insert.CommandText = "INSERT INTO snapshot (persistence_id, sequence_number, created, snapshot, manifest, serializer_id) VALUES ($id, $seq, $created, $payload, $manifest, $serializer)";
            insert.Parameters.AddWithValue("$id", snapshot.GetProperty("persistenceId").GetString());
            insert.Parameters.AddWithValue("$seq", snapshot.GetProperty("sequenceNumber").GetInt64());
            insert.Parameters.AddWithValue("$created", snapshot.GetProperty("created").GetInt64());
            insert.Parameters.AddWithValue("$payload", Convert.FromBase64String(snapshot.GetProperty("payload").GetString()!));
            insert.Parameters.AddWithValue("$manifest", snapshot.GetProperty("manifest").GetString());
            insert.Parameters.AddWithValue("$serializer", snapshot.GetProperty("serializerId").GetInt32());
            Assert.Equal(1, insert.ExecuteNonQuery());
        }

        if (!withJournal)
        {
            return;
        }

        foreach (var row in fixture.RootElement.GetProperty("journal").EnumerateArray())
        {
            using var insert = connection.CreateCommand();
            insert.CommandText = """
                INSERT INTO journal (ordering, created, deleted, persistence_id, sequence_number, message, tags, manifest, identifier, writer_uuid)
                VALUES ($ordering, $created, 0, $id, $seq, $message, $tags, $manifest, $identifier, $writer)
                """;
            insert.Parameters.AddWithValue("$ordering", row.GetProperty("ordering").GetInt64());
            insert.Parameters.AddWithValue("$created", row.GetProperty("created").GetInt64());
            insert.Parameters.AddWithValue("$id", row.GetProperty("persistenceId").GetString());
            insert.Parameters.AddWithValue("$seq", row.GetProperty("sequenceNumber").GetInt64());
            insert.Parameters.AddWithValue("$message", Convert.FromBase64String(row.GetProperty("message").GetString()!));
            insert.Parameters.AddWithValue("$tags", row.GetProperty("tags").GetString());
            insert.Parameters.AddWithValue("$manifest", row.GetProperty("manifest").GetString());
            insert.Parameters.AddWithValue("$identifier", row.GetProperty("identifier").GetInt32());
            insert.Parameters.AddWithValue("$writer", row.GetProperty("writerUuid").GetString());
            Assert.Equal(1, insert.ExecuteNonQuery());
        }
    }

    private static async Task<JsonDocument> ReadFixtureAsync() =>
        JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "Fixtures", "machine-state-snapshot-with-history.json")));

    private static async Task WaitForSnapshotAsync(string dataDirectory, long atLeast)
    {
        var deadline = DateTime.UtcNow + TestNode.Timeout;
        while (DateTime.UtcNow < deadline)
        {
            using var connection = new SqliteConnection($"Data Source={Path.Combine(dataDirectory, "provisioner.db")}");
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT COUNT(*) FROM snapshot WHERE persistence_id = $id AND sequence_number >= $seq";
            command.Parameters.AddWithValue("$id", "machine-" + Uefi);
            command.Parameters.AddWithValue("$seq", atLeast);
            if ((long)command.ExecuteScalar()! > 0)
            {
                return;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"no snapshot at or after {atLeast} was written");
    }
}
