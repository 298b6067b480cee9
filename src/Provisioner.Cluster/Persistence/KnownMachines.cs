using System.Collections.Concurrent;

namespace Provisioner.Cluster.Persistence;

/// <summary>
/// The machines that have anything in this node's journal: read once at start (one range query over the persistence
/// ids of the journal and snapshot tables) and added to before every write through <see cref="ProbingSqlJournal"/>,
/// so "not in the set" means "no row and no write in flight". A DHCP exchange of a machine surely new here needs no
/// machine actor at all: its first boot rides on the lease (<see cref="Domain.Leases.LeaseEvents.FirstBootGranted"/>).
/// <para>
/// Authoritative only where this node is the journal's only writer (the embedded SQLite single node). With a shared
/// journal (PostgreSQL, several core nodes) another node may write a machine at any moment, so
/// <see cref="IsSurelyNew"/> is always false there and every machine takes the ordinary path through its actor.
/// </para>
/// </summary>
public sealed class KnownMachines
{
    private readonly ConcurrentDictionary<string, byte> _ids = new(StringComparer.Ordinal);
    private readonly string _prefix;
    private volatile bool _loaded;

    public KnownMachines(string persistencePrefix, bool authoritative)
    {
        ArgumentException.ThrowIfNullOrEmpty(persistencePrefix);
        _prefix = persistencePrefix;
        Authoritative = authoritative;
    }

    /// <summary>This node is the only writer of its journal, so the set is complete once loaded.</summary>
    public bool Authoritative { get; }

    /// <summary>The start-up read is done (until then nothing is surely new).</summary>
    public bool Loaded => _loaded;

    /// <summary>Machines known (read at start or written since).</summary>
    public int Count => _ids.Count;

    /// <summary>True only if the machine has no row in the journal and no write in flight, and this node would know.</summary>
    public bool IsSurelyNew(string persistenceId) => Authoritative && _loaded && !_ids.ContainsKey(persistenceId);

    /// <summary>
    /// <see cref="IsSurelyNew(string)"/> of the id <paramref name="prefix"/> + <paramref name="id"/>, without making that
    /// string: asked twice for every DHCP exchange of a PXE machine.
    /// </summary>
    public bool IsSurelyNew(string prefix, string id)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        ArgumentNullException.ThrowIfNull(id);
        if (!Authoritative || !_loaded)
        {
            return false;
        }

        var length = prefix.Length + id.Length;
        if (length > 128)
        {
            return IsSurelyNew(prefix + id);
        }

        Span<char> persistenceId = stackalloc char[length];
        prefix.CopyTo(persistenceId);
        id.CopyTo(persistenceId[prefix.Length..]);
        return !_ids.GetAlternateLookup<ReadOnlySpan<char>>().ContainsKey(persistenceId);
    }

    /// <summary>A write for <paramref name="persistenceId"/> is about to be issued (called before it is).</summary>
    public void Writing(string persistenceId)
    {
        if (persistenceId.StartsWith(_prefix, StringComparison.Ordinal))
        {
            _ids.TryAdd(persistenceId, 0);
        }
    }

    /// <summary>Reads the ids with rows (once); a failure leaves the set unloaded, so nothing is ever called new.</summary>
    public async Task LoadAsync(Func<string, Task<HashSet<string>>> idsStartingWith)
    {
        ArgumentNullException.ThrowIfNull(idsStartingWith);
        foreach (var id in await idsStartingWith(_prefix).ConfigureAwait(false))
        {
            _ids.TryAdd(id, 0);
        }

        _loaded = true;
    }
}
