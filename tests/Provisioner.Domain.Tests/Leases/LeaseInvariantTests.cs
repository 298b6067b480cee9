using Provisioner.Domain.Leases;
using Provisioner.Protocols.Dhcp;
using static Provisioner.Domain.Leases.LeaseCommands;

namespace Provisioner.Domain.Tests.Leases;

/// <summary>
/// Property-style: random sequences of thousands of commands from a dozen MACs over a three-address pool (plus a
/// reservation), with time moving, leases expiring, releases, declines, rogue requests and restarts from snapshots.
/// After every step, as the clients see it (what they were ACKed and have not given back): no two MACs hold the
/// same unexpired address, and the reserved address was only ever given to its MAC.
/// </summary>
public sealed class LeaseInvariantTests
{
    private static readonly string[] Macs = Enumerable.Range(1, 12).Select(i => $"52:54:00:00:01:{i:x2}").Append(Subnets.Reserved).ToArray();

    private static readonly string[] Addresses = ["10.0.0.9", "10.0.0.10", "10.0.0.11", "10.0.0.12", "10.0.0.13", "10.0.0.50", "10.0.1.10"];

    public static TheoryData<int> Seeds => new() { 1, 2, 3, 4, 5, 6, 7, 8 };

    [Theory]
    [MemberData(nameof(Seeds))]
    public void No_two_macs_ever_hold_the_same_unexpired_address(int seed)
    {
        var random = new Random(seed);
        var subnet = Subnets.Small(TimeSpan.FromMinutes(2));
        var state = LeaseTableState.Empty(subnet.Id);
        var offers = new OfferBook();
        var journal = new List<ILeaseEvent>();
        var now = Subnets.T0;
        var held = new Dictionary<string, (string Address, DateTimeOffset ExpiresAt)>();
        var lastOffer = new Dictionary<string, string>();
        var acks = 0;

        for (var step = 0; step < 5000; step++)
        {
            now += TimeSpan.FromSeconds(random.Next(0, 8));
            var mac = Macs[random.Next(Macs.Length)];
            var own = held.TryGetValue(mac, out var h) ? h.Address : null;
            LeaseCommand command = random.Next(10) switch
            {
                0 or 1 => new Offer(now, mac, random.Next(3) == 0 ? Pick(random) : null),
                2 or 3 => new Request(now, mac, lastOffer.GetValueOrDefault(mac) ?? Pick(random)),
                4 => new Request(now, mac, Pick(random)),
                5 => new Renew(now, mac, own ?? Pick(random)),
                6 => new Renew(now, mac, Pick(random)),
                7 => new Release(now, mac, own ?? Pick(random)),
                8 => new Decline(now, mac, own ?? lastOffer.GetValueOrDefault(mac) ?? Pick(random)),
                _ => new Offer(now, mac, own),
            };

            if (random.Next(200) == 0)
            {
                // A restart: durable state from a snapshot, offers gone.
                state = LeaseTableState.FromSnapshot(state.ToSnapshot());
                offers = new OfferBook();
            }

            var decision = LeaseTable.Decide(state, offers, subnet, command, LeasePolicy.Default);
            if (decision.Offer is { } offer)
            {
                offers.Hold(offer);
            }

            foreach (var e in decision.Events)
            {
                state = LeaseTable.Apply(state, e);
                offers.Settle(e);
                journal.Add(e);
            }

            switch (decision.Outcome)
            {
                case LeaseOutcome.Offered:
                    lastOffer[mac] = decision.Address!;
                    AssertReservationRespected(subnet, mac, decision.Address!);
                    break;
                case LeaseOutcome.Acked:
                    acks++;
                    Assert.True(decision.ExpiresAt > now, $"step {step}: ACK already expired");
                    AssertReservationRespected(subnet, mac, decision.Address!);
                    held[mac] = (decision.Address!, decision.ExpiresAt!.Value);
                    break;
                case LeaseOutcome.Noted when command is Release or Decline && own == command switch { Release r => r.Address, Decline d => d.Address, _ => null }:
                    // The client gave its address back.
                    held.Remove(mac);
                    break;
            }

            var live = held.Where(kv => kv.Value.ExpiresAt > now).GroupBy(kv => kv.Value.Address).FirstOrDefault(g => g.Count() > 1);
            Assert.True(live is null, $"seed {seed} step {step} ({command}): {live?.Key} held by {string.Join(", ", live?.Select(kv => kv.Key) ?? [])}");
        }

        Assert.True(acks > 100, $"only {acks} ACKs: the random walk did not exercise the pool");

        // Apply is deterministic: replaying the journal rebuilds the durable part of the state.
        var replayed = LeaseTable.Replay(subnet.Id, journal);
        Assert.Equal(state.Bindings.OrderBy(kv => kv.Key), replayed.Bindings.OrderBy(kv => kv.Key));
        Assert.Equal(state.Quarantine.OrderBy(kv => kv.Key), replayed.Quarantine.OrderBy(kv => kv.Key));

        // The indexes follow the table, whether built by Apply or from a snapshot.
        foreach (var table in new[] { state, replayed, LeaseTableState.FromSnapshot(state.ToSnapshot()) })
        {
            // The sets enumerate in their sort order; compared as sequences, so the order is checked too.
            Assert.Equal(table.Bindings.Select(kv => (kv.Value.ExpiresAt, kv.Key)).Order(), table.Expiries.ToArray());
            // The never-leased index: from every address of the subnet (and one past it), the next address never leased.
            var bound = table.Bindings.Keys.Select(a => a.Value).ToHashSet();
            for (var from = subnet.Network.Value; from <= subnet.Broadcast.Value + 1; from++)
            {
                var expected = from;
                while (bound.Contains(expected))
                {
                    expected++;
                }

                Assert.Equal(expected, table.NextNeverBound(from));
            }
        }
    }

    private static string Pick(Random random) => Addresses[random.Next(Addresses.Length)];

    private static void AssertReservationRespected(SubnetDefinition subnet, string mac, string address)
    {
        var reservation = subnet.ReservationOf(IPv4Address.Parse(address));
        Assert.True(reservation is null || reservation.Mac == mac, $"reserved {address} given to {mac}");
    }
}
