using Akka.Actor;
using Microsoft.Data.Sqlite;
using Provisioner.Cluster.Machines;
using Provisioner.Cluster.Persistence;
using Provisioner.Cluster.ReadModel;
using Provisioner.Cluster.Tests.Support;
using Provisioner.Domain.Machines;
using static Provisioner.Domain.Machines.MachineCommands;

namespace Provisioner.Cluster.Tests.Persistence;

public sealed class JournalPresenceTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);

    private static (JournalPresenceProbe Probe, string ConnectionString) SqliteProbe(string directory)
    {
        var connectionString = new SqliteConnectionStringBuilder { DataSource = Path.Combine(directory, "probe.db") }.ToString();
        using (var connection = new SqliteConnection(connectionString))
        {
            connection.Open();
            using var create = connection.CreateCommand();
            create.CommandText = """
                CREATE TABLE journal (persistence_id TEXT NOT NULL, sequence_number INTEGER NOT NULL);
                CREATE TABLE snapshot (persistence_id TEXT NOT NULL, sequence_number INTEGER NOT NULL);
                INSERT INTO journal VALUES ('machine-a', 1), ('machine-a', 2), ('subnet-x', 1);
                INSERT INTO snapshot VALUES ('machine-only-snapshot', 5);
                """;
            create.ExecuteNonQuery();
        }

        return (new JournalPresenceProbe(() => new SqliteConnection(connectionString), ["\"journal\"", "\"snapshot\""], ["\"persistence_id\"", "\"persistence_id\""]), connectionString);
    }

    [Fact]
    public async Task Ids_with_events_or_snapshots_have_rows_and_an_unwritten_id_has_none()
    {
        using var data = new TempDirectory();
        using var probe = SqliteProbe(data.Path).Probe;

        Assert.True(await probe.HasRowsAsync("machine-a"));
        Assert.True(await probe.HasRowsAsync("subnet-x"));
        Assert.True(await probe.HasRowsAsync("machine-only-snapshot"));
        Assert.False(await probe.HasRowsAsync("machine-new"));
        Assert.Equal(1, probe.Empty);
    }

    [Fact]
    public async Task Ids_asked_while_a_query_runs_share_the_next_query()
    {
        using var data = new TempDirectory();
        using var probe = SqliteProbe(data.Path).Probe;

        var ids = Enumerable.Range(0, 2_000).Select(i => $"machine-{i:x6}").Append("machine-a").ToArray();
        var answers = await Task.WhenAll(ids.Select(probe.HasRowsAsync));

        Assert.Equal(ids.Length, probe.Probes);
        Assert.Equal(ids.Length - 1, answers.Count(has => !has));
        Assert.True(answers[^1]);
        // At most MaxBatch ids per query: at least 4 queries for 2,001 ids, and far fewer than one per id.
        Assert.InRange(probe.Batches, (ids.Length + JournalPresenceProbe.MaxBatch - 1) / JournalPresenceProbe.MaxBatch, ids.Length / 10);
    }

    [Fact]
    public async Task A_query_that_fails_answers_maybe_so_recovery_takes_the_ordinary_path()
    {
        using var data = new TempDirectory();
        var connectionString = new SqliteConnectionStringBuilder { DataSource = Path.Combine(data.Path, "empty.db") }.ToString();
        using var probe = new JournalPresenceProbe(() => new SqliteConnection(connectionString), ["\"journal\""], ["\"persistence_id\""]);

        // No table yet (the journal creates it at its first start): "cannot tell" is true, never "new".
        Assert.True(await probe.HasRowsAsync("machine-new"));
        Assert.Equal(1, probe.Failures);
        Assert.Equal(0, probe.Empty);
    }

    [Fact]
    public void An_empty_answer_is_taken_once_and_voided_by_a_write()
    {
        using var data = new TempDirectory();
        using var probe = SqliteProbe(data.Path).Probe;

        probe.RememberEmpty("machine-b");
        Assert.True(probe.TakeKnownEmpty("machine-b"));
        Assert.False(probe.TakeKnownEmpty("machine-b"));

        probe.RememberEmpty("machine-c");
        probe.Writing("machine-c");
        Assert.False(probe.TakeKnownEmpty("machine-c"));
    }

    [Fact]
    public async Task New_machines_recover_from_one_batched_query_and_written_ones_from_their_events_after_a_restart()
    {
        using var data = new TempDirectory();
        var settings = TestNode.SettingsFor(data.Path);
        var macs = Enumerable.Range(1, 300).Select(i => $"52:54:00:aa:{i / 256:x2}:{i % 256:x2}").ToArray();

        await using (var node = await TestNode.StartAsync(settings, new ManualClock(T0)))
        {
            var probe = JournalPresence.Get(node.System).Probe;
            Assert.NotNull(probe);
            var before = (probe.Empty, probe.Batches);

            // DISCOVERs from 300 never-seen machines at once: each actor recovers from the probe alone.
            var previews = await Task.WhenAll(macs.Select(mac =>
                node.Region.Ask<MachineProtocol.CommandResult>(new MachineProtocol.PreviewBoot(mac, new RequestBoot(T0, 0, false, "centos7")), TestNode.Timeout)));
            Assert.All(previews, p => Assert.Equal((BootAction.Nbp, MachineStage.New, 0L), (p.Boot, p.Stage, p.Version)));
            Assert.True(probe.Empty - before.Empty >= macs.Length, $"{probe.Empty - before.Empty} of {macs.Length} recoveries answered by the probe");
            // Batches form under load (Ids_asked_while_a_query_runs_share_the_next_query); here at most one small query each.
            Assert.InRange(probe.Batches - before.Batches, 1, macs.Length);

            // REQUESTs: boot and lease recorded in one decision, durable before the answer.
            var acks = await Task.WhenAll(macs.Select((mac, i) => node.Execute(mac, new RequestBoot(T0.AddSeconds(1), 0, false, "centos7", $"10.0.{i / 250}.{(i % 250) + 1}", "lab"))));
            Assert.All(acks, a => Assert.Equal((DecisionOutcome.Accepted, BootAction.Nbp, 2L), (a.Outcome, a.Boot, a.Version)));
        }

        await using (var node = await TestNode.StartAsync(settings, new ManualClock(T0)))
        {
            foreach (var (mac, i) in macs.Select((m, i) => (m, i)))
            {
                var machine = await node.Get(mac);
                Assert.Equal(MachineStage.Discovered, machine.State.Stage);
                Assert.Equal($"10.0.{i / 250}.{(i % 250) + 1}", machine.State.Address);
                var history = await MachineHistory.ReadAsync(node.System, mac, machine.Version);
                Assert.Equal([typeof(MachineEvents.Discovered), typeof(MachineEvents.LeaseRecorded)], history.Events.Select(e => e.GetType()));
            }
        }
    }
}
