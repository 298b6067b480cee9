using Provisioner.Domain.Leases;
using static Provisioner.Domain.Leases.LeaseCommands;
using static Provisioner.Domain.Leases.LeaseEvents;

namespace Provisioner.Domain.Tests.Leases;

/// <summary>The first boots a subnet keeps pending until their machines record them (<see cref="LeaseTableState.PendingBoots"/>).</summary>
public sealed class PendingFirstBootTests
{
    private static readonly DateTimeOffset T0 = Subnets.T0;

    private static FirstBootGranted Boot(string mac, DateTimeOffset at, string address = "10.0.0.10", int architecture = 7, bool ipxe = false, string? profile = "centos7") =>
        new(at, mac, address, architecture, ipxe, profile);

    /// <summary>A and B leased the way the actor grants a first boot: each LeaseGranted followed by its FirstBootGranted.</summary>
    private static (LeaseTableState State, List<ILeaseEvent> Journal) WithFirstBoots(out FirstBootGranted a, out FirstBootGranted b)
    {
        var table = new Table(Subnets.Small());
        var leaseA = table.Lease(Subnets.A, T0);
        a = Boot(Subnets.A, T0, leaseA.Address!, architecture: 7, ipxe: false, profile: "centos7");
        var leaseB = table.Lease(Subnets.B, T0.AddSeconds(1));
        b = Boot(Subnets.B, T0.AddSeconds(1), leaseB.Address!, architecture: 0, ipxe: true, profile: null);
        List<ILeaseEvent> journal = [table.Journal[0], a, table.Journal[1], b];
        return (journal.Aggregate(LeaseTableState.Empty("lab"), LeaseTable.Apply), journal);
    }

    [Fact]
    public void First_boot_granted_is_pending_by_mac_with_every_fact_of_the_boot()
    {
        var boot = Boot(Subnets.A, T0, "10.0.0.10", architecture: 7, ipxe: true, profile: "centos7");

        var state = LeaseTable.Apply(LeaseTableState.Empty("lab"), boot);

        Assert.Equal(boot, Assert.Single(state.PendingBoots).Value);
        Assert.Equal(Subnets.A, state.PendingBoots.Keys.Single());
    }

    [Fact]
    public void First_boot_granted_changes_no_binding_it_is_the_lease_events_business()
    {
        var state = LeaseTable.Apply(LeaseTableState.Empty("lab"), Boot(Subnets.A, T0));

        Assert.Empty(state.Bindings);
        Assert.Empty(state.ByMac);
        Assert.Null(state.ActiveLeaseOf(Subnets.A, T0));
    }

    [Theory]
    [InlineData(0, true)]
    [InlineData(1, true)]
    [InlineData(3600, true)]
    [InlineData(-1, false)]
    [InlineData(-3600, false)]
    public void Boot_recorded_at_the_granted_time_or_later_is_no_longer_pending_and_an_earlier_one_changes_nothing(int recordedSecondsAfterGrant, bool removed)
    {
        var state = LeaseTable.Apply(LeaseTableState.Empty("lab"), Boot(Subnets.A, T0));

        var after = state.WithBootRecorded(Subnets.A, T0.AddSeconds(recordedSecondsAfterGrant));

        Assert.Equal(removed, after.PendingBoots.Count == 0);
        if (!removed)
        {
            Assert.Same(state, after);
        }
    }

    [Fact]
    public void Boot_recorded_for_another_mac_leaves_the_pending_boot()
    {
        var state = LeaseTable.Apply(LeaseTableState.Empty("lab"), Boot(Subnets.A, T0));

        var after = state.WithBootRecorded(Subnets.B, T0.AddHours(1));

        Assert.Same(state, after);
        Assert.Single(after.PendingBoots);
    }

    [Fact]
    public void Boot_recorded_with_nothing_pending_changes_nothing()
    {
        var state = LeaseTableState.Empty("lab");

        Assert.Same(state, state.WithBootRecorded(Subnets.A, T0));
    }

