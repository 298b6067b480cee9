using Akka.Actor;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams.Dsl;
using Provisioner.Cluster.Hosting;
using Provisioner.Cluster.Machines;
using Provisioner.Domain.Machines;

namespace Provisioner.Cluster.ReadModel;

/// <summary>
/// The most recent events of one machine, oldest first, and how many its journal holds in all (<see cref="LeftOut"/>:
/// the older ones not read).
/// </summary>
public sealed record MachineHistoryPage(IReadOnlyList<IMachineEvent> Events, long Total)
{
    public long LeftOut => Math.Max(0, Total - Events.Count);
}

/// <summary>
/// A machine's journey read from its journal (Akka.Persistence.Query's SQL read journal), not from its state, which
/// is fixed-size. Bounded: a machine reprovisioned a thousand times has thousands of events, and an operator asking
/// for one machine reads the last <see cref="DefaultLimit"/> of them.
/// </summary>
public static class MachineHistory
{
    public const int DefaultLimit = 500;

    /// <summary>
    /// The last <paramref name="limit"/> events of <paramref name="machineId"/> up to journal version
    /// <paramref name="version"/> (<see cref="MachineProtocol.MachineResult.Version"/>). Sequence numbers run from 1
    /// without gaps and machine events are never deleted, so the version is the count and the last events are one
    /// range query on the journal's (persistence id, sequence number) key, however long the machine's journal is.
    /// Only nodes with the journal (role core) can read it.
    /// </summary>
    public static async Task<MachineHistoryPage> ReadAsync(
        ActorSystem system,
        string machineId,
        long version,
        int limit = DefaultLimit,
        string readJournalId = ProvisionerAkka.SqlReadJournalId,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(system);
        ArgumentOutOfRangeException.ThrowIfNegative(version);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        if (version == 0)
        {
            return new MachineHistoryPage([], 0);
        }

        var journal = PersistenceQuery.Get(system).ReadJournalFor<SqlReadJournal>(readJournalId);
        var from = Math.Max(1, version - limit + 1);
        var envelopes = await journal
            .CurrentEventsByPersistenceId(MachineActor.PersistencePrefix + machineId, from, version)
            .RunWith(Sink.Seq<EventEnvelope>(), system)
            .WaitAsync(cancellationToken)
            .ConfigureAwait(false);
        var events = envelopes.Select(e => e.Event).OfType<IMachineEvent>().ToArray();
        return new MachineHistoryPage(events, version);
    }

    /// <summary>
    /// The highest sequence number of <paramref name="machineId"/> in the journal (0: nothing written), without waking its
    /// actor: reads the machine's events (a machine writes tens of them in a life, not thousands). Core nodes only.
    /// </summary>
    public static async Task<long> HighestSequenceNrAsync(ActorSystem system, string machineId, string readJournalId = ProvisionerAkka.SqlReadJournalId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(system);
        var journal = PersistenceQuery.Get(system).ReadJournalFor<SqlReadJournal>(readJournalId);
        return await journal
            .CurrentEventsByPersistenceId(MachineActor.PersistencePrefix + machineId, 0, long.MaxValue)
            .RunWith(Sink.Aggregate<EventEnvelope, long>(0L, (highest, e) => Math.Max(highest, e.SequenceNr)), system)
            .WaitAsync(cancellationToken)
            .ConfigureAwait(false);
    }
}
