using System.Diagnostics;
using Provisioner.Cluster.Tests.Support;
using Provisioner.Domain.Leases;
using Xunit.Abstractions;
using static Provisioner.Cluster.Leases.SubnetLeaseProtocol;

namespace Provisioner.Cluster.Tests.Leases;

public sealed class SubnetLeaseActorTests(ITestOutputHelper output)
{
    private static readonly DateTimeOffset T0 = LeaseNode.T0;

    [Fact]
    public async Task Leases_survive_a_restart_of_the_node()
    {
        using var data = new TempDirectory();
        LeaseList before;
        await using (var node = await LeaseNode.StartAsync(data.Path))
        {
            Assert.Equal("10.0.0.10", (await node.Lease("lab", LeaseNode.Mac(1), T0)).Address);
            Assert.Equal("10.0.0.11", (await node.Lease("lab", LeaseNode.Mac(2), T0)).Address);
            Assert.Equal("10.0.0.5", (await node.Lease("lab", "52:54:00:00:09:99", T0)).Address);
            await node.Ask(new Release("lab", LeaseNode.Mac(2), "10.0.0.11", T0.AddMinutes(1)));
            before = await node.List("lab");
        }

        await using (var node = await LeaseNode.StartAsync(data.Path))
        {
            var after = await node.List("lab");
            Assert.Equal(before.Leases, after.Leases);

            // A MAC keeps its address after the restart; another MAC cannot take it.
            var again = await node.Ask(new Offer("lab", LeaseNode.Mac(1), null, T0.AddMinutes(2)));
            var steal = await node.Ask(new Request("lab", LeaseNode.Mac(3), "10.0.0.10", false, T0.AddMinutes(2)));
            var renew = await node.Ask(new Request("lab", LeaseNode.Mac(1), "10.0.0.10", true, T0.AddMinutes(40)));
            Assert.Equal("10.0.0.10", again.Address);
            Assert.Equal(LeaseOutcome.Nakked, steal.Outcome);
            Assert.Equal(LeaseOutcome.Acked, renew.Outcome);
            Assert.Equal(T0.AddMinutes(100), renew.ExpiresAt);
        }
    }

    [Fact]
    public async Task Two_hundred_concurrent_requests_get_distinct_durable_addresses_and_share_journal_writes()
    {
        using var data = new TempDirectory();
        const int Clients = 200;
        var macs = Enumerable.Range(1, Clients).Select(LeaseNode.Mac).ToArray();
        LeaseResult[] acks;
        await using (var node = await LeaseNode.StartAsync(data.Path))
        {
            // Warm the entity and the journal connection so the figure measures grants, not start-up.
            await node.Lease("lab", "52:54:00:00:0f:ff", T0);

            var offers = await Task.WhenAll(macs.Select(m => node.Ask(new Offer("lab", m, null, T0))));
            Assert.All(offers, o => Assert.Equal(LeaseOutcome.Offered, o.Outcome));
            Assert.Equal(Clients, offers.Select(o => o.Address).Distinct().Count());

            var clock = Stopwatch.StartNew();
            acks = await Task.WhenAll(offers.Select(o => node.Ask(new Request("lab", o.Mac, o.Address!, false, T0.AddSeconds(1)))));
            clock.Stop();

            Assert.All(acks, a => Assert.Equal(LeaseOutcome.Acked, a.Outcome));
            Assert.Equal(Clients, acks.Select(a => a.Address).Distinct().Count());
            var list = await node.List("lab");
            output.WriteLine($"{Clients} concurrent REQUESTs on one subnet actor (SQLite): {clock.Elapsed.TotalMilliseconds:0} ms, {Clients / clock.Elapsed.TotalSeconds:0} grants/s; at most {list.MaxWritesInFlight} grants in flight at once");
            Assert.True(list.MaxWritesInFlight > 1, "every grant waited for the previous write: no batching");

            // Contrast: the same number of grants one after another (each waits for its own write).
            var serial = Stopwatch.StartNew();
            for (var i = 0; i < 40; i++)
            {
                await node.Ask(new Request("lab", macs[i], acks[i].Address!, true, T0.AddMinutes(40)));
            }

            serial.Stop();
            output.WriteLine($"40 sequential renewals: {serial.Elapsed.TotalMilliseconds:0} ms, {40 / serial.Elapsed.TotalSeconds:0} grants/s");
        }

        // Every ACK was durable: a fresh node from the same file has every one.
        await using (var node = await LeaseNode.StartAsync(data.Path))
        {
            var leases = (await node.List("lab")).Leases.ToDictionary(l => l.Mac);
            Assert.All(acks, a => Assert.Equal(a.Address, leases[a.Mac].Address));
        }
    }

