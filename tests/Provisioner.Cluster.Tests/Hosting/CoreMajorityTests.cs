using Akka.Actor;
using Provisioner.Cluster.Downing;

namespace Provisioner.Cluster.Tests.Hosting;

public sealed class CoreMajorityTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 7, 6, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan StableAfter = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan EdgeGrace = TimeSpan.FromSeconds(60);

    private static readonly Address Core1 = At("10.0.0.1", 4061);
    private static readonly Address Core2 = At("10.0.0.2", 4061);
    private static readonly Address Core3 = At("10.0.0.3", 4061);
    private static readonly Address Edge = At("10.0.0.0", 4071);

    private static Address At(string host, int port) => new("akka.tcp", "provisioner", host, port);

    private static DowningMember Core(Address a, double? unreachableFor = null) => new(a, true, unreachableFor is { } s ? Now - TimeSpan.FromSeconds(s) : null);

    private static DowningMember EdgeNode(Address a, double? unreachableFor = null, bool refuses = false) => new(a, false, unreachableFor is { } s ? Now - TimeSpan.FromSeconds(s) : null, refuses);

    private static DowningDecision Decide(Address self, double coresStableFor, params DowningMember[] members) =>
        CoreMajority.Decide(self, members, Now, Now - TimeSpan.FromSeconds(coresStableFor), StableAfter, EdgeGrace);

    [Fact]
    public void A_crashed_core_is_downed_by_the_lowest_addressed_reachable_core_once_the_picture_is_stable()
    {
        var members = new[] { Core(Core1, unreachableFor: 6), Core(Core2), Core(Core3), EdgeNode(Edge) };

        Assert.Equal([Core1], Decide(Core2, 6, members).Down);
        Assert.True(Decide(Core3, 6, members).IsEmpty, "core 3 is not the lowest reachable core");
        Assert.True(Decide(Edge, 6, members).IsEmpty, "edges never decide, even with the lowest address");
        Assert.True(Decide(Core2, 4, members).IsEmpty, "not stable for 5 s yet");
    }

    [Fact]
    public void The_minority_side_downs_its_own_cores_and_never_its_edges()
    {
        // Core 3 and an edge cut off from cores 1 and 2.
        var decision = Decide(Core3, 10, Core(Core1, 10), Core(Core2, 10), Core(Core3), EdgeNode(Edge));

        Assert.Equal([Core3], decision.Down);
        Assert.Contains("1 of 3 cores", decision.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_tie_goes_to_the_side_holding_the_lowest_addressed_core()
    {
        var four = At("10.0.0.4", 4061);

        Assert.Equal([Core3, four], Decide(Core1, 10, Core(Core1), Core(Core2), Core(Core3, 10), Core(four, 10)).Down);
        Assert.Equal([four, Core3], Decide(Core3, 10, Core(Core1, 10), Core(Core2, 10), Core(Core3), Core(four)).Down);
    }

    [Fact]
    public void An_edge_cut_off_from_the_cores_is_kept_for_its_grace_then_downed()
    {
        Assert.True(Decide(Core1, 100, Core(Core1), Core(Core2), Core(Core3), EdgeNode(Edge, 30)).IsEmpty);
        Assert.True(Decide(Core1, 100, Core(Core1), Core(Core2), Core(Core3), EdgeNode(Edge, 59.9)).IsEmpty);

        var decision = Decide(Core1, 100, Core(Core1), Core(Core2), Core(Core3), EdgeNode(Edge, 60));
        Assert.Equal([Edge], decision.Down);
        Assert.Contains("edge", decision.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void An_edge_whose_host_refuses_connections_is_dead_and_downed_after_stable_after()
    {
        Assert.True(Decide(Core1, 100, Core(Core1), Core(Core2), EdgeNode(Edge, 4, refuses: true)).IsEmpty);

        var decision = Decide(Core1, 100, Core(Core1), Core(Core2), EdgeNode(Edge, 5, refuses: true));
        Assert.Equal([Edge], decision.Down);
        Assert.Contains("refusing connections", decision.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_side_that_loses_the_cores_does_not_down_a_long_lost_edge_either()
    {
        var decision = Decide(Core3, 100, Core(Core1, 100), Core(Core2, 100), Core(Core3), EdgeNode(Edge, 100));

        Assert.Equal([Core3], decision.Down);
    }

    [Fact]
    public void The_majority_downs_lost_cores_and_long_lost_edges_together()
    {
        var decision = Decide(Core1, 70, Core(Core1), Core(Core2), Core(Core3, 70), EdgeNode(Edge, 70));

        Assert.Equal([Core3, Edge], decision.Down);
    }

    [Fact]
    public void Every_member_reachable_means_nothing_to_do()
    {
        Assert.True(Decide(Core1, 1000, Core(Core1), Core(Core2), Core(Core3), EdgeNode(Edge)).IsEmpty);
    }

    [Fact]
    public void A_lone_core_with_nothing_unreachable_keeps_itself()
    {
        Assert.True(Decide(Core1, 1000, Core(Core1)).IsEmpty);
    }
}
