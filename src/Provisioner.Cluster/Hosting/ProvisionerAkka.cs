using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Cluster.Sharding;
using Akka.Configuration;
using Akka.Hosting;
using Akka.Persistence.Sql.Hosting;
using Akka.Remote.Hosting;
using Microsoft.Data.Sqlite;
using Provisioner.Cluster.Leases;
using Provisioner.Cluster.Machines;
using Provisioner.Cluster.ReadModel;
using Provisioner.Domain.Machines;

namespace Provisioner.Cluster.Hosting;

/// <summary>Registry key for the machine shard region (or its proxy on edge-only nodes).</summary>
public sealed class MachineRegion;

/// <summary>Registry key for the machine directory (read model): the proxy of its cluster singleton, on every node.</summary>
public sealed class MachineDirectoryKey;

/// <summary>Wires a Provisioner node into Akka.Hosting: remoting, cluster, persistence, sharding, serialization, read model.</summary>
public static class ProvisionerAkka
{
    public const string ActorSystemName = "provisioner";
    public const string MachineTypeName = "machine";
    public const string SqlReadJournalId = "akka.persistence.query.journal.sql";

    /// <summary>
    /// Hyperion for our messages, persisted events and snapshots, bound by marker type (see STACK.md P7: never
    /// rename a persisted type). A test pins the serializer chosen for every message type.
    /// </summary>
    public static readonly Config SerializationHocon = ConfigurationFactory.ParseString("""
        akka.actor {
          serializers.hyperion = "Akka.Serialization.HyperionSerializer, Akka.Serialization.Hyperion"
          serialization-bindings {
            "Provisioner.Cluster.IProvisionerMessage, Provisioner.Cluster" = hyperion
            "Provisioner.Domain.Machines.IMachineEvent, Provisioner.Domain" = hyperion
            "Provisioner.Domain.Machines.MachineState, Provisioner.Domain" = hyperion
            "Provisioner.Domain.Machines.MachineCommand, Provisioner.Domain" = hyperion
            "Provisioner.Domain.Leases.ILeaseEvent, Provisioner.Domain" = hyperion
            "Provisioner.Domain.Leases.LeaseTableSnapshot, Provisioner.Domain" = hyperion
            "Provisioner.Domain.Leases.SubnetSnapshot, Provisioner.Domain" = hyperion
            "Provisioner.Domain.Leases.DefinedSubnetSnapshot, Provisioner.Domain" = hyperion
          }
        }
        """);

    /// <summary>
    /// Downing for a provisioning cluster (<see cref="Downing.CoreMajority"/>): keep-majority over the core nodes, decided
    /// once the unreachable cores have stood still for 4 s; an edge cut off from the cores is downed only after 60 s, and
    /// rides out a shorter outage serving its site. Akka's own resolver (stable-after 20 s, and as long again before
    /// shards of a downed node move) took 48 s from a kill -9 to the machines being served again, and downed an edge
    /// whose site link dropped for 10 s. The shards of a downed core wait 2 s more, for the losing side of a partition to
    /// have stopped its own. An operator's own akka { } in the node's HOCON wins.
    /// </summary>
    public static readonly Config ClusterTuning = ConfigurationFactory.ParseString("""
        akka.cluster.downing-provider-class = "Provisioner.Cluster.Downing.CoreMajorityDowningProvider, Provisioner.Cluster"
        akka.cluster.core-majority {
          stable-after = 4s
          edge-grace = 60s
          down-removal-margin = 2s
        }
        """);

    /// <summary>Journal tuning learnt the hard way (STACK.md P2, P3): <see cref="CommonTuning"/>, on SQLite with <see cref="SqliteTuning"/>.</summary>
    private static Config PersistenceTuning(JournalProvider provider) =>
        provider == JournalProvider.Sqlite ? SqliteTuning.WithFallback(CommonTuning) : CommonTuning;