    [Fact]
    public void Second_first_boot_for_the_same_mac_replaces_the_first_and_only_its_own_recording_clears_it()
    {
        var first = Boot(Subnets.A, T0, "10.0.0.10", architecture: 7, ipxe: false);
        var second = Boot(Subnets.A, T0.AddSeconds(5), "10.0.0.11", architecture: 7, ipxe: true);

        var state = LeaseTable.Apply(LeaseTable.Apply(LeaseTableState.Empty("lab"), first), second);

        Assert.Equal(second, Assert.Single(state.PendingBoots).Value);
        // The machine reports recording the first boot (handed over before the second was granted): the second stays.
        Assert.Equal(second, Assert.Single(state.WithBootRecorded(Subnets.A, first.At).PendingBoots).Value);
        Assert.Empty(state.WithBootRecorded(Subnets.A, second.At).PendingBoots);
    }

    [Fact]
    public void Pending_boots_of_several_macs_are_kept_and_cleared_independently()
    {
        var (state, _) = WithFirstBoots(out var a, out var b);

        Assert.Equal(2, state.PendingBoots.Count);
        var afterA = state.WithBootRecorded(Subnets.A, a.At);
        Assert.Equal(b, Assert.Single(afterA.PendingBoots).Value);
        Assert.Empty(afterA.WithBootRecorded(Subnets.B, b.At).PendingBoots);
    }

    [Fact]
    public void One_combined_event_replays_exactly_as_the_lease_and_boot_pair_it_replaces()
    {
        var (pairs, journal) = WithFirstBoots(out var a, out var b);
        var leaseA = (LeaseGranted)journal[0];
        var leaseB = (LeaseGranted)journal[2];

        ILeaseEvent[] combined = [FirstBootLeaseGranted.Of(leaseA, a), FirstBootLeaseGranted.Of(leaseB, b)];
        var replayed = LeaseTable.Replay("lab", combined);
        // Old journals (the pair) and new ones (one row) mixed in one subnet's history replay the same too.
        var mixed = LeaseTable.Replay("lab", [journal[0], a, combined[1]]);

        foreach (var state in new[] { replayed, mixed })
        {
            Assert.Equal(pairs.Bindings, state.Bindings);
            Assert.Equal(pairs.ByMac.OrderBy(kv => kv.Key), state.ByMac.OrderBy(kv => kv.Key));
            Assert.Equal(pairs.PendingBoots.OrderBy(kv => kv.Key), state.PendingBoots.OrderBy(kv => kv.Key));
        }

        Assert.Equal(leaseA, ((FirstBootLeaseGranted)combined[0]).Lease);
        Assert.Equal(a, ((FirstBootLeaseGranted)combined[0]).Boot);
    }

    [Fact]
    public void A_lease_and_a_boot_of_different_machines_or_addresses_are_not_combined()
    {
        var lease = new LeaseGranted(T0, Subnets.A, "10.0.0.10", T0.AddHours(1));

        Assert.Throws<ArgumentException>(() => FirstBootLeaseGranted.Of(lease, Boot(Subnets.B, T0, "10.0.0.10")));
        Assert.Throws<ArgumentException>(() => FirstBootLeaseGranted.Of(lease, Boot(Subnets.A, T0, "10.0.0.11")));
    }

    [Fact]
    public void Subnet_snapshot_round_trip_keeps_the_table_and_the_pending_boots()
    {
        var (state, _) = WithFirstBoots(out var a, out var b);
        state = Run(state, new Decline(T0.AddSeconds(2), Subnets.B, state.ActiveLeaseOf(Subnets.B, T0)!.Value.Address.ToString()), []);
        Assert.NotEmpty(state.Quarantine);

        var snapshot = state.ToSubnetSnapshot();
        var restored = LeaseTableState.FromSnapshot(snapshot);

        Assert.Equal([a, b], snapshot.PendingBoots);
        Assert.Equal(state.Bindings, restored.Bindings);
        Assert.Equal(state.ByMac.OrderBy(kv => kv.Key), restored.ByMac.OrderBy(kv => kv.Key));
        Assert.Equal(state.Quarantine, restored.Quarantine);
        Assert.Equal(state.PendingBoots.OrderBy(kv => kv.Key), restored.PendingBoots.OrderBy(kv => kv.Key));
        // The restored set works like the live one: recording A's boot clears it, B's stays.
        Assert.Equal(b, Assert.Single(restored.WithBootRecorded(Subnets.A, a.At).PendingBoots).Value);
    }

