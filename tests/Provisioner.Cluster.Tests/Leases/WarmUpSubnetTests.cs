using Akka.Actor;
using Microsoft.Data.Sqlite;
using Provisioner.Cluster.Leases;
using Provisioner.Cluster.Tests.Support;
using Provisioner.Domain.Leases;
using static Provisioner.Cluster.Leases.SubnetLeaseProtocol;

namespace Provisioner.Cluster.Tests.Leases;

/// <summary>
/// The scratch subnet a DHCP edge warms up on (<see cref="WarmUpSubnet"/>): served by the node's ordinary lease region
/// with the same code as a real subnet, journal writes included, but it hands no first boot to any machine and deletes
/// its journal when forgotten; a real subnet refuses to be forgotten.
/// </summary>
public sealed class WarmUpSubnetTests
{
    private static readonly DateTimeOffset T0 = LeaseNode.T0;

    private static string Mac(int i) => $"0e:77:75:00:{i / 256:x2}:{i % 256:x2}";

    private static async Task<LeaseResult> FirstBootAsync(LeaseNode node, int i)
    {
        var offer = await node.Ask(new Offer(WarmUpSubnet.Id, Mac(i), null, T0));
        Assert.Equal(LeaseOutcome.Offered, offer.Outcome);
        return await node.Ask(new RequestFirstBoot(WarmUpSubnet.Id, Mac(i), offer.Address!, T0, 0, false, null));
    }

    [Fact]
    public async Task Warm_up_subnet_grants_first_boots_durably_but_no_machine_records_them_and_forgetting_deletes_its_journal()
    {
        using var data = new TempDirectory();
        await using (var node = await LeaseNode.StartAsync(data.Path))
        {
            var journal = node.Node.Settings.SqlitePath;
            var acks = await Task.WhenAll(Enumerable.Range(1, 40).Select(i => FirstBootAsync(node, i)));

            Assert.All(acks, a => Assert.Equal(LeaseOutcome.Acked, a.Outcome));
            Assert.All(acks, a => Assert.True(WarmUpSubnet.Definition.Contains(Protocols.Dhcp.IPv4Address.Parse(a.Address!))));
            Assert.Equal(40, acks.Select(a => a.Address).Distinct().Count());
            // One row per machine: the lease and its first boot are one event (FirstBootLeaseGranted).
            Assert.Equal(40, LiveEventsOf(journal, SubnetLeaseActor.PersistencePrefix + WarmUpSubnet.Id));
            // No machine is ever handed a warm-up boot: nothing pending is handed over, no machine row appears.
            await Task.Delay(TimeSpan.FromSeconds(1));
            Assert.Equal(0, RowsLike(journal, "machine-0e:77:75:%"));

            var forgotten = await node.Region.Ask<Forgotten>(new Forget(WarmUpSubnet.Id), TestNode.Timeout);

            Assert.Equal(40, forgotten.Events);
            Assert.Equal(0, LiveEventsOf(journal, SubnetLeaseActor.PersistencePrefix + WarmUpSubnet.Id));
            // The next warm-up starts from an empty table (the actor stopped and recovers nothing).
            var again = await node.Ask(new Offer(WarmUpSubnet.Id, Mac(1), null, T0));
            Assert.Equal(WarmUpSubnet.Definition.PoolStart.ToString(), again.Address);
            Assert.Equal(0, RowsLike(journal, "machine-%"));
        }
    }

    [Fact]
    public async Task A_real_subnet_refuses_to_be_forgotten_and_keeps_its_leases()
    {
        using var data = new TempDirectory();
        await using var node = await LeaseNode.StartAsync(data.Path);
        var lease = await node.Lease("lab", LeaseNode.Mac(1), T0);
        Assert.Equal(LeaseOutcome.Acked, lease.Outcome);

        var refused = await Assert.ThrowsAnyAsync<Exception>(() => node.Region.Ask<Forgotten>(new Forget("lab"), TestNode.Timeout));

        Assert.Contains("only the warm-up subnet", refused.Message);
        Assert.Contains((await node.List("lab")).Leases, l => l.Mac == LeaseNode.Mac(1) && l.Address == lease.Address);
    }

    [Fact]
    public void No_configured_subnet_can_take_the_warm_up_subnets_id()
    {
        var error = Assert.ThrowsAny<Exception>(() => SubnetConfig.ListFromConfig(Akka.Configuration.ConfigurationFactory.ParseString(
            $$"""provisioner.edge.dhcp.subnets = [ { id = "{{WarmUpSubnet.Id}}", network = "10.9.0.0/24", pool-start = "10.9.0.10", pool-end = "10.9.0.20", lease-time = 1h } ]""")));

        Assert.Contains("may only hold", error.Message);
    }

    private static long LiveEventsOf(string sqlitePath, string persistenceId) =>
        Scalar(sqlitePath, "SELECT COUNT(*) FROM journal WHERE persistence_id = @p AND deleted = 0", persistenceId);

    private static long RowsLike(string sqlitePath, string pattern) =>
        Scalar(sqlitePath, "SELECT COUNT(*) FROM journal WHERE persistence_id LIKE @p", pattern);

    private static long Scalar(string sqlitePath, string sql, string parameter)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = sqlitePath, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("@p", parameter);
        return (long)command.ExecuteScalar()!;
    }
}
