using System.Diagnostics;
using Akka.Actor;
using Akka.Persistence;
using Akka.Persistence.Journal;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using Provisioner.Cluster.Hosting;
using Provisioner.Cluster.Tests.Support;

namespace Provisioner.Cluster.Tests.Hosting;

/// <summary>
/// Journal settings the benchmarks found (STACK.md P3): on SQLite every read, the query side's included, is a deferred
/// transaction; tags live in the journal row.
/// </summary>
public sealed class JournalSettingsTests
{
    [Theory]
    [InlineData("akka.persistence.journal.sql.read-isolation-level")]
    [InlineData("akka.persistence.snapshot-store.sql.read-isolation-level")]
    [InlineData("akka.persistence.query.journal.sql.read-isolation-level")]
    public async Task Reads_never_take_the_write_lock(string key)
    {
        // "unspecified" begins IMMEDIATE in Microsoft.Data.Sqlite: the read model's poll then stalled journal writes.
        using var data = new TempDirectory();
        await using var node = await TestNode.StartAsync(TestNode.SettingsFor(data.Path));

        Assert.Equal("read-uncommitted", node.System.Settings.Config.GetString(key));
    }

    [Fact]
    public async Task Tags_are_written_in_the_journal_row_and_read_from_it()
    {
        // A tag table is written row by row: with it, new PXE machines were acknowledged 5x slower (memory.sh).
        using var data = new TempDirectory();
        await using var node = await TestNode.StartAsync(TestNode.SettingsFor(data.Path));

        Assert.Equal("Csv", node.System.Settings.Config.GetString("akka.persistence.journal.sql.tag-write-mode"));
        Assert.Equal("Csv", node.System.Settings.Config.GetString("akka.persistence.query.journal.sql.tag-read-mode"));
    }

    [Fact]
    public async Task One_sqlite_node_replays_without_a_filter_actor_per_recovery()
    {
        // The only writer there is: no split brain to repair, and no child actor per recovering machine.
        using var data = new TempDirectory();
        await using var node = await TestNode.StartAsync(TestNode.SettingsFor(data.Path));

        Assert.Equal("off", node.System.Settings.Config.GetString("akka.persistence.journal.sql.replay-filter.mode"));
    }

    [Fact]
    public async Task Rows_are_written_as_parameters_and_a_batch_past_the_parameter_limit_reads_back_whole()
    {
        // Parameters, not SQL text with hex payloads: 5 % less CPU per new PXE machine. SQLite's statements take at most
        // 999 parameters in linq2db's reckoning (about 100 rows): 400 events in one atomic write must still all land, in order.
        using var data = new TempDirectory();
        await using (var node = await TestNode.StartAsync(TestNode.SettingsFor(data.Path)))
        {
            Assert.True(node.System.Settings.Config.GetBoolean("akka.persistence.journal.sql.prefer-parameters-on-multirow-insert"));
            var writer = node.System.ActorOf(Props.Create(() => new Batch("batch-test", 400)));
            Assert.Equal(400L, await writer.Ask<long>(Batch.Write, TestNode.Timeout));
        }

        await using (var node = await TestNode.StartAsync(TestNode.SettingsFor(data.Path)))
        {
            var reader = node.System.ActorOf(Props.Create(() => new Batch("batch-test", 0)));
            var read = await reader.Ask<string[]>(Batch.Read, TestNode.Timeout);
            Assert.Equal(Enumerable.Range(0, 400).Select(Batch.Payload), read);
        }
    }

