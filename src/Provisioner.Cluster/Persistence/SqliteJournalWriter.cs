using System.Collections.Immutable;
using System.Threading.Channels;
using Akka.Actor;
using Akka.Persistence;
using Akka.Persistence.Journal;
using Akka.Persistence.Sql.Config;
using Akka.Serialization;
using Akka.Util;
using Microsoft.Data.Sqlite;

namespace Provisioner.Cluster.Persistence;

/// <summary>
/// The embedded node's journal writes, straight into Akka.Persistence.Sql's own <c>journal</c> table: the same rows its
/// writer makes (same columns, serializer, manifest, Csv tags, ticks, writer uuid), so its recovery, its queries and the
/// read model read them unchanged; only the way in is ours.
/// </summary>
/// <remarks>
/// <para>
/// Why: under a rollout on SQLite, a fifth of the node's CPU went to Akka.Persistence.Sql's write path, not to SQLite:
/// an Akka.Streams queue, linq2db building one multi-row INSERT per batch with ten named parameters per row, and
/// SQLite resolving each of those names by a linear scan over all of them (<c>sqlite3_bind_parameter_index</c>, quadratic
/// in the batch: <c>strncmp</c> alone was 6.6 % of the node at 6,000 DORA/s).
/// </para>
/// <para>
/// How: one connection and one prepared single-row INSERT, reused for every row. Writes queue here (bounded, like
/// Akka's <c>buffer-size</c>); one loop takes everything queued, up to <see cref="MaxRowsPerTransaction"/> rows, into one
/// transaction and one commit (one WAL sync), then completes each write. Durability is unchanged: a write completes only
/// after its commit, so a persist handler (an ACK) never runs before its row is durable. If a transaction fails, every
/// write in it fails, as with Akka's writer (the persistent actors stop and recover what is durable), and the next
/// transaction uses a new connection.
/// </para>
/// </remarks>
public sealed class SqliteJournalWriter : IDisposable
{
    /// <summary>Rows per transaction at most: bounds a commit's latency when the queue is long.</summary>
    public const int MaxRowsPerTransaction = 2000;

    private readonly string _connectionString;
    private readonly string _insert;
    /// <summary>The uuid every row carries; null when the table has no writer-uuid column.</summary>
    private readonly string? _writerUuid;
    private readonly string _tagSeparator;
    private readonly string? _defaultSerializer;
    private readonly ExtendedActorSystem _system;
    private readonly Channel<Pending> _queue;
    private readonly int _capacity;
    private readonly Task _loop;
    private int _queued;
    private long _transactions;
    private long _rows;
    private long _refused;

    private SqliteConnection? _connection;
    private SqliteCommand? _command;
    private SqliteParameter[] _parameters = [];

