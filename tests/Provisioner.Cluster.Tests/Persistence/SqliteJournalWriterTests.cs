using System.Collections.Immutable;
using System.Diagnostics.Metrics;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Akka.Persistence.Sql;
using Akka.Persistence.Sql.Config;
using Akka.Serialization;
using Microsoft.Data.Sqlite;
using Provisioner.Cluster.Persistence;
using Provisioner.Cluster.ReadModel;
using Provisioner.Cluster.Tests.Support;
using Provisioner.Domain.Machines;
using static Provisioner.Domain.Machines.MachineCommands;

namespace Provisioner.Cluster.Tests.Persistence;

public sealed class SqliteJournalWriterTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 7, 12, 0, 0, TimeSpan.Zero);

    /// <summary>Two machines' journeys (tagged machine events), then a restart that recovers both.</summary>
    private static async Task<(List<string> Rows, string[] Stages)> JourneyRows(string data, bool direct)
    {
        var settings = TestNode.SettingsFor(data, $"akka.persistence.journal.sql.direct-sqlite-writes = {(direct ? "on" : "off")}");
        // A clock that stays before every stage deadline: no timer adds an event to one run and not the other.
        var clock = new ManualClock(T0.AddSeconds(61));
        await using (var node = await TestNode.StartAsync(settings, clock))
        {
            foreach (var command in new MachineCommand[]
            {
                new RequestBoot(T0, 0, true, "centos7"),
                new RecordLease(T0, "10.0.0.30", "10.0.0.0/24"),
                new ReportKernelFetched(T0.AddSeconds(3), "/assets/vmlinuz"),
                new ReportInstalled(T0.AddSeconds(60)),
            })
            {
                Assert.True((await node.Execute("52:54:00:dd:00:01", command)).Outcome == DecisionOutcome.Accepted);
            }

            Assert.True((await node.Execute("52:54:00:dd:00:02", new RequestBoot(T0, 7, false, "debian12"))).Outcome == DecisionOutcome.Accepted);

            // The switch is honoured: with it on, our writer committed the rows; with it off, there is none.
            var writer = JournalPresence.Get(node.System).Writer;
            if (direct)
            {
                Assert.NotNull(writer);
                Assert.True(writer.Rows >= 5, $"{writer.Rows} rows through the writer");
            }
            else
            {
                Assert.Null(writer);
            }
        }

        var rows = new List<string>();
        using (var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = settings.SqlitePath, Pooling = false }.ToString()))
        {
            connection.Open();
            using var read = connection.CreateCommand();
            read.CommandText = "SELECT deleted, persistence_id, sequence_number, hex(message), tags, manifest, identifier, typeof(created), typeof(tags), typeof(manifest), writer_uuid IS NOT NULL FROM journal ORDER BY ordering";
            using var reader = read.ExecuteReader();
            while (reader.Read())
            {
                rows.Add(string.Join('|', Enumerable.Range(0, reader.FieldCount).Select(i => reader.IsDBNull(i) ? "NULL" : reader.GetValue(i).ToString())));
            }
        }

        // Recovered by Akka's own read path from whichever writer wrote them.
        await using (var node = await TestNode.StartAsync(settings, clock))
        {
            var stages = new[] { (await node.Get("52:54:00:dd:00:01")).State.Stage.ToString(), (await node.Get("52:54:00:dd:00:02")).State.Stage.ToString() };
            var listed = await node.ListWhenAsync(l => l.Machines.Count >= 2);
            Assert.Equal(2, listed.Machines.Count);
            return (rows, stages);
        }
    }

    [Fact]
    public async Task Its_rows_are_the_rows_Akkas_writer_makes_and_Akka_recovers_and_tags_them()
    {
        using var direct = new TempDirectory();
        using var akka = new TempDirectory();

        var ours = await JourneyRows(direct.Path, direct: true);
        var theirs = await JourneyRows(akka.Path, direct: false);

        Assert.NotEmpty(ours.Rows);
        // Every column but ordering, the time and the writer's uuid: the same, value and SQLite type.
        Assert.Equal(theirs.Rows, ours.Rows);
        Assert.Contains(ours.Rows, r => r.Contains($"|;{MachineEventTagger.Tag};|", StringComparison.Ordinal));
        Assert.Equal(theirs.Stages, ours.Stages);
        Assert.Equal(["Installed", "Discovered"], ours.Stages);
    }

    private sealed record Probe(string Text);

    private sealed record Unserializable(string Text);

    /// <summary>A serializer that refuses <see cref="Unserializable"/>.</summary>
    public sealed class RefusingSerializer(ExtendedActorSystem system) : Serializer(system)
    {
        public override int Identifier => 987_654;

        public override bool IncludeManifest => false;

        public override byte[] ToBinary(object obj) => throw new InvalidOperationException("refused by the test's serializer");

        public override object FromBinary(byte[] bytes, Type type) => throw new NotSupportedException();
    }

    /// <summary>A journal table made by Akka.Persistence.Sql (a node started once) and a writer on it, outside any node.</summary>
    private sealed class Standalone : IAsyncDisposable
    {
        private readonly TempDirectory _data = new();

        public ActorSystem System { get; private set; } = null!;

        public string ConnectionString { get; private set; } = null!;

        public JournalConfig Config { get; private set; } = null!;

        public static async Task<Standalone> CreateAsync()
        {
            var standalone = new Standalone();
            var settings = TestNode.SettingsFor(standalone._data.Path);
            await using (var node = await TestNode.StartAsync(settings))
            {
                Assert.True((await node.Execute("52:54:00:dd:01:01", new RequestBoot(T0, 0, false, "centos7"))).Outcome == DecisionOutcome.Accepted);
            }

            standalone.ConnectionString = new SqliteConnectionStringBuilder { DataSource = settings.SqlitePath, DefaultTimeout = 30 }.ToString();
            standalone.System = ActorSystem.Create("writer-test", ConfigurationFactory.ParseString($$"""
                akka.actor.serializers.refusing = "{{typeof(RefusingSerializer).AssemblyQualifiedName}}"
                akka.actor.serialization-bindings { "{{typeof(Unserializable).AssemblyQualifiedName}}" = refusing }
                """));
            standalone.Config = new JournalConfig(ConfigurationFactory.ParseString($$"""
                connection-string = "{{standalone.ConnectionString}}"
                provider-name = "SQLite.MS"
                tag-write-mode = Csv
                """).WithFallback(SqlPersistence.DefaultJournalConfiguration));
            return standalone;
        }

        public long Count(string persistenceId)
        {
            using var connection = new SqliteConnection(ConnectionString);
            connection.Open();
            using var count = connection.CreateCommand();
            count.CommandText = "SELECT count(*) FROM journal WHERE persistence_id = $id";
            count.Parameters.AddWithValue("$id", persistenceId);
            return (long)count.ExecuteScalar()!;
        }

        public async ValueTask DisposeAsync()
        {
            await System.Terminate();
            SqliteConnection.ClearAllPools();
            _data.Dispose();
        }
    }

    /// <summary>The journal instruments' current values, by name.</summary>
    private static Dictionary<string, long> Published()
    {
        var values = new Dictionary<string, long>();
        using var meters = new MeterListener();
        meters.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == JournalMetrics.MeterName && instrument.Name.StartsWith("provisioner.journal.", StringComparison.Ordinal))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        meters.SetMeasurementEventCallback<long>((instrument, value, _, _) => values[instrument.Name] = value);
        meters.Start();
        meters.RecordObservableInstruments();
        return values;
    }

    private static AtomicWrite Write(string persistenceId, long sequenceNr, object payload) =>
        new(ImmutableList.Create<IPersistentRepresentation>(new Persistent(payload, sequenceNr, persistenceId, string.Empty, false, ActorRefs.NoSender, "test-writer")));

    private static async Task WaitUntil(Func<bool> done)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!done())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not reached within 10 s");
            await Task.Delay(10);
        }
    }

    [Fact]
    public void Only_a_Csv_SQLite_journal_outside_compatibility_mode_is_written_directly()
    {
        static JournalConfig Of(string hocon) => new(ConfigurationFactory.ParseString(hocon).WithFallback(SqlPersistence.DefaultJournalConfiguration));

        Assert.True(SqliteJournalWriter.Supports(Of("connection-string = \"Data Source=x.db\"\nprovider-name = \"SQLite.MS\"\ntag-write-mode = Csv")));
        Assert.False(SqliteJournalWriter.Supports(Of("connection-string = \"Data Source=x.db\"\nprovider-name = \"SQLite.MS\"\ntag-write-mode = TagTable")));
        Assert.False(SqliteJournalWriter.Supports(Of("connection-string = \"Host=h\"\nprovider-name = \"PostgreSQL.15\"\ntag-write-mode = Csv")));
        Assert.False(SqliteJournalWriter.Supports(Of("connection-string = \"Data Source=x.db\"\nprovider-name = \"SQLite.MS\"\ntag-write-mode = Csv\ntable-mapping = sqlite\ndelete-compatibility-mode = true")));
        Assert.False(SqliteJournalWriter.Supports(Of("connection-string = \"\"\nprovider-name = \"SQLite.MS\"\ntag-write-mode = Csv")));
    }

    [Fact]
    public async Task Writes_beyond_the_queue_bound_are_refused_at_once_and_those_queued_are_committed_when_the_database_frees()
    {
        await using var db = await Standalone.CreateAsync();
        using var writer = new SqliteJournalWriter((ExtendedActorSystem)db.System, db.Config, capacity: 2);

        // Another connection holds the write lock: the writer's first transaction waits for it.
        using var holder = new SqliteConnection(db.ConnectionString);
        holder.Open();
        using var hold = holder.BeginTransaction(deferred: false);

        var first = writer.WriteAsync([Write("bound", 1, new Probe("a"))]);
        await WaitUntil(() => writer.Queued == 0);
        var queued = new[] { writer.WriteAsync([Write("bound", 2, new Probe("b"))]), writer.WriteAsync([Write("bound", 3, new Probe("c"))]) };
        var refused = writer.WriteAsync([Write("bound", 4, new Probe("d"))]);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => refused);
        Assert.Contains("queue full (2 writes waiting)", error.Message, StringComparison.Ordinal);
        Assert.False(first.IsCompleted);
        Assert.Equal(1, writer.Refused);
        // Published: the refusal and the queue (other tests' writers may add to the sums, never take from them).
        var published = Published();
        Assert.True(published["provisioner.journal.writes.refused"] >= 1, string.Join(", ", published));
        Assert.True(published["provisioner.journal.writes.queued"] >= 2, string.Join(", ", published));

        hold.Rollback();
        foreach (var done in await Task.WhenAll(queued.Prepend(first)))
        {
            Assert.All(done, Assert.Null);
        }

        Assert.Equal(3, db.Count("bound"));
        Assert.Equal(3, writer.Rows);
        // The first waited alone; the two queued behind it went in together.
        Assert.Equal(2, writer.Transactions);
    }

    [Fact]
    public async Task A_failed_transaction_fails_every_write_in_it_and_the_next_one_is_written()
    {
        await using var db = await Standalone.CreateAsync();
        using var writer = new SqliteJournalWriter((ExtendedActorSystem)db.System, db.Config, capacity: 100);
        Assert.All(await writer.WriteAsync([Write("dup", 1, new Probe("a"))]), Assert.Null);

        // Held: the first write below waits alone for the lock, the two queued behind it share the next transaction,
        // and one of those repeats a sequence number.
        using var holder = new SqliteConnection(db.ConnectionString);
        holder.Open();
        var hold = holder.BeginTransaction(deferred: false);
        var innocent = writer.WriteAsync([Write("other", 1, new Probe("b"))]);
        await WaitUntil(() => writer.Queued == 0);
        var duplicate = writer.WriteAsync([Write("other", 2, new Probe("c"))]);
        var clash = writer.WriteAsync([Write("dup", 1, new Probe("again"))]);
        hold.Rollback();
        hold.Dispose();

        Assert.All(await innocent, Assert.Null);
        await Assert.ThrowsAsync<SqliteException>(() => duplicate);
        await Assert.ThrowsAsync<SqliteException>(() => clash);
        Assert.Equal(1, db.Count("dup"));
        Assert.Equal(1, db.Count("other"));

        // A new connection, and the journal goes on.
        Assert.All(await writer.WriteAsync([Write("other", 2, new Probe("c"))]), Assert.Null);
        Assert.Equal(2, db.Count("other"));
    }

    [Fact]
    public async Task A_payload_its_serializer_refuses_rejects_its_own_write_only()
    {
        await using var db = await Standalone.CreateAsync();
        using var writer = new SqliteJournalWriter((ExtendedActorSystem)db.System, db.Config, capacity: 100);

        var result = await writer.WriteAsync([Write("fine", 1, new Probe("a")), Write("bad", 1, new Unserializable("x")), Write("fine", 2, new Probe("b"))]);

        Assert.Null(result[0]);
        Assert.Contains("refused by the test's serializer", Assert.IsType<InvalidOperationException>(result[1]).Message, StringComparison.Ordinal);
        Assert.Null(result[2]);
        Assert.Equal(2, db.Count("fine"));
        Assert.Equal(0, db.Count("bad"));
    }
}
