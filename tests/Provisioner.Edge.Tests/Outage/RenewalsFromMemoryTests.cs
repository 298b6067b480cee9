using Provisioner.Domain.Leases;
using Provisioner.Domain.Machines;
using Provisioner.Edge.Dhcp;
using Provisioner.Protocols.Dhcp;

namespace Provisioner.Edge.Tests.Outage;

/// <summary>
/// <see cref="RememberingLeaseGateway"/>: while no core can be asked, a client renews exactly what the subnet granted
/// it, until that grant expires and never beyond; everything else is answered at once with no lease.
/// </summary>
public sealed class RenewalsFromMemoryTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 10, 8, 0, 0, TimeSpan.Zero);
    private static readonly MachineId Mac = MachineId.Parse("52:54:00:00:0a:01");
    private static readonly MachineId OtherMac = MachineId.Parse("52:54:00:00:0a:02");
    private static readonly IPv4Address Address = IPv4Address.Parse("10.0.0.10");
    private static readonly IPv4Address OtherAddress = IPv4Address.Parse("10.0.0.11");

    private sealed class Rig : IDisposable
    {
        public ScriptedLeaseGateway Inner { get; } = new();

        public FakeCoreReachability Cores { get; } = new();

        public RememberingLeaseGateway Gateway { get; }

        public Rig(int capacity = 100) => Gateway = new RememberingLeaseGateway(Inner, new RememberedLeases(capacity), Cores);

        /// <summary>The subnet granted <paramref name="address"/> to <paramref name="mac"/> at <paramref name="at"/> for an hour, through this edge.</summary>
        public async Task<LeaseAnswer> GrantAsync(MachineId mac, IPv4Address address, DateTimeOffset at, string subnet = "local") =>
            await Gateway.RequestAsync(subnet, mac, address, false, at, CancellationToken.None);

        public void Dispose() => Gateway.Dispose();
    }

    [Fact]
    public async Task During_an_outage_a_renewal_of_the_granted_address_is_acked_from_memory_with_the_original_expiry()
    {
        using var rig = new Rig();
        var granted = await rig.GrantAsync(Mac, Address, T0);
        rig.Cores.CoresReachable = false;
        var asked = rig.Inner.Calls.Count;

        var renewal = await rig.Gateway.RequestAsync("local", Mac, Address, renewing: true, T0.AddMinutes(30), CancellationToken.None);

        Assert.Equal(T0.AddHours(1), granted.ExpiresAt);
        Assert.Equal(new LeaseAnswer(LeaseOutcome.Acked, Address, T0.AddHours(1), renewal.Reason, FromMemory: true), renewal);
        Assert.Equal(asked, rig.Inner.Calls.Count);
        Assert.Equal(1, rig.Gateway.RenewedFromMemory);
    }

    [Fact]
    public async Task A_renewal_from_memory_never_extends_the_grant_however_often_it_is_asked()
    {
        using var rig = new Rig();
        await rig.GrantAsync(Mac, Address, T0);
        rig.Cores.CoresReachable = false;

        var first = await rig.Gateway.RequestAsync("local", Mac, Address, true, T0.AddMinutes(30), CancellationToken.None);
        var later = await rig.Gateway.RequestAsync("local", Mac, Address, true, T0.AddMinutes(50), CancellationToken.None);

        Assert.Equal(T0.AddHours(1), first.ExpiresAt);
        Assert.Equal(T0.AddHours(1), later.ExpiresAt);
    }

    public static TheoryData<string, string, string, int> NotRemembered { get; } = new()
    {
        // subnet, mac, address, minutes after the grant
        { "local", "52:54:00:00:0a:02", "10.0.0.10", 30 },  // another MAC
        { "local", "52:54:00:00:0a:01", "10.0.0.11", 30 },  // another address
        { "remote", "52:54:00:00:0a:01", "10.0.0.10", 30 }, // another subnet
        { "local", "52:54:00:00:0a:01", "10.0.0.10", 61 },  // expired
        { "local", "52:54:00:00:0a:01", "10.0.0.10", 60 },  // expiring within the margin
    };

    [Theory]
    [MemberData(nameof(NotRemembered))]
    public async Task During_an_outage_a_request_memory_cannot_vouch_for_is_answered_unavailable_at_once(string subnet, string mac, string address, int minutes)
    {
        using var rig = new Rig();
        await rig.GrantAsync(Mac, Address, T0);
        rig.Cores.CoresReachable = false;
        rig.Inner.Hang = new TaskCompletionSource();

        var answer = rig.Gateway.RequestAsync(subnet, MachineId.Parse(mac), IPv4Address.Parse(address), true, T0.AddMinutes(minutes), CancellationToken.None);

        Assert.True(answer.IsCompletedSuccessfully);
        Assert.Equal(LeaseOutcome.Unavailable, (await answer).Outcome);
        Assert.Null((await answer).Address);
        Assert.Equal(0, rig.Gateway.RenewedFromMemory);
    }

    [Fact]
    public async Task A_discover_during_an_outage_is_answered_at_once_without_waiting_for_a_hanging_ask()
    {
        using var rig = new Rig();
        rig.Cores.CoresReachable = false;
        rig.Inner.Hang = new TaskCompletionSource();

        var offer = rig.Gateway.OfferAsync("local", Mac, null, T0, CancellationToken.None);
        var first = rig.Gateway.RequestFirstBootAsync("local", Mac, Address, new MachineCommands.RequestBoot(T0, 7, false, null), CancellationToken.None);
        var release = rig.Gateway.ReleaseAsync("local", Mac, Address, T0, CancellationToken.None);
        var decline = rig.Gateway.DeclineAsync("local", Mac, Address, T0, CancellationToken.None);

        Assert.All(new[] { offer, first, release, decline }, t => Assert.True(t.IsCompletedSuccessfully));
        Assert.All(await Task.WhenAll(offer, first, release, decline), a => Assert.Equal(LeaseOutcome.Unavailable, a.Outcome));
        Assert.Empty(rig.Inner.Calls);
        Assert.Equal(4, rig.Gateway.AnsweredUnavailable);
    }

    [Fact]
    public async Task With_the_cores_reachable_every_call_is_the_lease_actors_and_a_hanging_one_still_hangs()
    {
        using var rig = new Rig();
        rig.Inner.Hang = new TaskCompletionSource();

        var offer = rig.Gateway.OfferAsync("local", Mac, null, T0, CancellationToken.None);
        await Task.Delay(50);

        Assert.False(offer.IsCompleted);
        rig.Inner.Hang.SetResult();
        Assert.Equal(LeaseOutcome.Offered, (await offer).Outcome);
    }

    [Fact]
    public async Task When_the_ask_times_out_before_the_cores_are_known_unreachable_the_renewal_comes_from_memory()
    {
        using var rig = new Rig();
        await rig.GrantAsync(Mac, Address, T0);
        rig.Inner.Throw = new Akka.Actor.AskTimeoutException("Timeout after 5 seconds");

        var renewal = await rig.Gateway.RequestAsync("local", Mac, Address, true, T0.AddMinutes(30), CancellationToken.None);

        Assert.Equal((LeaseOutcome.Acked, T0.AddHours(1), true), (renewal.Outcome, renewal.ExpiresAt, renewal.FromMemory));
    }

    [Fact]
    public async Task When_the_ask_times_out_a_request_memory_cannot_answer_fails_as_before()
    {
        using var rig = new Rig();
        rig.Inner.Throw = new TimeoutException("no answer");

        await Assert.ThrowsAsync<TimeoutException>(() => rig.Gateway.RequestAsync("local", Mac, Address, true, T0, CancellationToken.None));
        await Assert.ThrowsAsync<TimeoutException>(() => rig.Gateway.OfferAsync("local", Mac, null, T0, CancellationToken.None));
    }

    [Fact]
    public async Task A_caller_that_gives_up_is_not_answered_from_memory()
    {
        using var rig = new Rig();
        await rig.GrantAsync(Mac, Address, T0);
        rig.Inner.Hang = new TaskCompletionSource();
        using var giveUp = new CancellationTokenSource();

        var renewal = rig.Gateway.RequestAsync("local", Mac, Address, true, T0.AddMinutes(30), giveUp.Token);
        await giveUp.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => renewal);
        Assert.Equal(0, rig.Gateway.RenewedFromMemory);
    }

    [Fact]
    public async Task A_grant_the_subnet_refuses_released_or_declined_is_forgotten()
    {
        using var rig = new Rig();
        await rig.GrantAsync(Mac, Address, T0);
        await rig.GrantAsync(OtherMac, OtherAddress, T0);
        rig.Inner.Answer = (_, _) => new LeaseAnswer(LeaseOutcome.Nakked, null, null, "leased to another machine");
        await rig.Gateway.RequestAsync("local", Mac, Address, true, T0.AddMinutes(1), CancellationToken.None);
        await rig.Gateway.ReleaseAsync("local", OtherMac, OtherAddress, T0.AddMinutes(1), CancellationToken.None);

        rig.Cores.CoresReachable = false;
        var nakked = await rig.Gateway.RequestAsync("local", Mac, Address, true, T0.AddMinutes(30), CancellationToken.None);
        var released = await rig.Gateway.RequestAsync("local", OtherMac, OtherAddress, true, T0.AddMinutes(30), CancellationToken.None);

        Assert.Equal(LeaseOutcome.Unavailable, nakked.Outcome);
        Assert.Equal(LeaseOutcome.Unavailable, released.Outcome);
        Assert.Equal(0, rig.Gateway.Memory.Count);
    }

    [Fact]
    public async Task A_renewal_the_subnet_granted_anew_is_remembered_with_its_new_expiry()
    {
        using var rig = new Rig();
        await rig.GrantAsync(Mac, Address, T0);
        await rig.Gateway.RequestAsync("local", Mac, Address, true, T0.AddMinutes(30), CancellationToken.None);
        rig.Cores.CoresReachable = false;

        var renewal = await rig.Gateway.RequestAsync("local", Mac, Address, true, T0.AddMinutes(70), CancellationToken.None);

        Assert.Equal((LeaseOutcome.Acked, T0.AddMinutes(90)), (renewal.Outcome, renewal.ExpiresAt));
    }

    [Fact]
    public async Task Declarations_pass_through_during_an_outage_they_have_their_own_retries()
    {
        using var rig = new Rig();
        rig.Cores.CoresReachable = false;

        await rig.Gateway.DeclareAsync(Dhcp.HandlerFixture.Local, "edge1:4054", T0, CancellationToken.None);

        Assert.Equal(new[] { "declare" }, rig.Inner.Calls);
    }
}

