using System.Collections.Immutable;
using System.Data.Common;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Akka.Persistence.Sql;
using Akka.Persistence.Sql.Config;
using Akka.Persistence.Sql.Journal;
using Akka.Persistence.Sql.Snapshot;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Provisioner.Cluster.Persistence;

/// <summary>
/// The node's <see cref="JournalPresenceProbe"/>, built from <c>akka.persistence.journal.sql</c> and
/// <c>akka.persistence.snapshot-store.sql</c>; null when the provider is not one we query directly (then recovery is
/// Akka's own, unchanged).
/// </summary>
public sealed class JournalPresence : IExtension
{
    private JournalPresence(JournalPresenceProbe? probe, KnownMachines known)
    {
        Probe = probe;
        Known = known;
    }

    public JournalPresenceProbe? Probe { get; }

    /// <summary>The journal's own SQLite writer while the journal runs with one (null on PostgreSQL or with <c>direct-sqlite-writes = off</c>).</summary>
    public SqliteJournalWriter? Writer { get; internal set; }

    /// <summary>The machines with rows in the journal (authoritative only on a single SQLite node, see <see cref="KnownMachines"/>).</summary>
    public KnownMachines Known { get; }

    public static JournalPresence Get(ActorSystem system) => system.WithExtension<JournalPresence, JournalPresenceProvider>();

    internal static JournalPresence Create(ExtendedActorSystem system)
    {
        var root = system.Settings.Config;
        if (!root.HasPath("akka.persistence.journal.sql") || !root.HasPath("akka.persistence.snapshot-store.sql"))
        {
            return Unprobed();
        }

        var journal = new JournalConfig(root.GetConfig("akka.persistence.journal.sql").WithFallback(SqlPersistence.DefaultJournalConfiguration));
        var snapshots = new SnapshotConfig(root.GetConfig("akka.persistence.snapshot-store.sql").WithFallback(SqlPersistence.DefaultSnapshotConfiguration));
        Func<DbConnection>? connect = journal.ProviderName switch
        {
            var p when p.StartsWith("SQLite", StringComparison.OrdinalIgnoreCase) => () => new SqliteConnection(journal.ConnectionString),
            var p when p.StartsWith("PostgreSQL", StringComparison.OrdinalIgnoreCase) => () => new NpgsqlConnection(journal.ConnectionString),
            _ => null,
        };

        // Deletions in compatibility mode keep the highest sequence number in a metadata table this probe does not read.
        if (connect is null || string.IsNullOrEmpty(journal.ConnectionString) || journal.DaoConfig.SqlCommonCompatibilityMode
            || snapshots.ConnectionString != journal.ConnectionString)
        {
            return Unprobed();
        }

        var events = journal.TableConfig;
        var snaps = snapshots.TableConfig;
        var probe = new JournalPresenceProbe(
            connect,
            [Qualified(events.SchemaName, events.EventJournalTable.Name), Qualified(snaps.SchemaName, snaps.SnapshotTable.Name)],
            [Quote(events.EventJournalTable.ColumnNames.PersistenceId), Quote(snaps.SnapshotTable.ColumnNames.PersistenceId)]);
        system.RegisterOnTermination(probe.Dispose);

        // SQLite is the embedded single node's journal: nobody else writes it, so the set of its machines is complete.
        var known = new KnownMachines(MachinePrefix, authoritative: journal.ProviderName.StartsWith("SQLite", StringComparison.OrdinalIgnoreCase));
        if (known.Authoritative)
        {
            _ = Task.Run(async () =>
            {
                // A fresh database has no tables until the journal creates them: tried again until it has.
                for (var attempt = 1; ; attempt++)
                {
                    try
                    {
                        await known.LoadAsync(probe.IdsStartingWithAsync).ConfigureAwait(false);
                        system.Log.Info("journal: {KnownMachines} machines have events or snapshots; DHCP for any other machine needs no machine actor", known.Count);
                        return;
                    }
#pragma warning disable CA1031 // any failure only leaves every machine on the ordinary path
                    catch (Exception e)
#pragma warning restore CA1031
                    {
                        if (attempt == LoadAttempts)
                        {
                            system.Log.Warning(e, "journal: could not read which machines are known in {Attempts} attempts (trying on every 5 s); until then every machine takes the ordinary DHCP path", attempt);
                        }
                        else
                        {
                            system.Log.Debug("journal: reading which machines are known failed (attempt {Attempt}): {Reason}", attempt, e.Message);
                        }
                    }

                    await Task.Delay(attempt < LoadAttempts ? TimeSpan.FromMilliseconds(500) : TimeSpan.FromSeconds(5)).ConfigureAwait(false);
                }
            });
        }

        return new JournalPresence(probe, known);
    }

    private const string MachinePrefix = Machines.MachineActor.PersistencePrefix;

    /// <summary>A journal this probe does not query: Akka's own recovery, and no machine is ever surely new.</summary>
    private static JournalPresence Unprobed() => new(null, new KnownMachines(MachinePrefix, authoritative: false));

    /// <summary>Start-up reads of the known machines every 0.5 s (a minute for the journal to create its tables), then every 5 s.</summary>
    private const int LoadAttempts = 120;

    /// <summary>A table name, schema-qualified when there is a schema, quoted for SQL.</summary>
    internal static string Qualified(string? schema, string table) => string.IsNullOrEmpty(schema) ? Quote(table) : $"{Quote(schema)}.{Quote(table)}";

    /// <summary>An identifier quoted for SQL (SQLite and PostgreSQL alike).</summary>
    internal static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}

public sealed class JournalPresenceProvider : ExtensionIdProvider<JournalPresence>
{
    public override JournalPresence CreateExtension(ExtendedActorSystem system) => JournalPresence.Create(system);
}

