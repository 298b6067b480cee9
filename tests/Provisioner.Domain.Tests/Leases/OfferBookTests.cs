using Provisioner.Domain.Leases;
using Provisioner.Protocols.Dhcp;
using static Provisioner.Domain.Leases.LeaseCommands;
using static Provisioner.Domain.Leases.LeaseEvents;
using static Provisioner.Domain.Tests.Leases.Subnets;

namespace Provisioner.Domain.Tests.Leases;

/// <summary>The subnet's tentative offers (<see cref="OfferBook"/>): held beside the lease table, settled by the facts applied to it.</summary>
public sealed class OfferBookTests
{
    private static TentativeOffer Held(string mac, string address, int atSeconds = 0) =>
        new(mac, address, T0.AddSeconds(atSeconds + 30), T0.AddSeconds(atSeconds));

    [Fact]
    public void A_held_offer_is_found_by_mac_and_by_address_and_moves_the_fresh_hint_past_it()
    {
        var book = new OfferBook();

        book.Hold(Held(A, "10.0.0.11"));

        Assert.True(book.TryGetByMac(A, out var byMac));
        Assert.True(book.TryGetByAddress(IPv4Address.Parse("10.0.0.11"), out var byAddress));
        Assert.Same(byMac, byAddress);
        Assert.Equal(IPv4Address.Parse("10.0.0.12").Value, book.FreshHint);
    }

    [Fact]
    public void A_new_offer_to_the_same_mac_replaces_its_old_one_and_frees_the_old_address()
    {
        var book = new OfferBook();
        book.Hold(Held(A, "10.0.0.10"));

        book.Hold(Held(A, "10.0.0.11", atSeconds: 1));

        Assert.Equal(1, book.Count);
        Assert.False(book.TryGetByAddress(IPv4Address.Parse("10.0.0.10"), out _));
        Assert.True(book.TryGetByAddress(IPv4Address.Parse("10.0.0.11"), out _));
    }

    [Fact]
    public void A_grant_settles_its_macs_offer_whether_it_came_alone_or_with_a_first_boot()
    {
        var book = new OfferBook();
        book.Hold(Held(A, "10.0.0.10"));
        book.Hold(Held(B, "10.0.0.11"));
        var lease = new LeaseGranted(T0, B, "10.0.0.11", T0.AddHours(1));

        book.Settle(new LeaseGranted(T0, A, "10.0.0.10", T0.AddHours(1)));
        book.Settle(FirstBootLeaseGranted.Of(lease, new FirstBootGranted(T0, B, "10.0.0.11", 0, false, null)));

        Assert.Equal(0, book.Count);
        Assert.Equal(0, book.AddressCount);
    }

    [Fact]
    public void A_decline_withdraws_the_offer_only_of_the_address_declined()
    {
        var book = new OfferBook();
        book.Hold(Held(A, "10.0.0.10"));

        book.Settle(new AddressDeclined(T0, A, "10.0.0.12", T0.AddMinutes(10)));
        Assert.True(book.TryGetByMac(A, out _));

        book.Settle(new AddressDeclined(T0, A, "10.0.0.10", T0.AddMinutes(10)));
        Assert.False(book.TryGetByMac(A, out _));
    }

    [Fact]
    public void Releasing_a_mac_whose_address_was_offered_again_to_another_keeps_the_other_offer()
    {
        // A's offer lapsed and the address went to B: dropping A must not free B's address.
        var book = new OfferBook();
        book.Hold(Held(A, "10.0.0.10"));
        book.Hold(Held(B, "10.0.0.10", atSeconds: 40));

        book.Release(A);

        Assert.True(book.TryGetByAddress(IPv4Address.Parse("10.0.0.10"), out var left));
        Assert.Equal(B, left.Mac);
    }

    [Fact]
    public void Decide_sees_another_macs_live_offer_and_takes_the_next_address()
    {
        var subnet = Small();
        var book = new OfferBook();
        var first = LeaseTable.Decide(LeaseTableState.Empty(subnet.Id), book, subnet, new Offer(T0, A, null), LeasePolicy.Default);
        book.Hold(first.Offer!);

        var second = LeaseTable.Decide(LeaseTableState.Empty(subnet.Id), book, subnet, new Offer(T0, B, first.Address), LeasePolicy.Default);
        var blind = LeaseTable.Decide(LeaseTableState.Empty(subnet.Id), OfferBook.None, subnet, new Offer(T0, B, first.Address), LeasePolicy.Default);

        Assert.Equal("10.0.0.10", first.Address);
        Assert.Equal("10.0.0.11", second.Address);
        Assert.Equal("10.0.0.10", blind.Address);
    }
}
