using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Provisioner.Cluster.Persistence;

/// <summary>
/// The journal writer's instruments (<c>provisioner.journal.*</c>) on the <see cref="MeterName"/> meter, created once
/// per process; each live <see cref="SqliteJournalWriter"/> registers itself and they are summed (a node has one).
/// </summary>
public static class JournalMetrics
{
    public const string MeterName = "Provisioner.Cluster";

    public static Meter Meter { get; } = new(MeterName);

    private static readonly ConcurrentDictionary<SqliteJournalWriter, byte> Writers = new();
    private static int _created;

    internal static void Register(SqliteJournalWriter writer)
    {
        if (Interlocked.Exchange(ref _created, 1) == 0)
        {
            Create(Meter);
        }

        Writers[writer] = 0;
    }

    internal static void Unregister(SqliteJournalWriter writer) => Writers.TryRemove(writer, out _);

    private static void Create(Meter meter)
    {
        meter.CreateObservableCounter(
            "provisioner.journal.transactions",
            () => Writers.Keys.Sum(w => w.Transactions),
            "{transaction}",
            "Journal transactions committed by the node's own SQLite writer (one per batch of queued writes)");
        meter.CreateObservableCounter(
            "provisioner.journal.rows",
            () => Writers.Keys.Sum(w => w.Rows),
            "{row}",
            "Journal rows (events) committed by the node's own SQLite writer");
        meter.CreateObservableGauge(
            "provisioner.journal.writes.queued",
            () => Writers.Keys.Sum(w => (long)w.Queued),
            "{write}",
            "Journal writes waiting for the next transaction (bounded by akka.persistence.journal.sql.buffer-size)");
        meter.CreateObservableCounter(
            "provisioner.journal.writes.refused",
            () => Writers.Keys.Sum(w => w.Refused),
            "{write}",
            "Journal writes refused because the queue was at its bound (the persistent actor stops and recovers)");
    }
}