    [Fact]
    public void Subnet_snapshot_holds_the_same_table_as_the_old_table_snapshot()
    {
        var (state, _) = WithFirstBoots(out _, out _);

        var table = state.ToSubnetSnapshot().Table;
        var old = state.ToSnapshot();

        Assert.Equal(old.SubnetId, table.SubnetId);
        Assert.Equal(old.Addresses, table.Addresses);
        Assert.Equal(old.Macs, table.Macs);
        Assert.Equal(old.ExpiresAt, table.ExpiresAt);
        Assert.Equal(old.Current, table.Current);
        Assert.Equal(old.QuarantinedAddresses, table.QuarantinedAddresses);
        Assert.Equal(old.QuarantinedUntil, table.QuarantinedUntil);
    }

    [Fact]
    public void Subnet_snapshot_with_nothing_pending_restores_an_empty_pending_set()
    {
        var table = new Table(Subnets.Small());
        table.Lease(Subnets.A, T0);

        var snapshot = table.State.ToSubnetSnapshot();
        var restored = LeaseTableState.FromSnapshot(snapshot);

        Assert.Empty(snapshot.PendingBoots);
        Assert.Empty(restored.PendingBoots);
        Assert.Equal(table.State.Bindings, restored.Bindings);
    }

    [Fact]
    public void Old_table_snapshot_still_restores_the_table_with_nothing_pending()
    {
        var (state, _) = WithFirstBoots(out _, out _);
        Assert.NotEmpty(state.PendingBoots);

        var restored = LeaseTableState.FromSnapshot(state.ToSnapshot());

        Assert.Empty(restored.PendingBoots);
        Assert.Equal(state.Bindings, restored.Bindings);
        // A state restored from an old snapshot still takes new first boots.
        Assert.Single(LeaseTable.Apply(restored, Boot(Subnets.C, T0)).PendingBoots);
    }

    [Fact]
    public void Lease_decisions_and_events_leave_the_pending_boots_alone()
    {
        var (state, _) = WithFirstBoots(out _, out _);
        var pending = state.PendingBoots.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToArray();
        var journal = new List<ILeaseEvent>();

        // A renews, B releases, C is offered and declines the address, and a grant to another MAC.
        state = Run(state, new Renew(T0.AddMinutes(40), Subnets.A, state.ActiveLeaseOf(Subnets.A, T0)!.Value.Address.ToString()), journal);
        state = Run(state, new Release(T0.AddMinutes(41), Subnets.B, state.ActiveLeaseOf(Subnets.B, T0)!.Value.Address.ToString()), journal);
        var offers = new OfferBook();
        var offer = LeaseTable.Decide(state, offers, Subnets.Small(), new Offer(T0.AddMinutes(42), Subnets.C, null), LeasePolicy.Default);
        offers.Hold(offer.Offer!);
        state = Run(state, new Request(T0.AddMinutes(42), Subnets.C, offer.Address!), journal, offers);
        state = Run(state, new Decline(T0.AddMinutes(42), Subnets.C, offer.Address!), journal, offers);
        state = LeaseTable.Apply(state, new LeaseGranted(T0.AddMinutes(43), "52:54:00:00:00:0d", "10.0.0.12", T0.AddMinutes(44)));

        Assert.Equal([typeof(LeaseGranted), typeof(LeaseReleased), typeof(LeaseGranted), typeof(AddressDeclined)], journal.Select(e => e.GetType()));
        Assert.Equal(pending, state.PendingBoots.OrderBy(kv => kv.Key, StringComparer.Ordinal));
    }

    /// <summary>Decide on the small subnet and apply the events, as the actor does (offers are held by the caller).</summary>
    private static LeaseTableState Run(LeaseTableState state, LeaseCommand command, List<ILeaseEvent> journal, OfferBook? offers = null)
    {
        var decision = LeaseTable.Decide(state, offers ?? OfferBook.None, Subnets.Small(), command, LeasePolicy.Default);
        foreach (var e in decision.Events)
        {
            state = LeaseTable.Apply(state, e);
            offers?.Settle(e);
            journal.Add(e);
        }

        return state;
    }
}
