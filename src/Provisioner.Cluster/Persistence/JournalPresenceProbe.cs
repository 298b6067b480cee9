using System.Data.Common;
using System.Text;

namespace Provisioner.Cluster.Persistence;

/// <summary>
/// Answers "has anything ever been written for this persistence id?" for many recovering actors at once: every id
/// asked while a query runs joins the next one, so a burst of new machines costs one indexed query per batch instead
/// of a snapshot load, a highest-sequence-number query and a replay stream per machine.
/// </summary>
/// <remarks>
/// Safe after a crash and on any node because nothing is remembered across queries: the answer is read from the
/// database each time, after the rows an earlier write committed (the journal's unique key on persistence id and
/// sequence number stays the last word: a writer that believed an id new would fail its first write and recover).
/// A failed query answers "maybe" for its whole batch, and the caller takes Akka's ordinary recovery path.
/// </remarks>
public sealed class JournalPresenceProbe : IDisposable
{
    /// <summary>Ids per query: well under SQLite's bound on parameters, and a batch still fits one index range scan per id.</summary>
    public const int MaxBatch = 500;

    /// <summary>An "empty" answer is trusted this long by <see cref="TakeKnownEmpty"/> (the journal asks right after the snapshot store).</summary>
    private static readonly TimeSpan KnownEmptyFor = TimeSpan.FromSeconds(30);

    /// <summary>Bound on remembered "empty" answers (a flood of new ids must not grow it).</summary>
    private const int MaxKnownEmpty = 100_000;

    private readonly Func<DbConnection> _connect;
    private readonly string[] _tables;
    private readonly string[] _idColumns;
    private readonly TimeProvider _clock;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, TaskCompletionSource<bool>> _pending = [];
    private readonly CountedConcurrentMap<string, long> _knownEmpty = new();
    private readonly CancellationTokenSource _stop = new();
    private bool _running;
    private long _probes;
    private long _batches;
    private long _empty;
    private long _failures;

    /// <param name="connect">Opens a new (pooled) connection to the journal's database.</param>
    /// <param name="tables">Quoted table names to look in (journal, snapshots), each with the quoted persistence-id column in <paramref name="idColumns"/>.</param>
    public JournalPresenceProbe(Func<DbConnection> connect, IReadOnlyList<string> tables, IReadOnlyList<string> idColumns, TimeProvider? clock = null)
    {
        ArgumentNullException.ThrowIfNull(connect);
        ArgumentNullException.ThrowIfNull(tables);
        ArgumentNullException.ThrowIfNull(idColumns);
        if (tables.Count == 0 || tables.Count != idColumns.Count)
        {
            throw new ArgumentException("one persistence-id column per table", nameof(idColumns));
        }

        _connect = connect;
        _tables = [.. tables];
        _idColumns = [.. idColumns];
        _clock = clock ?? TimeProvider.System;
    }

    /// <summary>Ids asked about.</summary>
    public long Probes => Interlocked.Read(ref _probes);

    /// <summary>Queries run (each answers up to <see cref="MaxBatch"/> ids).</summary>
    public long Batches => Interlocked.Read(ref _batches);

    /// <summary>Ids found with nothing written: their recovery read nothing more.</summary>
    public long Empty => Interlocked.Read(ref _empty);

    /// <summary>Queries that failed (their ids took the ordinary recovery path).</summary>
    public long Failures => Interlocked.Read(ref _failures);

    /// <summary>True when rows exist for <paramref name="persistenceId"/> or the probe could not tell; false only when the database has none.</summary>
    public Task<bool> HasRowsAsync(string persistenceId)
    {
        ArgumentNullException.ThrowIfNull(persistenceId);
        Interlocked.Increment(ref _probes);
        TaskCompletionSource<bool> answer;
        var start = false;
        lock (_lock)
        {
            if (!_pending.TryGetValue(persistenceId, out answer!))
            {
                answer = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
                _pending[persistenceId] = answer;
            }

            if (!_running)
            {
                _running = true;
                start = true;
            }
        }

        if (start)
        {
            _ = Task.Run(DrainAsync);
        }

        return answer.Task;
    }

    /// <summary>Remembers that <paramref name="persistenceId"/> was just found empty (the snapshot store asks first, the journal next).</summary>
    public void RememberEmpty(string persistenceId)
    {
        if (_knownEmpty.Count >= MaxKnownEmpty)
        {
            var cutoff = _clock.GetTimestamp() - (long)(KnownEmptyFor.TotalSeconds * _clock.TimestampFrequency);
            foreach (var (id, at) in _knownEmpty)
            {
                if (at < cutoff)
                {
                    _knownEmpty.TryRemove(id);
                }
            }

            if (_knownEmpty.Count >= MaxKnownEmpty)
            {
                return;
            }
        }

        _knownEmpty.Set(persistenceId, _clock.GetTimestamp());
    }

