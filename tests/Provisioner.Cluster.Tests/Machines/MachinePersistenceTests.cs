using Akka.Actor;
using Provisioner.Cluster.Machines;
using Provisioner.Cluster.ReadModel;
using Provisioner.Cluster.Tests.Support;
using Provisioner.Domain.Machines;
using static Provisioner.Domain.Machines.MachineCommands;

namespace Provisioner.Cluster.Tests.Machines;

public sealed class MachinePersistenceTests
{
    private const string Bios = "52:54:00:00:00:01";
    private const string Uefi = "52:54:00:00:00:02";
    private const string Untouched = "52:54:00:00:00:03";

    [Fact]
    public async Task Stopping_and_restarting_the_node_recovers_every_machines_state_and_history_from_sqlite()
    {
        using var data = new TempDirectory();
        var settings = TestNode.SettingsFor(data.Path);
        MachineState biosBefore, uefiBefore;
        MachineHistoryPage biosHistoryBefore, uefiHistoryBefore;

        await using (var node = await TestNode.StartAsync(settings, new ManualClock(MachineJourneys.T0)))
        {
            foreach (var command in MachineJourneys.BiosInstallAndReboot())
            {
                await node.Execute(Bios, command);
            }

            foreach (var command in MachineJourneys.UefiUntilKernel())
            {
                await node.Execute(Uefi, command);
            }

            biosBefore = (await node.Get(Bios)).State;
            uefiBefore = (await node.Get(Uefi)).State;
            Assert.Equal(MachineStage.Rebooted, biosBefore.Stage);
            Assert.Equal(MachineStage.KernelFetched, uefiBefore.Stage);
            biosHistoryBefore = await HistoryAsync(node, Bios);
            uefiHistoryBefore = await HistoryAsync(node, Uefi);
            Assert.Equal(
                [
                    typeof(MachineEvents.Discovered), typeof(MachineEvents.LeaseRecorded), typeof(MachineEvents.BootScriptServed),
                    typeof(MachineEvents.KernelFetched), typeof(MachineEvents.InitrdFetched), typeof(MachineEvents.KickstartFetched),
                    typeof(MachineEvents.Installed), typeof(MachineEvents.Rebooted),
                ],
                biosHistoryBefore.Events.Select(e => e.GetType()));
            Assert.Equal(Machine.Replay(Bios, biosHistoryBefore.Events), biosBefore);
            Assert.Equal(Machine.Replay(Uefi, uefiHistoryBefore.Events), uefiBefore);
        }

        Assert.True(File.Exists(Path.Combine(data.Path, "provisioner.db")));

        await using (var node = await TestNode.StartAsync(settings, new ManualClock(MachineJourneys.T0)))
        {
            Assert.Equal(biosBefore, (await node.Get(Bios)).State);
            Assert.Equal(uefiBefore, (await node.Get(Uefi)).State);
            Assert.Equal(biosHistoryBefore.Events, (await HistoryAsync(node, Bios)).Events);
            Assert.Equal(uefiHistoryBefore.Events, (await HistoryAsync(node, Uefi)).Events);
            Assert.False((await node.Get(Untouched)).Known);

            // Recovered state keeps deciding: the installed machine is still sent to its disk, never reinstalled.
            var again = await node.Execute(Bios, new RequestBoot(MachineJourneys.T0.AddHours(1), 0, true, "centos7"));
            Assert.Equal(BootAction.LocalDisk, again.Boot);
            Assert.Equal(DecisionOutcome.Unchanged, again.Outcome);
        }
    }

