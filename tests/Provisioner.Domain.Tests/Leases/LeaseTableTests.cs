using Provisioner.Domain.Leases;
using Provisioner.Protocols.Dhcp;
using static Provisioner.Domain.Leases.LeaseCommands;
using static Provisioner.Domain.Leases.LeaseEvents;

namespace Provisioner.Domain.Tests.Leases;

internal static class Subnets
{
    public static readonly DateTimeOffset T0 = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);

    public const string A = "52:54:00:00:00:0a";
    public const string B = "52:54:00:00:00:0b";
    public const string C = "52:54:00:00:00:0c";
    public const string Reserved = "52:54:00:00:00:99";

    /// <summary>10.0.0.0/24, pool .10–.12 (three addresses), router .1, .50 reserved (outside the pool).</summary>
    public static SubnetDefinition Small(TimeSpan? leaseTime = null) => new()
    {
        Id = "lab",
        Network = IPv4Address.Parse("10.0.0.0"),
        PrefixLength = 24,
        PoolStart = IPv4Address.Parse("10.0.0.10"),
        PoolEnd = IPv4Address.Parse("10.0.0.12"),
        Router = IPv4Address.Parse("10.0.0.1"),
        LeaseTime = leaseTime ?? TimeSpan.FromHours(1),
        Reservations = [new SubnetReservation(Reserved, IPv4Address.Parse("10.0.0.50"), "db1")],
    };
}

/// <summary>Drives a lease table the way the actor does: decide, hold the offer, apply the events.</summary>
internal sealed class Table(SubnetDefinition subnet)
{
    public LeaseTableState State { get; private set; } = LeaseTableState.Empty(subnet.Id);

    public OfferBook Offers { get; } = new();

    public List<ILeaseEvent> Journal { get; } = [];

    public LeaseDecision Run(LeaseCommand command)
    {
        var decision = LeaseTable.Decide(State, Offers, subnet, command, LeasePolicy.Default);
        if (decision.Offer is { } offer)
        {
            Offers.Hold(offer);
        }

        foreach (var e in decision.Events)
        {
            State = LeaseTable.Apply(State, e);
            Offers.Settle(e);
            Journal.Add(e);
        }

        return decision;
    }

    /// <summary>DISCOVER then REQUEST of the offered address.</summary>
    public LeaseDecision Lease(string mac, DateTimeOffset at, string? requested = null)
    {
        var offer = Run(new Offer(at, mac, requested));
        Assert.Equal(LeaseOutcome.Offered, offer.Outcome);
        return Run(new Request(at, mac, offer.Address!));
    }
}

public sealed class LeaseTableTests
{
    private static readonly DateTimeOffset T0 = Subnets.T0;

    [Fact]
    public void Discover_is_offered_the_first_never_used_pool_address_and_persists_nothing()
    {
        var table = new Table(Subnets.Small());

        var offer = table.Run(new Offer(T0, Subnets.A, null));

        Assert.Equal(LeaseOutcome.Offered, offer.Outcome);
        Assert.Equal("10.0.0.10", offer.Address);
        Assert.Empty(offer.Events);
        Assert.Equal(T0 + TimeSpan.FromSeconds(30), offer.Offer!.Until);
    }

    [Fact]
    public void Two_discovers_from_different_macs_get_different_offers()
    {
        var table = new Table(Subnets.Small());

        var a = table.Run(new Offer(T0, Subnets.A, null));
        var b = table.Run(new Offer(T0, Subnets.B, null));
        var aAgain = table.Run(new Offer(T0.AddSeconds(2), Subnets.A, null));

        Assert.NotEqual(a.Address, b.Address);
        Assert.Equal(a.Address, aAgain.Address);
    }

    [Fact]
    public void Offer_prefers_the_requested_address_when_free()
    {
        var table = new Table(Subnets.Small());

        Assert.Equal("10.0.0.12", table.Run(new Offer(T0, Subnets.A, "10.0.0.12")).Address);
    }

    [Fact]
    public void Offer_ignores_a_requested_address_outside_the_pool_or_reserved()
    {
        var table = new Table(Subnets.Small());

        Assert.Equal("10.0.0.10", table.Run(new Offer(T0, Subnets.A, "10.0.0.200")).Address);
        Assert.Equal("10.0.0.11", table.Run(new Offer(T0, Subnets.B, "10.0.0.50")).Address);
    }