/// <summary>
/// Akka.Persistence.Sql's journal, except that the highest sequence number of an id with no rows is read by the
/// node's batched <see cref="JournalPresenceProbe"/> (Akka then replays nothing), and that on SQLite its rows are
/// written by <see cref="SqliteJournalWriter"/> (same rows, a fifth of the node's CPU less under a rollout). Ids with a
/// write in flight through this journal always take the ordinary path, and a highest-sequence-number read waits for
/// their writes first, so neither ever races our own uncommitted rows.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "An actor: its writer is disposed in PostStop.")]
public sealed class ProbingSqlJournal : SqlWriteJournal
{
    private readonly JournalPresenceProbe? _probe;
    /// <summary>Writes in flight per id and the latest of them (added on the journal's thread, removed by the write's continuation).</summary>
    private readonly Dictionary<string, (int Count, Task Latest)> _writing = new(StringComparer.Ordinal);
    private readonly Lock _writingLock = new();

    private readonly KnownMachines _known;
    private readonly SqliteJournalWriter? _writer;

    public ProbingSqlJournal(Akka.Configuration.Config journalConfig)
        : base(journalConfig)
    {
        var presence = JournalPresence.Get(Context.System);
        _probe = presence.Probe;
        _known = presence.Known;
        var config = new JournalConfig(journalConfig.WithFallback(SqlPersistence.DefaultJournalConfiguration));
        if (journalConfig.GetBoolean("direct-sqlite-writes", false) && SqliteJournalWriter.Supports(config))
        {
            _writer = new SqliteJournalWriter((ExtendedActorSystem)Context.System, config, config.DaoConfig.BufferSize);
            presence.Writer = _writer;
            Context.GetLogger().Info("journal: SQLite rows are written by Provisioner's own writer (one prepared INSERT, one transaction per batch, at most {Capacity} writes queued)", config.DaoConfig.BufferSize);
        }
    }

    protected override void PostStop()
    {
        var presence = JournalPresence.Get(Context.System);
        if (_writer is not null && presence.Writer == _writer)
        {
            presence.Writer = null;
        }

        _writer?.Dispose();
        base.PostStop();
    }

    public override async Task<long> ReadHighestSequenceNrAsync(string persistenceId, long fromSequenceNr, CancellationToken cancellationToken)
    {
        if (_probe is not null && InFlight(persistenceId) is null
            && (_probe.TakeKnownEmpty(persistenceId) || !await _probe.HasRowsAsync(persistenceId).ConfigureAwait(false))
            && InFlight(persistenceId) is null)
        {
            return 0;
        }

        if (_writer is not null && InFlight(persistenceId) is { } latest)
        {
            // Akka's journal waits for its own writes of the id; ours it does not see.
            await latest.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default).ConfigureAwait(false);
        }

        return await base.ReadHighestSequenceNrAsync(persistenceId, fromSequenceNr, cancellationToken).ConfigureAwait(false);
    }

    private Task? InFlight(string persistenceId)
    {
        lock (_writingLock)
        {
            return _writing.TryGetValue(persistenceId, out var writing) ? writing.Latest : null;
        }
    }

    protected override Task<IImmutableList<Exception>> WriteMessagesAsync(IEnumerable<AtomicWrite> messages, CancellationToken cancellationToken)
    {
        var writes = messages.ToList();
        foreach (var write in writes)
        {
            _known.Writing(write.PersistenceId);
        }

        if (_probe is null && _writer is null)
        {
            return base.WriteMessagesAsync(writes, cancellationToken);
        }

        var ids = writes.Select(w => w.PersistenceId).Distinct(StringComparer.Ordinal).ToArray();
        foreach (var id in ids)
        {
            _probe?.Writing(id);
        }

        var written = _writer is null ? base.WriteMessagesAsync(writes, cancellationToken) : Written(_writer.WriteAsync(writes));
        lock (_writingLock)
        {
            foreach (var id in ids)
            {
                _writing[id] = (_writing.GetValueOrDefault(id).Count + 1, written);
            }
        }

        _ = written.ContinueWith(
            _ =>
            {
                lock (_writingLock)
                {
                    foreach (var id in ids)
                    {
                        var (count, latest) = _writing[id];
                        if (count == 1)
                        {
                            _writing.Remove(id);
                        }
                        else
                        {
                            _writing[id] = (count - 1, latest);
                        }
                    }
                }
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
        return written;
    }

    private static async Task<IImmutableList<Exception>> Written(Task<IImmutableList<Exception?>> write) => (await write.ConfigureAwait(false))!;
}

/// <summary>
/// Akka.Persistence.Sql's snapshot store, except that an id with no rows at all (no events, no snapshots) is answered
/// "no snapshot" from the node's batched <see cref="JournalPresenceProbe"/>, which then tells the journal so.
/// </summary>
public sealed class ProbingSqlSnapshotStore : SqlSnapshotStore
{
    private readonly JournalPresenceProbe? _probe;

    public ProbingSqlSnapshotStore(Akka.Configuration.Config snapshotConfig)
        : base(snapshotConfig) => _probe = JournalPresence.Get(Context.System).Probe;

    protected override async Task<SelectedSnapshot?> LoadAsync(string persistenceId, SnapshotSelectionCriteria criteria, CancellationToken cancellationToken)
    {
        if (_probe is not null && !await _probe.HasRowsAsync(persistenceId).ConfigureAwait(false))
        {
            _probe.RememberEmpty(persistenceId);
            return null;
        }

        return await base.LoadAsync(persistenceId, criteria, cancellationToken).ConfigureAwait(false);
    }
}
