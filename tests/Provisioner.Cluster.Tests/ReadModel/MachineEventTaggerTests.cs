using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using Provisioner.Cluster.Hosting;
using Provisioner.Cluster.Leases;
using Provisioner.Cluster.ReadModel;
using Provisioner.Cluster.Tests.Leases;
using Provisioner.Cluster.Tests.Support;
using Provisioner.Domain.Leases;
using Provisioner.Domain.Machines;
using static Provisioner.Domain.Machines.MachineCommands;

namespace Provisioner.Cluster.Tests.ReadModel;

/// <summary>
/// The read model follows the machine tag, not every event: lease grants (thousands a second in a DHCP storm) must
/// never reach it, and every machine event must.
/// </summary>
public sealed class MachineEventTaggerTests
{
    [Fact]
    public async Task Machine_events_carry_the_tag_and_lease_events_do_not()
    {
        using var data = new TempDirectory();
        await using var node = await LeaseNode.StartAsync(data.Path);
        var t0 = LeaseNode.T0;
        for (var i = 1; i <= 5; i++)
        {
            Assert.Equal(LeaseOutcome.Acked, (await node.Lease("lab", LeaseNode.Mac(i), t0)).Outcome);
        }

        await node.Node.Execute("52:54:00:00:00:01", new RequestBoot(t0, 0, true, "centos7"));
        await node.Node.Execute("52:54:00:00:00:01", new ReportKernelFetched(t0.AddSeconds(5), "/assets/vmlinuz"));

        var journal = PersistenceQuery.Get(node.Node.System).ReadJournalFor<SqlReadJournal>(ProvisionerAkka.SqlReadJournalId);
        var materializer = node.Node.System.Materializer();
        var tagged = await journal.CurrentEventsByTag(MachineEventTagger.Tag, Offset.NoOffset()).RunWith(Sink.Seq<EventEnvelope>(), materializer);
        var all = await journal.CurrentAllEvents(Offset.NoOffset()).RunWith(Sink.Seq<EventEnvelope>(), materializer);

        Assert.NotEmpty(tagged);
        Assert.All(tagged, e => Assert.IsAssignableFrom<IMachineEvent>(e.Event));
        Assert.Equal(all.Count(e => e.Event is IMachineEvent), tagged.Count);
        Assert.Contains(all, e => e.Event is ILeaseEvent && e.PersistenceId.StartsWith(SubnetLeaseActor.PersistencePrefix, StringComparison.Ordinal));
    }
}