    [Fact]
    public async Task Many_macs_racing_for_one_address_yield_exactly_one_ack()
    {
        using var data = new TempDirectory();
        await using var node = await LeaseNode.StartAsync(data.Path);

        var results = await Task.WhenAll(Enumerable.Range(1, 50).Select(i =>
            node.Ask(new Request("lab", LeaseNode.Mac(i), "10.0.0.77", false, T0))));

        Assert.Single(results, r => r.Outcome == LeaseOutcome.Acked);
        Assert.Equal(49, results.Count(r => r.Outcome == LeaseOutcome.Nakked));
    }

    [Fact]
    public async Task Retransmitted_request_persists_nothing()
    {
        using var data = new TempDirectory();
        await using var node = await LeaseNode.StartAsync(data.Path);
        var first = await node.Lease("lab", LeaseNode.Mac(1), T0);

        var again = await Task.WhenAll(Enumerable.Range(0, 5).Select(i =>
            node.Ask(new Request("lab", LeaseNode.Mac(1), first.Address!, false, T0.AddSeconds(i)))));

        Assert.All(again, a => Assert.Equal((LeaseOutcome.Acked, first.Address, first.ExpiresAt), (a.Outcome, a.Address, a.ExpiresAt)));
        Assert.Equal(1, (await node.List("lab")).EventsPersisted);
    }

    [Fact]
    public async Task Recovery_from_a_snapshot_plus_later_events_gives_the_same_table()
    {
        using var data = new TempDirectory();
        LeaseList before;
        await using (var node = await LeaseNode.StartAsync(data.Path, "provisioner.edge.dhcp.lease-snapshot-every = 7"))
        {
            for (var i = 1; i <= 24; i++)
            {
                Assert.Equal(LeaseOutcome.Acked, (await node.Lease("lab", LeaseNode.Mac(i), T0)).Outcome);
            }

            await node.Ask(new Decline("lab", LeaseNode.Mac(3), "10.0.0.12", T0.AddSeconds(5)));
            before = await node.List("lab");
        }

        await using (var node = await LeaseNode.StartAsync(data.Path, "provisioner.edge.dhcp.lease-snapshot-every = 7"))
        {
            Assert.Equal(before.Leases, (await node.List("lab")).Leases);
            // The quarantine came back too.
            var nak = await node.Ask(new Request("lab", LeaseNode.Mac(99), "10.0.0.12", false, T0.AddMinutes(1)));
            Assert.Contains("quarantined", nak.Reason);
        }
    }

    [Fact]
    public async Task Small_pool_runs_out_and_says_so()
    {
        using var data = new TempDirectory();
        await using var node = await LeaseNode.StartAsync(data.Path);
        for (var i = 1; i <= 3; i++)
        {
            await node.Lease("tiny", LeaseNode.Mac(i), T0);
        }

        var none = await node.Ask(new Offer("tiny", LeaseNode.Mac(4), null, T0));

        Assert.Equal(LeaseOutcome.NoAddress, none.Outcome);
    }

    [Fact]
    public async Task Unknown_subnet_is_answered_not_dropped()
    {
        using var data = new TempDirectory();
        await using var node = await LeaseNode.StartAsync(data.Path);

        var result = await node.Ask(new Offer("nowhere", LeaseNode.Mac(1), null, T0));

        Assert.Equal(LeaseOutcome.UnknownSubnet, result.Outcome);
    }

    [Fact]
    public async Task Inform_reports_the_active_lease_without_allocating()
    {
        using var data = new TempDirectory();
        await using var node = await LeaseNode.StartAsync(data.Path);
        await node.Lease("lab", LeaseNode.Mac(1), T0);

        var known = await node.Ask(new Inform("lab", LeaseNode.Mac(1), T0.AddMinutes(1)));
        var unknown = await node.Ask(new Inform("lab", LeaseNode.Mac(2), T0.AddMinutes(1)));

        Assert.Equal("10.0.0.10", known.Address);
        Assert.Null(unknown.Address);
        Assert.Single((await node.List("lab")).Leases);
    }
}