    [Fact]
    public void Request_of_the_offered_address_is_acked_with_a_grant_event()
    {
        var table = new Table(Subnets.Small());

        var ack = table.Lease(Subnets.A, T0);

        Assert.Equal(LeaseOutcome.Acked, ack.Outcome);
        Assert.Equal(T0.AddHours(1), ack.ExpiresAt);
        Assert.Equal([new LeaseGranted(T0, Subnets.A, "10.0.0.10", T0.AddHours(1))], ack.Events);
        Assert.Equal(0, table.Offers.Count);
    }

    [Fact]
    public void Retransmitted_request_and_early_renewal_persist_nothing()
    {
        var table = new Table(Subnets.Small());
        table.Lease(Subnets.A, T0);

        var again = table.Run(new Request(T0.AddSeconds(1), Subnets.A, "10.0.0.10"));
        var early = table.Run(new Renew(T0.AddMinutes(29), Subnets.A, "10.0.0.10"));

        Assert.Equal(LeaseOutcome.Acked, again.Outcome);
        Assert.Empty(again.Events);
        Assert.Equal(T0.AddHours(1), again.ExpiresAt);
        Assert.Equal(LeaseOutcome.Acked, early.Outcome);
        Assert.Empty(early.Events);
    }

    [Fact]
    public void Renewal_at_half_the_lease_time_extends_the_lease()
    {
        var table = new Table(Subnets.Small());
        table.Lease(Subnets.A, T0);

        var renew = table.Run(new Renew(T0.AddMinutes(30), Subnets.A, "10.0.0.10"));

        Assert.Equal(LeaseOutcome.Acked, renew.Outcome);
        Assert.Equal([new LeaseGranted(T0.AddMinutes(30), Subnets.A, "10.0.0.10", T0.AddMinutes(90))], renew.Events);
    }

    [Fact]
    public void Renewal_of_an_address_the_mac_does_not_hold_is_nakked()
    {
        var table = new Table(Subnets.Small());
        table.Lease(Subnets.A, T0);

        var renew = table.Run(new Renew(T0.AddMinutes(30), Subnets.B, "10.0.0.10"));

        Assert.Equal(LeaseOutcome.Nakked, renew.Outcome);
        Assert.Empty(renew.Events);
    }

    [Theory]
    [InlineData("10.0.0.10", "leased to another machine")]
    [InlineData("10.0.0.50", "reserved for another machine")]
    [InlineData("10.0.0.200", "outside the pool")]
    [InlineData("10.0.1.10", "not on subnet")]
    [InlineData("10.0.0.1", "not a host address")]
    [InlineData("not-an-address", "not an IPv4 address")]
    public void Request_for_an_address_the_mac_may_not_have_is_nakked(string address, string reason)
    {
        var table = new Table(Subnets.Small());
        table.Lease(Subnets.A, T0);

        var nak = table.Run(new Request(T0.AddMinutes(1), Subnets.B, address));

        Assert.Equal(LeaseOutcome.Nakked, nak.Outcome);
        Assert.Contains(reason, nak.Reason);
        Assert.Empty(nak.Events);
    }

    [Fact]
    public void Request_for_an_address_offered_to_another_mac_is_nakked_until_the_offer_lapses()
    {
        var table = new Table(Subnets.Small());
        table.Run(new Offer(T0, Subnets.A, null));

        Assert.Equal(LeaseOutcome.Nakked, table.Run(new Request(T0.AddSeconds(5), Subnets.B, "10.0.0.10")).Outcome);
        Assert.Equal(LeaseOutcome.Acked, table.Run(new Request(T0.AddSeconds(31), Subnets.B, "10.0.0.10")).Outcome);
    }

    [Fact]
    public void Reserved_mac_always_gets_its_reserved_address_and_nobody_else_does()
    {
        var table = new Table(Subnets.Small());

        var offer = table.Run(new Offer(T0, Subnets.Reserved, "10.0.0.11"));
        var wrong = table.Run(new Request(T0, Subnets.Reserved, "10.0.0.11"));
        var right = table.Run(new Request(T0, Subnets.Reserved, "10.0.0.50"));

        Assert.Equal("10.0.0.50", offer.Address);
        Assert.Equal(LeaseOutcome.Nakked, wrong.Outcome);
        Assert.Contains("reserved address 10.0.0.50", wrong.Reason);
        Assert.Equal(LeaseOutcome.Acked, right.Outcome);
    }