    /// <summary>True (once) when <paramref name="persistenceId"/> was found empty moments ago and nothing was written for it since.</summary>
    public bool TakeKnownEmpty(string persistenceId) =>
        _knownEmpty.TryRemove(persistenceId, out var at) && _clock.GetElapsedTime(at) < KnownEmptyFor;

    /// <summary>A write for <paramref name="persistenceId"/> is on its way: an earlier "empty" answer is void.</summary>
    public void Writing(string persistenceId) => _knownEmpty.TryRemove(persistenceId);

    private async Task DrainAsync()
    {
        while (true)
        {
            List<KeyValuePair<string, TaskCompletionSource<bool>>> batch;
            lock (_lock)
            {
                if (_pending.Count == 0 || _stop.IsCancellationRequested)
                {
                    foreach (var (_, waiting) in _pending)
                    {
                        waiting.TrySetResult(true);
                    }

                    _pending.Clear();
                    _running = false;
                    return;
                }

                batch = _pending.Take(MaxBatch).ToList();
                foreach (var (id, _) in batch)
                {
                    _pending.Remove(id);
                }
            }

            HashSet<string>? present;
            try
            {
                present = await QueryAsync(batch.Select(kv => kv.Key).ToArray()).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // any failure means "cannot tell": the ordinary recovery path decides
            catch (Exception)
#pragma warning restore CA1031
            {
                Interlocked.Increment(ref _failures);
                present = null;
            }

            Interlocked.Increment(ref _batches);
            foreach (var (id, waiting) in batch)
            {
                var has = present is null || present.Contains(id);
                if (!has)
                {
                    Interlocked.Increment(ref _empty);
                }

                waiting.TrySetResult(has);
            }
        }
    }

    private Task<HashSet<string>> QueryAsync(string[] ids) =>
        DistinctIdsAsync(
            command =>
            {
                var list = new StringBuilder();
                for (var i = 0; i < ids.Length; i++)
                {
                    list.Append(i == 0 ? string.Empty : ",").Append(AddParameter(command, "@p" + i.ToString(System.Globalization.CultureInfo.InvariantCulture), ids[i]));
                }

                return _ => $" IN ({list})";
            });

    /// <summary>Every persistence id starting with <paramref name="prefix"/> that has a row in any of the tables (one query).</summary>
    public Task<HashSet<string>> IdsStartingWithAsync(string prefix)
    {
        ArgumentException.ThrowIfNullOrEmpty(prefix);

        // A range, not LIKE: it walks the persistence-id index (SQLite's LIKE is case-insensitive and would not).
        return DistinctIdsAsync(
            command =>
            {
                var from = AddParameter(command, "@from", prefix);
                var to = AddParameter(command, "@to", prefix[..^1] + (char)(prefix[^1] + 1));
                return column => $" >= {from} AND {column} < {to}";
            });
    }

    private static string AddParameter(DbCommand command, string name, string value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
        return name;
    }

    /// <summary>
    /// The distinct persistence ids, over every table, whose id column satisfies a condition: <paramref name="condition"/>
    /// adds its parameters to the command and returns, for a quoted column, the SQL that follows the column name.
    /// </summary>
    private async Task<HashSet<string>> DistinctIdsAsync(Func<DbCommand, Func<string, string>> condition)
    {
        var connection = _connect();
        await using (connection.ConfigureAwait(false))
        {
            await connection.OpenAsync(_stop.Token).ConfigureAwait(false);
            var command = connection.CreateCommand();
            await using (command.ConfigureAwait(false))
            {
                var after = condition(command);
                var sql = new StringBuilder();
                for (var t = 0; t < _tables.Length; t++)
                {
                    if (t > 0)
                    {
                        sql.Append(" UNION ");
                    }

                    sql.Append("SELECT DISTINCT ").Append(_idColumns[t]).Append(" FROM ").Append(_tables[t])
                        .Append(" WHERE ").Append(_idColumns[t]).Append(after(_idColumns[t]));
                }

#pragma warning disable CA2100 // identifiers come from the journal's own configuration, values are parameters
                command.CommandText = sql.ToString();
#pragma warning restore CA2100
                var ids = new HashSet<string>(StringComparer.Ordinal);
                var reader = await command.ExecuteReaderAsync(_stop.Token).ConfigureAwait(false);
                await using (reader.ConfigureAwait(false))
                {
                    while (await reader.ReadAsync(_stop.Token).ConfigureAwait(false))
                    {
                        ids.Add(reader.GetString(0));
                    }
                }

                return ids;
            }
        }
    }

    /// <summary>Stops querying; ids still waiting are answered "maybe" (the CTS is left to the finalizer: a drain may still read its token).</summary>
    public void Dispose() => _stop.Cancel();
}
