using Akka.Actor;
using Microsoft.Data.Sqlite;
using Provisioner.Cluster.Leases;
using Provisioner.Cluster.Machines;
using Provisioner.Cluster.Persistence;
using Provisioner.Cluster.Tests.Leases;
using Provisioner.Cluster.Tests.Support;
using Provisioner.Domain.Leases;
using Provisioner.Domain.Machines;
using static Provisioner.Domain.Machines.MachineCommands;

namespace Provisioner.Cluster.Tests.Persistence;

/// <summary><see cref="KnownMachines"/>: which machines have anything in the journal, so that the others are surely new.</summary>
public sealed class KnownMachinesTests
{
    private static readonly DateTimeOffset T0 = LeaseNode.T0;

    private static string Id(string mac) => MachineActor.PersistencePrefix + mac;

    private static Task<HashSet<string>> Ids(params string[] ids) => Task.FromResult(ids.ToHashSet(StringComparer.Ordinal));

    [Fact]
    public async Task Loaded_authoritative_set_calls_surely_new_only_the_ids_it_does_not_hold()
    {
        var known = new KnownMachines("machine-", authoritative: true);

        await known.LoadAsync(_ => Ids("machine-a", "machine-b"));

        Assert.True(known.Loaded);
        Assert.Equal(2, known.Count);
        Assert.False(known.IsSurelyNew("machine-a"));
        Assert.False(known.IsSurelyNew("machine-b"));
        Assert.True(known.IsSurelyNew("machine-c"));

        // The same answers for the id given as prefix and rest (the DHCP path's form: no string made), also for an id
        // too long for the stack buffer.
        Assert.False(known.IsSurelyNew("machine-", "a"));
        Assert.False(known.IsSurelyNew("machine", "-b"));
        Assert.True(known.IsSurelyNew("machine-", "c"));
        Assert.True(known.IsSurelyNew("machine-", new string('c', 200)));
        known.Writing("machine-" + new string('c', 200));
        Assert.False(known.IsSurelyNew("machine-", new string('c', 200)));
    }

    [Fact]
    public async Task Nothing_is_surely_new_before_the_load_nor_ever_on_a_journal_others_write()
    {
        var notLoaded = new KnownMachines("machine-", authoritative: true);
        var shared = new KnownMachines("machine-", authoritative: false);
        await shared.LoadAsync(_ => Ids());

        Assert.False(notLoaded.IsSurelyNew("machine-c"));
        Assert.False(notLoaded.IsSurelyNew("machine-", "c"));
        Assert.True(shared.Loaded);
        Assert.False(shared.IsSurelyNew("machine-c"));
        Assert.False(shared.IsSurelyNew("machine-", "c"));
    }

    [Fact]
    public async Task A_failed_load_leaves_the_set_unloaded_so_nothing_is_ever_surely_new()
    {
        var known = new KnownMachines("machine-", authoritative: true);

        await Assert.ThrowsAsync<InvalidOperationException>(() => known.LoadAsync(_ => throw new InvalidOperationException("no such table: journal")));

        Assert.False(known.Loaded);
        Assert.False(known.IsSurelyNew("machine-c"));
    }

    [Fact]
    public async Task A_write_makes_its_machine_known_before_and_after_the_load_and_writes_of_other_ids_are_ignored()
    {
        var known = new KnownMachines("machine-", authoritative: true);
        known.Writing("machine-early");

        await known.LoadAsync(prefix => Ids("machine-a"));
        known.Writing("machine-late");
        known.Writing("subnet-lab");

        Assert.False(known.IsSurelyNew("machine-early"));
        Assert.False(known.IsSurelyNew("machine-late"));
        Assert.Equal(3, known.Count);
    }

    [Fact]
    public async Task Ids_starting_with_a_prefix_come_from_the_journal_and_the_snapshot_table_and_nothing_else_matches()
    {
        using var data = new TempDirectory();
        var connectionString = new SqliteConnectionStringBuilder { DataSource = Path.Combine(data.Path, "ids.db") }.ToString();
        using (var connection = new SqliteConnection(connectionString))
        {
            connection.Open();
            using var create = connection.CreateCommand();
            // Neighbours of the range [machine-, machine.): another prefix, case, the next character, a prefix of the prefix.
            create.CommandText = """
                CREATE TABLE journal (persistence_id TEXT NOT NULL, sequence_number INTEGER NOT NULL);
                CREATE TABLE snapshot (persistence_id TEXT NOT NULL, sequence_number INTEGER NOT NULL);
                INSERT INTO journal VALUES ('machine-a', 1), ('machine-a', 2), ('machine-b', 1), ('subnet-lab', 1),
                  ('Machine-upper', 1), ('machine.dot', 1), ('machine', 1), ('machinex', 1), ('machine-', 1);
                INSERT INTO snapshot VALUES ('machine-only-snapshot', 5), ('machine-a', 2), ('subnet-lab', 1);
                """;
            create.ExecuteNonQuery();
        }

        using var probe = new JournalPresenceProbe(() => new SqliteConnection(connectionString), ["\"journal\"", "\"snapshot\""], ["\"persistence_id\"", "\"persistence_id\""]);

        var machines = await probe.IdsStartingWithAsync("machine-");
        var subnets = await probe.IdsStartingWithAsync("subnet-");

        Assert.Equal(["machine-", "machine-a", "machine-b", "machine-only-snapshot"], machines.Order(StringComparer.Ordinal));
        Assert.Equal(["subnet-lab"], subnets);
    }