    [Fact]
    public void Mac_keeps_its_address_after_expiry_and_after_a_replay_of_its_journal()
    {
        var table = new Table(Subnets.Small());
        table.Lease(Subnets.A, T0);
        table.Lease(Subnets.B, T0);

        var replayed = LeaseTable.Replay("lab", table.Journal);
        var later = T0.AddHours(5);
        var offer = LeaseTable.Decide(replayed, OfferBook.None, Subnets.Small(), new Offer(later, Subnets.B, null), LeasePolicy.Default);

        Assert.Equal("10.0.0.11", offer.Address);
    }

    [Fact]
    public void Snapshot_round_trip_keeps_bindings_affinity_and_quarantine()
    {
        var table = new Table(Subnets.Small());
        table.Lease(Subnets.A, T0);
        table.Lease(Subnets.B, T0);
        table.Run(new Decline(T0.AddSeconds(1), Subnets.B, "10.0.0.11"));

        var restored = LeaseTableState.FromSnapshot(table.State.ToSnapshot());

        Assert.Equal(table.State.Bindings, restored.Bindings);
        Assert.Equal(table.State.ByMac.OrderBy(kv => kv.Key), restored.ByMac.OrderBy(kv => kv.Key));
        Assert.Equal(table.State.Quarantine, restored.Quarantine);
    }

    [Fact]
    public void Never_used_addresses_are_preferred_over_expired_ones_then_the_longest_expired_is_reused()
    {
        var table = new Table(Subnets.Small(TimeSpan.FromMinutes(10)));
        table.Lease(Subnets.A, T0);                 // .10 until T0+10m
        table.Lease(Subnets.B, T0.AddMinutes(1));   // .11 until T0+11m

        var afterExpiry = T0.AddMinutes(20);
        var fresh = table.Lease(Subnets.C, afterExpiry);
        var reused = table.Run(new Offer(afterExpiry, "52:54:00:00:00:0d", null));

        Assert.Equal("10.0.0.12", fresh.Address);
        Assert.Equal("10.0.0.10", reused.Address);
    }

    [Fact]
    public void Addresses_of_lapsed_offers_are_offered_again_after_the_search_wraps()
    {
        var table = new Table(Subnets.Small());
        table.Run(new Offer(T0, Subnets.A, null));
        table.Run(new Offer(T0, Subnets.B, null));
        table.Run(new Offer(T0, Subnets.C, null));

        var none = table.Run(new Offer(T0.AddSeconds(10), "52:54:00:00:00:0d", null));
        var again = table.Run(new Offer(T0.AddSeconds(31), "52:54:00:00:00:0d", null));

        Assert.Equal(LeaseOutcome.NoAddress, none.Outcome);
        Assert.Equal("10.0.0.10", again.Address);
    }

    [Fact]
    public void Lapsed_offers_are_swept_from_memory()
    {
        var table = new Table(Subnets.Small() with { PoolEnd = IPv4Address.Parse("10.0.0.250") });
        for (var i = 0; i < 300; i++)
        {
            table.Run(new Offer(T0.AddSeconds(i), $"52:54:00:00:{i / 256:x2}:{i % 256:x2}", null));
        }

        Assert.True(table.Offers.Count < 100, $"{table.Offers.Count} offers held");
        Assert.True(table.Offers.AddressCount <= table.Offers.Count);
    }

    [Fact]
    public void Large_pool_hands_out_every_address_once_then_reuses_the_longest_expired()
    {
        var subnet = Subnets.Small() with
        {
            Network = IPv4Address.Parse("10.8.0.0"),
            PrefixLength = 16,
            PoolStart = IPv4Address.Parse("10.8.0.10"),
            PoolEnd = IPv4Address.Parse("10.8.15.255"),
            Router = IPv4Address.Parse("10.8.0.1"),
            Reservations = [new SubnetReservation(Subnets.Reserved, IPv4Address.Parse("10.8.3.3"), null)],
        };
        var table = new Table(subnet);
        var size = (int)(subnet.PoolEnd.Value - subnet.PoolStart.Value + 1);
        var given = new HashSet<string>();
        for (var i = 0; i < size - 1; i++)
        {
            var ack = table.Lease($"02:00:00:00:{i / 256:x2}:{i % 256:x2}", T0.AddMilliseconds(i));
            Assert.True(given.Add(ack.Address!), $"{ack.Address} given twice");
        }

        var none = table.Run(new Offer(T0.AddHours(0.5), "02:00:00:ff:00:01", null));
        var reused = table.Run(new Offer(T0.AddHours(2), "02:00:00:ff:00:01", null));

        Assert.DoesNotContain("10.8.3.3", given);
        Assert.Equal(LeaseOutcome.NoAddress, none.Outcome);
        Assert.Equal("10.8.0.10", reused.Address);
    }