/// <summary><see cref="RememberedLeases"/>: bounded, expired grants make room first, then the oldest; live ones evicted are counted.</summary>
public sealed class RememberedLeasesTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 10, 8, 0, 0, TimeSpan.Zero);

    private static RememberedGrant Grant(int n, DateTimeOffset expiresAt) =>
        new("local", MachineId.Parse($"52:54:00:00:0b:{n:x2}"), IPv4Address.Parse($"10.0.0.{n}"), expiresAt);

    [Fact]
    public void Full_it_drops_the_expired_grants_before_any_live_one()
    {
        var memory = new RememberedLeases(3);
        memory.Remember(Grant(1, T0.AddHours(1)), T0);
        memory.Remember(Grant(2, T0.AddMinutes(10)), T0);
        memory.Remember(Grant(3, T0.AddHours(1)), T0);

        memory.Remember(Grant(4, T0.AddHours(2)), T0.AddMinutes(20));

        Assert.Equal(3, memory.Count);
        Assert.Null(memory.Find("local", Grant(2, T0).Mac));
        Assert.NotNull(memory.Find("local", Grant(1, T0).Mac));
        Assert.Equal(0, memory.Evicted);
    }

    [Fact]
    public void Full_of_live_grants_it_drops_the_oldest_and_counts_it()
    {
        var memory = new RememberedLeases(3);
        memory.Remember(Grant(1, T0.AddHours(1)), T0);
        memory.Remember(Grant(2, T0.AddHours(1)), T0);
        memory.Remember(Grant(3, T0.AddHours(1)), T0);
        // Renewed: 1 is now the newest.
        memory.Remember(Grant(1, T0.AddHours(2)), T0.AddMinutes(5));

        memory.Remember(Grant(4, T0.AddHours(2)), T0.AddMinutes(6));
        memory.Remember(Grant(5, T0.AddHours(2)), T0.AddMinutes(7));

        Assert.Equal(3, memory.Count);
        Assert.Equal(2, memory.Evicted);
        Assert.Equal(new[] { 1, 4, 5 }, Enumerable.Range(1, 5).Where(n => memory.Find("local", Grant(n, T0).Mac) is not null));
    }

    [Fact]
    public void A_grant_is_held_per_subnet_and_mac_the_latest_replacing_the_earlier()
    {
        var memory = new RememberedLeases(10);
        var mac = Grant(1, T0).Mac;
        memory.Remember(Grant(1, T0.AddHours(1)), T0);
        memory.Remember(Grant(1, T0.AddHours(1)) with { Address = IPv4Address.Parse("10.0.0.99") }, T0);
        memory.Remember(Grant(1, T0.AddHours(1)) with { Subnet = "remote", Address = IPv4Address.Parse("10.20.0.10") }, T0);

        memory.Forget("local", mac, IPv4Address.Parse("10.0.0.1"));

        Assert.Equal(2, memory.Count);
        Assert.Equal(IPv4Address.Parse("10.0.0.99"), memory.Find("local", mac)?.Address);
        Assert.Equal(IPv4Address.Parse("10.20.0.10"), memory.Find("remote", mac)?.Address);
    }
}