    [Fact]
    public async Task New_node_loads_the_machines_an_earlier_node_wrote_and_calls_only_other_machines_surely_new()
    {
        using var data = new TempDirectory();
        string[] written = [LeaseNode.Mac(1), LeaseNode.Mac(2)];
        var never = LeaseNode.Mac(3);
        await using (var node = await LeaseNode.StartAsync(data.Path))
        {
            foreach (var mac in written)
            {
                Assert.Equal(DecisionOutcome.Accepted, (await node.Node.Execute(mac, new RequestBoot(T0, 7, false, "centos7"))).Outcome);
            }

            // A subnet row and a machine actor that persisted nothing (a read).
            Assert.Equal(LeaseOutcome.Acked, (await node.Lease("lab", LeaseNode.Mac(9), T0)).Outcome);
            Assert.False((await node.Node.Get(never)).Known);
        }

        await using (var node = await LeaseNode.StartAsync(data.Path))
        {
            var presence = JournalPresence.Get(node.Node.System);
            var known = await Eventually.Until(() => presence.Known, k => k.Loaded, "known machines loaded at start");

            Assert.True(known.Authoritative);
            Assert.Equal(written.Length, known.Count);
            Assert.All(written, mac => Assert.False(known.IsSurelyNew(Id(mac))));
            Assert.True(known.IsSurelyNew(Id(never)));
            Assert.True(known.IsSurelyNew(Id(LeaseNode.Mac(9))));
            Assert.NotNull(presence.Probe);
            Assert.Equal(written.Select(Id).Order(StringComparer.Ordinal), (await presence.Probe.IdsStartingWithAsync(MachineActor.PersistencePrefix)).Order(StringComparer.Ordinal));
            // Both subnets: each holds its declared definition, and lab its lease.
            Assert.Equal([SubnetLeaseActor.PersistencePrefix + "lab", SubnetLeaseActor.PersistencePrefix + "tiny"], (await presence.Probe.IdsStartingWithAsync(SubnetLeaseActor.PersistencePrefix)).Order(StringComparer.Ordinal));
        }
    }

    [Fact]
    public async Task A_machine_is_no_longer_surely_new_once_it_persisted_its_first_event_and_a_read_or_preview_does_not_count()
    {
        using var data = new TempDirectory();
        await using var node = await LeaseNode.StartAsync(data.Path);
        var mac = LeaseNode.Mac(1);
        // A fresh database has no tables until the first persistent actor starts the journal; this read does.
        Assert.False((await node.Node.Get(mac)).Known);
        var known = await Eventually.Until(() => JournalPresence.Get(node.Node.System).Known, k => k.Loaded, "known machines loaded at start");
        var preview = await node.Node.Region.Ask<MachineProtocol.CommandResult>(new MachineProtocol.PreviewBoot(mac, new RequestBoot(T0, 7, false, "centos7")), TestNode.Timeout);
        Assert.Equal(0, preview.Version);
        Assert.True(known.IsSurelyNew(Id(mac)));

        var accepted = await node.Node.Execute(mac, new RequestBoot(T0, 7, false, "centos7", "10.0.0.10", "lab"));

        Assert.Equal(2, accepted.Version);
        Assert.False(known.IsSurelyNew(Id(mac)));
        Assert.True(known.IsSurelyNew(Id(LeaseNode.Mac(2))));
    }

    [Fact]
    public async Task A_machine_recorded_by_its_subnet_is_no_longer_surely_new()
    {
        using var data = new TempDirectory();
        await using var node = await LeaseNode.StartAsync(data.Path);
        // Waking the subnet starts the journal, which creates the tables of this fresh database.
        Assert.Equal(0, (await node.Region.Ask<SubnetLeaseProtocol.Awake>(new SubnetLeaseProtocol.Wake("lab"), TestNode.Timeout)).Leases);
        var known = await Eventually.Until(() => JournalPresence.Get(node.Node.System).Known, k => k.Loaded, "known machines loaded at start");
        var mac = LeaseNode.Mac(1);
        Assert.True(known.IsSurelyNew(Id(mac)));

        var ack = await node.Ask(new SubnetLeaseProtocol.RequestFirstBoot("lab", mac, "10.0.0.21", T0, 7, false, "centos7"));

        Assert.Equal(LeaseOutcome.Acked, ack.Outcome);
        await Eventually.Until(() => node.Node.Get(mac), m => m.Version == 2, "the machine records its first boot");
        Assert.False(known.IsSurelyNew(Id(mac)));
    }
}