    private static readonly Config CommonTuning = ConfigurationFactory.ParseString("""
        # Tags (the read model follows machine events by tag) in a column of the journal row (Csv), not a tag table:
        # tag-table rows are written one by one, and 10,000 new PXE machines at 1,000/s got 1,595 ACKs that way
        # against 7,816 with Csv (scripts/bench/memory.sh). The read model only reads rows past its offset, so the
        # Csv tag filter never scans old rows.
        akka.persistence.journal.sql.tag-write-mode = Csv
        akka.persistence.query.journal.sql.tag-read-mode = Csv
        # Recovery of an id with nothing written reads nothing more than one batched presence query (Persistence/
        # ProbingSqlPlugins.cs): a rollout's new machines do not pay a snapshot load and a sequence-number query each.
        akka.persistence.journal.sql.class = "Provisioner.Cluster.Persistence.ProbingSqlJournal, Provisioner.Cluster"
        akka.persistence.snapshot-store.sql.class = "Provisioner.Cluster.Persistence.ProbingSqlSnapshotStore, Provisioner.Cluster"
        akka.persistence.journal.sql.buffer-size = 20000
        # The read model polls the journal: 1 s keeps fleet views fresh and an idle node quiet
        # (250 ms cost 10 % of a core on an idle node here; 1 s brought idle CPU from 21 % to 11 %).
        akka.persistence.query.journal.sql {
          refresh-interval = 1s
          journal-sequence-retrieval.query-delay = 1s
        }
        """);

    private static readonly Config SqliteTuning = ConfigurationFactory.ParseString("""
        # With "unspecified" isolation the query side's reads took the database's write lock (Microsoft.Data.Sqlite
        # begins such transactions IMMEDIATE); once a second the read model's poll stalled every journal write by
        # ~150 ms (measured from persist to callback in the lease actor) and DHCP ACKs left in bursts. Every read is
        # read-uncommitted (deferred): the journal's, the snapshot store's and the query side's.
        akka.persistence.journal.sql.parallelism = 1
        akka.persistence.journal.sql.read-isolation-level = read-uncommitted
        akka.persistence.snapshot-store.sql.read-isolation-level = read-uncommitted
        akka.persistence.query.journal.sql.read-isolation-level = read-uncommitted
        # Rows go in as parameters, not as SQL text with every payload hex-encoded that SQLite then parses back: new PXE
        # machines at 4,000/s took 5 % less CPU per DORA and dropped fewer DISCOVERs (3 interleaved runs each).
        akka.persistence.journal.sql.prefer-parameters-on-multirow-insert = on
        # Rows are written by our own loop (Persistence/SqliteJournalWriter.cs): the same rows, one prepared single-row
        # INSERT reused for all, one transaction per batch. Akka's writer (a stream queue, linq2db's multi-row INSERT
        # whose named parameters SQLite looks up by linear scan) was a fifth of the node's CPU under a rollout.
        akka.persistence.journal.sql.direct-sqlite-writes = on
        # The replay filter guards against two writers of one id interleaving events (a split brain across nodes). One
        # SQLite node is the only writer there is, and the filter is a child actor the journal creates and stops for every
        # recovery: a burst of new machines made thousands at once (actor cells, mailboxes, the journal's children map).
        akka.persistence.journal.sql.replay-filter.mode = off
        # The query side (the read model's live tag query) waits at a missing ordering in case it is a row still being
        # committed, re-reading everything after it once a second, max-tries times. Here one writer commits in order, so
        # a missing ordering is a deleted row: the DHCP warm-up deletes its scratch subnet's events at every start, and
        # the default 10 tries kept the read model 10 s behind a node's first machines while a full batch of 10,000
        # rows was read every second (scripts/bench/RESULTS.md, nineteenth session).
        akka.persistence.query.journal.sql.journal-sequence-retrieval.max-tries = 1
        """);