    /// <param name="capacity">Writes (an actor's batch each) queued at most; one more fails at once, as Akka's writer does when its buffer is full.</param>
    public SqliteJournalWriter(ExtendedActorSystem system, JournalConfig config, int capacity)
    {
        ArgumentNullException.ThrowIfNull(system);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _system = system;
        _connectionString = config.ConnectionString;
        _defaultSerializer = config.DefaultSerializer;
        _tagSeparator = config.PluginConfig.TagSeparator;
        var table = config.TableConfig.EventJournalTable;
        _writerUuid = table.UseWriterUuidColumn ? Guid.NewGuid().ToString("N") : null;
        _insert = InsertSql(config.TableConfig.SchemaName, table.Name, table.ColumnNames, _writerUuid is not null);
        _capacity = capacity;
        _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
        // A thread of its own: every commit blocks in SQLite (and in fsync) for its whole length. On the pool it held one
        // of the node's few workers (two on a 2-core node) through every commit, while the DHCP path waited for one.
        _loop = Task.Factory.StartNew(Run, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        JournalMetrics.Register(this);
    }

    /// <summary>
    /// The journals it writes for: SQLite, tags in a column (Csv), not in Akka.Persistence.Sql.Common's compatibility
    /// mode (that one keeps a metadata table this writer does not).
    /// </summary>
    public static bool Supports(JournalConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return config.ProviderName.StartsWith("SQLite", StringComparison.OrdinalIgnoreCase)
            && !string.IsNullOrEmpty(config.ConnectionString)
            && config.PluginConfig.TagMode == TagMode.Csv
            && !config.DaoConfig.SqlCommonCompatibilityMode;
    }

    /// <summary>Commits so far (one per batch of queued writes).</summary>
    public long Transactions => Interlocked.Read(ref _transactions);

    /// <summary>Writes waiting for the loop (not yet in a transaction).</summary>
    public int Queued => Volatile.Read(ref _queued);

    /// <summary>Writes refused because <see cref="Queued"/> was at its bound.</summary>
    public long Refused => Interlocked.Read(ref _refused);

    /// <summary>Rows committed so far.</summary>
    public long Rows => Interlocked.Read(ref _rows);

    /// <summary>
    /// Serializes <paramref name="writes"/> now (a write that cannot be serialized is rejected alone, as Akka's writer
    /// does) and completes when every other one is committed, with one entry per write: null, or why it was rejected.
    /// </summary>
    public Task<IImmutableList<Exception?>> WriteAsync(IReadOnlyList<AtomicWrite> writes)
    {
        ArgumentNullException.ThrowIfNull(writes);
        var ticks = DateTime.UtcNow.Ticks;
        var rows = new List<Row>(writes.Count);
        var rejections = new Exception?[writes.Count];
        for (var i = 0; i < writes.Count; i++)
        {
            var write = writes[i];
            if (write.Payload is not IImmutableList<IPersistentRepresentation> payloads)
            {
                rejections[i] = new ArgumentNullException(nameof(writes), $"{write.PersistenceId} received an empty payload for sequence numbers {write.LowestSequenceNr} - {write.HighestSequenceNr}");
                continue;
            }

            var first = rows.Count;
            try
            {
                foreach (var representation in payloads)
                {
                    rows.Add(Serialize(representation, ticks));
                }
            }
#pragma warning disable CA1031 // a payload its serializer refuses rejects that write alone, as in Akka's writer
            catch (Exception e)
#pragma warning restore CA1031
            {
                rows.RemoveRange(first, rows.Count - first);
                rejections[i] = e;
            }
        }

        var result = ImmutableList.Create(rejections);
        if (rows.Count == 0)
        {
            return Task.FromResult<IImmutableList<Exception?>>(result);
        }

        if (Interlocked.Increment(ref _queued) > _capacity)
        {
            Interlocked.Decrement(ref _queued);
            Interlocked.Increment(ref _refused);
            return Task.FromException<IImmutableList<Exception?>>(new InvalidOperationException($"journal write queue full ({_capacity} writes waiting); write refused"));
        }

        // Continuations run on the writer's thread when it completes the write: they are short (the journal's bookkeeping
        // and its replies to the persistent actors), and queued to the pool instead they waited behind everything on its
        // global queue (RESULTS.md, seventeenth session).
        var pending = new Pending(rows, result, new TaskCompletionSource<IImmutableList<Exception?>>());
        if (!_queue.Writer.TryWrite(pending))
        {
            Interlocked.Decrement(ref _queued);
            return Task.FromException<IImmutableList<Exception?>>(new InvalidOperationException("journal writer stopped; write refused"));
        }

        return pending.Done.Task;
    }

    private Row Serialize(IPersistentRepresentation representation, long ticks)
    {
        var payload = representation.Payload;
        var tags = string.Empty;
        if (payload is Tagged tagged)
        {
            payload = tagged.Payload;
            if (tagged.Tags.Count > 0)
            {
                tags = _tagSeparator + string.Join(_tagSeparator, tagged.Tags) + _tagSeparator;
            }
        }

        var serializer = _system.Serialization.FindSerializerForType(payload.GetType(), _defaultSerializer);
        var manifest = serializer switch
        {
            SerializerWithStringManifest withManifest => withManifest.Manifest(payload),
            { IncludeManifest: true } => payload.GetType().TypeQualifiedName(),
            _ => string.Empty,
        };
        var message = Akka.Serialization.Serialization.WithTransport(_system, (serializer, payload), static s => s.serializer.ToBinary(s.payload));
        return new Row(
            representation.Timestamp == 0 ? ticks : representation.Timestamp,
            representation.PersistenceId,
            representation.SequenceNr,
            message,
            tags,
            manifest,
            serializer.Identifier);
    }

    private void Run()
    {
        var batch = new List<Pending>();
        while (WaitForWrites())
        {
            batch.Clear();
            var rows = 0;
            while (rows < MaxRowsPerTransaction && _queue.Reader.TryRead(out var pending))
            {
                batch.Add(pending);
                rows += pending.Rows.Count;
            }

            Interlocked.Add(ref _queued, -batch.Count);
            try
            {
                Commit(batch);
                Interlocked.Increment(ref _transactions);
                Interlocked.Add(ref _rows, rows);
                foreach (var pending in batch)
                {
                    pending.Done.TrySetResult(pending.Rejections);
                }
            }
#pragma warning disable CA1031 // every write of a failed transaction fails; the loop goes on with a new connection
            catch (Exception e)
#pragma warning restore CA1031
            {
                Reset();
                foreach (var pending in batch)
                {
                    pending.Done.TrySetException(e);
                }
            }
        }

        Reset();
    }

    /// <summary>Blocks the writer's thread until a write is queued (true) or the queue is completed and empty (false).</summary>
    private bool WaitForWrites()
    {
        var wait = _queue.Reader.WaitToReadAsync();
        return wait.IsCompletedSuccessfully ? wait.Result : wait.AsTask().GetAwaiter().GetResult();
    }

    private void Commit(List<Pending> batch)
    {
        if (_connection is null)
        {
            _connection = new SqliteConnection(_connectionString);
            _connection.Open();
            _command = _connection.CreateCommand();
            _command.CommandText = _insert;
            _parameters =
            [
                _command.Parameters.Add("$created", SqliteType.Integer),
                _command.Parameters.Add("$pid", SqliteType.Text),
                _command.Parameters.Add("$seq", SqliteType.Integer),
                _command.Parameters.Add("$message", SqliteType.Blob),
                _command.Parameters.Add("$tags", SqliteType.Text),
                _command.Parameters.Add("$manifest", SqliteType.Text),
                _command.Parameters.Add("$identifier", SqliteType.Integer),
            ];
            if (_writerUuid is not null)
            {
                _command.Parameters.AddWithValue("$writer", _writerUuid);
            }
        }

        // IMMEDIATE: the write lock is taken at BEGIN, so a busy database waits here, never halfway through the batch.
        using var transaction = _connection.BeginTransaction(deferred: false);
        _command!.Transaction = transaction;
        foreach (var pending in batch)
        {
            foreach (var row in pending.Rows)
            {
                _parameters[0].Value = row.Created;
                _parameters[1].Value = row.PersistenceId;
                _parameters[2].Value = row.SequenceNr;
                _parameters[3].Value = row.Message;
                _parameters[4].Value = row.Tags;
                _parameters[5].Value = row.Manifest;
                _parameters[6].Value = row.Identifier;
                _command.ExecuteNonQuery();
            }
        }

        transaction.Commit();
        _command.Transaction = null;
    }

    private void Reset()
    {
        _command?.Dispose();
        _command = null;
        _connection?.Dispose();
        _connection = null;
    }

    /// <summary>The INSERT of one row, in the column names the journal's configuration gives.</summary>
    internal static string InsertSql(string? schema, string table, JournalTableColumnNames columns, bool writerUuid)
    {
        ArgumentNullException.ThrowIfNull(columns);
        var names = new List<string> { columns.Created, columns.Deleted, columns.PersistenceId, columns.SequenceNumber, columns.Message, columns.Tags, columns.Manifest, columns.Identifier };
        var values = new List<string> { "$created", "0", "$pid", "$seq", "$message", "$tags", "$manifest", "$identifier" };
        if (writerUuid)
        {
            names.Add(columns.WriterUuid);
            values.Add("$writer");
        }

        return $"INSERT INTO {JournalPresence.Qualified(schema, table)} ({string.Join(", ", names.Select(JournalPresence.Quote))}) VALUES ({string.Join(", ", values)})";
    }

    /// <summary>Stops taking writes; those queued are still committed.</summary>
    public void Dispose()
    {
        JournalMetrics.Unregister(this);
        _queue.Writer.TryComplete();
        _loop.Wait(TimeSpan.FromSeconds(10));
    }

    private sealed record Row(long Created, string PersistenceId, long SequenceNr, byte[] Message, string Tags, string Manifest, int Identifier);

    private sealed record Pending(List<Row> Rows, IImmutableList<Exception?> Rejections, TaskCompletionSource<IImmutableList<Exception?>> Done);
}