    [Fact]
    public void Full_pool_offers_nothing()
    {
        var table = new Table(Subnets.Small());
        table.Lease(Subnets.A, T0);
        table.Lease(Subnets.B, T0);
        table.Lease(Subnets.C, T0);

        var none = table.Run(new Offer(T0, "52:54:00:00:00:0d", null));

        Assert.Equal(LeaseOutcome.NoAddress, none.Outcome);
    }

    [Fact]
    public void Release_frees_the_address_but_the_mac_gets_it_back_first()
    {
        var table = new Table(Subnets.Small());
        table.Lease(Subnets.A, T0);

        var release = table.Run(new Release(T0.AddMinutes(5), Subnets.A, "10.0.0.10"));
        var other = table.Lease(Subnets.B, T0.AddMinutes(6));
        var back = table.Run(new Offer(T0.AddMinutes(7), Subnets.A, null));

        Assert.Equal([new LeaseReleased(T0.AddMinutes(5), Subnets.A, "10.0.0.10")], release.Events);
        Assert.Equal("10.0.0.11", other.Address); // never-used first
        Assert.Equal("10.0.0.10", back.Address);
    }

    [Fact]
    public void Release_by_a_mac_that_does_not_hold_the_address_changes_nothing()
    {
        var table = new Table(Subnets.Small());
        table.Lease(Subnets.A, T0);

        var release = table.Run(new Release(T0, Subnets.B, "10.0.0.10"));

        Assert.Empty(release.Events);
        Assert.Equal(LeaseOutcome.Acked, table.Run(new Request(T0, Subnets.A, "10.0.0.10")).Outcome);
    }

    [Fact]
    public void Declined_address_is_quarantined_then_returns_to_the_pool()
    {
        var table = new Table(Subnets.Small());
        table.Lease(Subnets.A, T0);

        var decline = table.Run(new Decline(T0.AddSeconds(2), Subnets.A, "10.0.0.10"));
        var during = table.Run(new Offer(T0.AddMinutes(1), Subnets.A, "10.0.0.10"));
        var nak = table.Run(new Request(T0.AddMinutes(1), Subnets.B, "10.0.0.10"));
        var after = table.Run(new Request(T0.AddMinutes(11), Subnets.B, "10.0.0.10"));

        Assert.Equal([new AddressDeclined(T0.AddSeconds(2), Subnets.A, "10.0.0.10", T0.AddSeconds(2).AddMinutes(10))], decline.Events);
        Assert.NotEqual("10.0.0.10", during.Address);
        Assert.Contains("quarantined", nak.Reason);
        Assert.Equal(LeaseOutcome.Acked, after.Outcome);
    }

    [Fact]
    public void Decline_from_a_mac_that_was_not_given_the_address_is_ignored()
    {
        var table = new Table(Subnets.Small());
        table.Lease(Subnets.A, T0);

        var decline = table.Run(new Decline(T0, Subnets.B, "10.0.0.10"));

        Assert.Empty(decline.Events);
        Assert.Empty(table.State.Quarantine);
    }

    [Fact]
    public void Apply_is_total_for_events_it_cannot_use()
    {
        var state = LeaseTable.Apply(LeaseTableState.Empty("lab"), new LeaseGranted(T0, Subnets.B, "10.0.0.11", T0.AddHours(1)));
        var before = state.ToSubnetSnapshot();

        Assert.Same(state, LeaseTable.Apply(state, new LeaseReleased(T0, Subnets.A, "10.0.0.10")));
        Assert.Same(state, LeaseTable.Apply(state, new LeaseReleased(T0, Subnets.A, "10.0.0.11")));
        Assert.Same(state, LeaseTable.Apply(state, new LeaseGranted(T0, Subnets.A, "garbage", T0)));
        Assert.Equivalent(before, state.ToSubnetSnapshot(), strict: true);
    }
}