    [Fact]
    public async Task Recovery_from_a_snapshot_plus_later_events_gives_the_same_state()
    {
        using var data = new TempDirectory();
        var settings = TestNode.SettingsFor(data.Path, "provisioner.machines.snapshot-every = 3");
        MachineState before;

        await using (var node = await TestNode.StartAsync(settings, new ManualClock(MachineJourneys.T0)))
        {
            foreach (var command in MachineJourneys.BiosInstallAndReboot())
            {
                await node.Execute(Bios, command);
            }

            before = (await node.Get(Bios)).State;
            // Snapshots are written asynchronously after the reply; give the store a moment.
            await WaitForSnapshotAsync(data.Path);
        }

        await using (var node = await TestNode.StartAsync(settings, new ManualClock(MachineJourneys.T0)))
        {
            Assert.Equal(before, (await node.Get(Bios)).State);
        }
    }

    [Fact]
    public async Task Every_command_is_answered_only_after_its_events_are_persisted()
    {
        using var data = new TempDirectory();
        var settings = TestNode.SettingsFor(data.Path);
        await using var node = await TestNode.StartAsync(settings, new ManualClock(MachineJourneys.T0));

        var first = await node.Execute(Bios, new RequestBoot(MachineJourneys.T0, 0, true, "centos7"));
        Assert.Equal(DecisionOutcome.Accepted, first.Outcome);
        Assert.Equal(BootAction.BootScript, first.Boot);
        Assert.Equal(1, CountJournalRows(data.Path, "machine-" + Bios));

        var retransmission = await node.Execute(Bios, new RequestBoot(MachineJourneys.T0.AddSeconds(2), 0, true, "centos7"));
        Assert.Equal(DecisionOutcome.Unchanged, retransmission.Outcome);
        Assert.Equal(BootAction.BootScript, retransmission.Boot);
        Assert.Equal(1, CountJournalRows(data.Path, "machine-" + Bios));

        var rejected = await node.Execute(Untouched, new ReportKernelFetched(MachineJourneys.T0, "/vmlinuz"));
        Assert.Equal(DecisionOutcome.Rejected, rejected.Outcome);
        Assert.NotNull(rejected.Reason);
        Assert.Equal(0, CountJournalRows(data.Path, "machine-" + Untouched));
    }

    [Fact]
    public async Task A_missed_stage_deadline_is_recorded_by_the_actors_own_timer()
    {
        using var data = new TempDirectory();
        var settings = TestNode.SettingsFor(data.Path, "provisioner.machines.deadlines.discovered = 1s");
        await using var node = await TestNode.StartAsync(settings);

        await node.Execute(Uefi, new RequestBoot(DateTimeOffset.UtcNow, 7, false, "centos7"));

        var deadline = DateTime.UtcNow + TestNode.Timeout;
        MachineProtocol.MachineResult machine;
        do
        {
            await Task.Delay(200);
            machine = await node.Get(Uefi);
        }
        while (!machine.State.StageTimedOut && DateTime.UtcNow < deadline);

        Assert.True(machine.State.StageTimedOut);
        var history = await MachineHistory.ReadAsync(node.System, Uefi, machine.Version);
        var timedOut = Assert.IsType<MachineEvents.StageTimedOut>(history.Events[^1]);
        Assert.Equal(MachineStage.Discovered, timedOut.Stage);
    }

    [Fact]
    public async Task After_a_restart_machines_that_were_mid_install_get_their_deadlines_checked_without_anyone_asking()
    {
        using var data = new TempDirectory();
        var settings = TestNode.SettingsFor(data.Path);
        var clock = new ManualClock(MachineJourneys.T0);
        await using (var node = await TestNode.StartAsync(settings, clock))
        {
            foreach (var command in MachineJourneys.UefiUntilKernel())
            {
                await node.Execute(Uefi, command);
            }

            foreach (var command in MachineJourneys.BiosInstallAndReboot())
            {
                await node.Execute(Bios, command);
            }
        }

        // The node comes back long after the kernel stage's deadline; nobody touches the machines.
        clock.Advance(TimeSpan.FromHours(1));
        await using (var node = await TestNode.StartAsync(settings, clock))
        {
            var now = clock.GetUtcNow();
            var list = await node.ListWhenAsync(l => l.Machines.Any(m => m.MachineId == Uefi && m.LastChangedAt == now));
            Assert.Equal(MachineStage.KernelFetched, list.Machines.Single(m => m.MachineId == Uefi).Stage);
            // The installed machine has no deadline: it is left asleep and unchanged.
            Assert.NotEqual(now, list.Machines.Single(m => m.MachineId == Bios).LastChangedAt);

            var timedOut = Assert.IsType<MachineEvents.StageTimedOut>((await HistoryAsync(node, Uefi)).Events[^1]);
            Assert.Equal(now, timedOut.At);
        }
    }