    [Fact]
    public async Task The_live_tag_query_steps_over_deleted_rows_within_seconds()
    {
        // Our writer is the only one and commits in order, so a missing ordering is a deleted row (the DHCP warm-up
        // deletes its scratch subnet's events at every start), never one still being written. With Akka's default
        // (10 tries, a second apart) the query side re-read everything after such a gap for 10 s, and the read model
        // waited that long for the first machines of a node that had just started.
        using var data = new TempDirectory();
        await using (var first = await TestNode.StartAsync(TestNode.SettingsFor(data.Path)))
        {
            Assert.Equal(1, first.System.Settings.Config.GetInt("akka.persistence.query.journal.sql.journal-sequence-retrieval.max-tries"));
            var scratch = first.System.ActorOf(Props.Create(() => new Tagging("gap-scratch")));
            Assert.Equal(200L, await scratch.Ask<long>(200, TestNode.Timeout));
            Assert.Equal(200L, await scratch.Ask<long>(Tagging.DeleteAll, TestNode.Timeout));
        }

        // A node started afterwards reads the orderings from the start: the deleted ones are a gap before the new row.
        await using var node = await TestNode.StartAsync(TestNode.SettingsFor(data.Path));
        var journal = PersistenceQuery.Get(node.System).ReadJournalFor<SqlReadJournal>(ProvisionerAkka.SqlReadJournalId);
        var started = Stopwatch.StartNew();
        var seen = journal.EventsByTag(Tagging.Tag, Offset.NoOffset())
            .Where(e => e.PersistenceId == "gap-after")
            .RunWith(Sink.First<EventEnvelope>(), node.System.Materializer());
        var after = node.System.ActorOf(Props.Create(() => new Tagging("gap-after")));
        Assert.Equal(1L, await after.Ask<long>(1, TestNode.Timeout));

        await seen.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(6), $"the live query saw the row after the gap only after {started.Elapsed.TotalSeconds:0.0} s");
    }

    /// <summary>Persists N tagged events when asked N, or deletes every event it has; answers its highest sequence number.</summary>
    private sealed class Tagging(string persistenceId) : UntypedPersistentActor
    {
        public const string Tag = "gap-test";
        public const string DeleteAll = "delete";
        private IActorRef _asker = ActorRefs.Nobody;

        public override string PersistenceId { get; } = persistenceId;

        protected override void OnRecover(object message)
        {
        }

        protected override void OnCommand(object message)
        {
            switch (message)
            {
                case int count:
                    var asker = Sender;
                    var target = LastSequenceNr + count;
                    PersistAll(Enumerable.Range(0, count).Select(i => new Tagged($"event {i}", [Tag])), _ =>
                    {
                        if (LastSequenceNr == target)
                        {
                            asker.Tell(LastSequenceNr);
                        }
                    });
                    break;
                case DeleteAll:
                    _asker = Sender;
                    DeleteMessages(LastSequenceNr);
                    break;
                case DeleteMessagesSuccess s:
                    _asker.Tell(s.ToSequenceNr);
                    break;
                case DeleteMessagesFailure f:
                    _asker.Tell(new Status.Failure(f.Cause));
                    break;
            }
        }
    }

    /// <summary>Persists <c>count</c> binary-ish string events in one <c>PersistAll</c>, or reports what it recovered.</summary>
    private sealed class Batch : UntypedPersistentActor
    {
        public const string Write = "write";
        public const string Read = "read";
        private readonly int _count;
        private readonly List<string> _recovered = [];

        public Batch(string persistenceId, int count)
        {
            PersistenceId = persistenceId;
            _count = count;
        }

        public override string PersistenceId { get; }

        public static string Payload(int i) => $"event {i}: " + new string((char)('\u0100' + (i % 200)), 1 + (i % 300));

        protected override void OnRecover(object message)
        {
            if (message is string e)
            {
                _recovered.Add(e);
            }
        }

        protected override void OnCommand(object message)
        {
            switch (message)
            {
                case Write:
                    var asker = Sender;
                    PersistAll(Enumerable.Range(0, _count).Select(Payload), _ =>
                    {
                        if (LastSequenceNr == _count)
                        {
                            asker.Tell(LastSequenceNr);
                        }
                    });
                    break;
                case Read:
                    Sender.Tell(_recovered.ToArray());
                    break;
            }
        }
    }
}
