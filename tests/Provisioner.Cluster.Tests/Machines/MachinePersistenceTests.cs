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
        }

        Assert.True(File.Exists(Path.Combine(data.Path, "provisioner.db")));

        await using (var node = await TestNode.StartAsync(settings, new ManualClock(MachineJourneys.T0)))
        {
            var bios = (await node.Get(Bios)).State;
            var uefi = (await node.Get(Uefi)).State;
            AssertSameMachine(biosBefore, bios);
            AssertSameMachine(uefiBefore, uefi);
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
            AssertSameMachine(before, (await node.Get(Bios)).State);
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
        MachineState state;
        do
        {
            await Task.Delay(200);
            state = (await node.Get(Uefi)).State;
        }
        while (!state.StageTimedOut && DateTime.UtcNow < deadline);

        Assert.True(state.StageTimedOut);
        var timedOut = Assert.IsType<MachineEvents.StageTimedOut>(state.History[^1]);
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

            var uefi = (await node.Get(Uefi)).State;
            var timedOut = Assert.IsType<MachineEvents.StageTimedOut>(uefi.History[^1]);
            Assert.Equal(now, timedOut.At);
        }
    }

    internal static void AssertSameMachine(MachineState expected, MachineState actual)
    {
        Assert.Equal(expected with { History = [] }, actual with { History = [] });
        Assert.Equal(expected.History, actual.History);
    }

    private static long CountJournalRows(string dataDirectory, string persistenceId)
    {
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(dataDirectory, "provisioner.db")}");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM journal WHERE persistence_id = $id";
        command.Parameters.AddWithValue("$id", persistenceId);
        return (long)command.ExecuteScalar()!;
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