    [Fact]
    public async Task A_machines_snapshot_and_the_state_pushed_to_edges_are_the_same_size_after_a_thousand_events_as_after_ten()
    {
        using var data = new TempDirectory();
        var settings = TestNode.SettingsFor(data.Path, "provisioner.machines.snapshot-every = 10");
        await using var node = await TestNode.StartAsync(settings, new ManualClock(MachineJourneys.T0));
        var version = 0L;

        // A machine reprovisioned over and over: a PXE boot (Discovered), then Reprovisioned, each one event.
        async Task<(long Snapshot, long Pushed)> SizesAfterAsync(long events)
        {
            while (version < events)
            {
                var at = MachineJourneys.T0.AddSeconds(version);
                await node.Execute(Bios, new RequestBoot(at, 0, true, "centos7"));
                version = (await node.Execute(Bios, new Reprovision(at, "operator@example"))).Version;
            }

            Assert.Equal(events, version);
            var pushed = await node.Region.Ask<MachineProtocol.MachineChanged>(new MachineProtocol.WatchMachine(Bios), TestNode.Timeout);
            Assert.Equal(events, pushed.Version);
            var wire = node.System.Serialization.FindSerializerFor(pushed).ToBinary(pushed);
            return (await SnapshotSizeAsync(data.Path, "machine-" + Bios, events), wire.Length);
        }

        var ten = await SizesAfterAsync(10);
        var thousand = await SizesAfterAsync(1000);

        Assert.Equal(ten, thousand);
        Assert.Equal(1000, (await HistoryAsync(node, Bios)).Total);
    }

    /// <summary>The machine's events as the admin API reads them: from its journal, up to the version its actor reports.</summary>
    internal static async Task<MachineHistoryPage> HistoryAsync(TestNode node, string machineId) =>
        await MachineHistory.ReadAsync(node.System, machineId, (await node.Get(machineId)).Version);

    private static long CountJournalRows(string dataDirectory, string persistenceId)
    {
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(dataDirectory, "provisioner.db")}");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM journal WHERE persistence_id = $id";
        command.Parameters.AddWithValue("$id", persistenceId);
        return (long)command.ExecuteScalar()!;
    }

    /// <summary>The size of the snapshot the machine's actor writes at <paramref name="sequenceNr"/>, once written.</summary>
    private static async Task<long> SnapshotSizeAsync(string dataDirectory, string persistenceId, long sequenceNr)
    {
        var deadline = DateTime.UtcNow + TestNode.Timeout;
        while (DateTime.UtcNow < deadline)
        {
            using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(dataDirectory, "provisioner.db")}");
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT length(snapshot) FROM snapshot WHERE persistence_id = $id AND sequence_number = $seq";
            command.Parameters.AddWithValue("$id", persistenceId);
            command.Parameters.AddWithValue("$seq", sequenceNr);
            if (command.ExecuteScalar() is long size)
            {
                return size;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"no snapshot of {persistenceId} at {sequenceNr} was written");
    }

    private static async Task WaitForSnapshotAsync(string dataDirectory)
    {
        var deadline = DateTime.UtcNow + TestNode.Timeout;
        while (DateTime.UtcNow < deadline)
        {
            using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(dataDirectory, "provisioner.db")}");
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT COUNT(*) FROM snapshot";
            if ((long)command.ExecuteScalar()! > 0)
            {
                return;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException("no snapshot was written");
    }
}