    /// <param name="newMachines">The bound on machine actors that persisted nothing, if the caller wants to read it (else one is made from <see cref="ProvisionerSettings.MaxNewLive"/>).</param>
    public static AkkaConfigurationBuilder AddProvisioner(this AkkaConfigurationBuilder builder, ProvisionerSettings settings, TimeProvider? clock = null, NewMachineLimit? newMachines = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(settings);

        builder
            .AddHocon(SerializationHocon, HoconAddMode.Prepend)
            .AddHocon(ClusterTuning, HoconAddMode.Prepend)
            .WithRemoting(new RemoteOptions { HostName = settings.Hostname, Port = settings.Port })
            .WithClustering(new ClusterOptions
            {
                Roles = settings.Roles.ToArray(),
                SeedNodes = settings.SeedNodes.ToArray(),
            });

        var (connectionString, providerName) = settings.Journal switch
        {
            JournalProvider.Sqlite => (PrepareSqlite(settings.SqlitePath), "SQLite.MS"),
            _ => (settings.ConnectionString, "PostgreSQL.15"),
        };

        if (settings.IsCore)
        {
            builder.WithSqlPersistence(
                connectionString,
                providerName,
                autoInitialize: true,
                journalBuilder: journal => journal.AddWriteEventAdapter<MachineEventTagger>("machine-tagger", [typeof(IMachineEvent)]));
            builder.AddHocon(PersistenceTuning(settings.Journal), HoconAddMode.Prepend);
        }

        var extractor = new MachineMessageExtractor(settings.Shards);
        var actorSettings = new MachineActorSettings(settings.Policy, settings.SnapshotEvery, settings.PassivateAfter, clock ?? TimeProvider.System)
        {
            PassivateNewAfter = settings.PassivateNewAfter,
            NewMachines = newMachines ?? new NewMachineLimit(settings.MaxNewLive),
        };
        if (settings.IsCore)
        {
            builder.WithShardRegion<MachineRegion>(
                MachineTypeName,
                machineId => MachineActor.PropsFor(machineId, actorSettings),
                extractor,
                new ShardOptions
                {
                    Role = Roles.Core,
                    RememberEntities = false,
                    StateStoreMode = StateStoreMode.DData,
                    // Machine actors passivate themselves, but only when no stage deadline is pending.
                    ShouldPassivateIdleEntities = false,
                });
            // One directory per cluster, on a core node, reached from every node through the singleton's proxy.
            var directorySettings = MachineDirectorySettings.Default with { Policy = settings.Policy };
            builder.WithSingleton<MachineDirectoryKey>(
                MachineDirectory.Id,
                (_, registry, _) => Props.Create(() => new MachineDirectory(SqlReadJournalId, () => registry.GetAsync<MachineRegion>(CancellationToken.None), clock, directorySettings)),
                new ClusterSingletonOptions { Role = Roles.Core },
                createProxyToo: true);
        }
        else
        {
            builder.WithShardRegionProxy<MachineRegion>(MachineTypeName, Roles.Core, extractor);
            builder.WithSingletonProxy<MachineDirectoryKey>(MachineDirectory.Id, new ClusterSingletonOptions { Role = Roles.Core });
        }

        builder.AddSubnetLeaseRegion(settings);

        if (settings.SeedNodes.Count == 0)
        {
            // No seeds: this node is its own cluster (STACK.md P5), or the sharding coordinator never starts.
            builder.WithActors((system, _) =>
            {
                var cluster = Akka.Cluster.Cluster.Get(system);
                cluster.Join(cluster.SelfAddress);
            });
        }

        // The node's own HOCON last, so an operator's akka { … } settings win over the built-in defaults above.
        if (settings.Hocon.HasPath("akka"))
        {
            builder.AddHocon(settings.Hocon, HoconAddMode.Prepend);
        }

        return builder;
    }

    /// <summary>Creates the data directory and switches the SQLite file to WAL before Akka opens it (STACK.md P3).</summary>
    public static string PrepareSqlite(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var connectionString = new SqliteConnectionStringBuilder { DataSource = path }.ToString();
        using var connection = new SqliteConnection(connectionString);
        connection.Open();
        using var pragma = connection.CreateCommand();
        pragma.CommandText = "PRAGMA journal_mode=WAL;";
        pragma.ExecuteNonQuery();
        return connectionString;
    }
}
