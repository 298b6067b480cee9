using Akka.Actor;
using Akka.Cluster;
using Akka.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Provisioner.Cluster.Tests.Support;
using Provisioner.Edge.Outage;
using Provisioner.Edge.Tests.Http;

namespace Provisioner.Edge.Tests.Outage;

/// <summary>Whether a core can be reached: from the membership rules, through the signal's log lines, to a real two-node cluster.</summary>
public sealed class CoreReachabilityTests
{
    private static UniqueAddress Node(int port) => new(new Address("akka.tcp", "provisioner", "10.0.0.1", port), port);

    [Fact]
    public void Reachable_while_at_least_one_core_is_up_and_not_unreachable()
    {
        var cores = new CoreMembership();
        Assert.False(cores.AnyReachable);

        cores.Up(Node(1));
        cores.Up(Node(2));
        Assert.True(cores.AnyReachable);

        cores.Unreachable(Node(1));
        Assert.True(cores.AnyReachable);

        cores.Unreachable(Node(2));
        Assert.False(cores.AnyReachable);
        Assert.Equal("2 core nodes up, 2 unreachable", cores.ToString());

        cores.Reachable(Node(2));
        Assert.True(cores.AnyReachable);

        cores.Gone(Node(2));
        Assert.False(cores.AnyReachable);

        // A node marked unreachable before it was seen up counts as unreachable once it is.
        cores.Unreachable(Node(3));
        cores.Up(Node(3));
        Assert.False(cores.AnyReachable);
    }

    [Fact]
    public void The_signal_logs_one_warning_when_the_cores_go_and_one_line_with_the_duration_when_they_are_back()
    {
        var clock = new FakeTimeProvider();
        var logs = new ListLoggerProvider();
        var signal = new CoreReachabilitySignal(clock, logs.CreateLogger("cores"), initiallyReachable: false);

        signal.Set(true, "1 core nodes up, 0 unreachable");
        signal.Set(false, "1 core nodes up, 1 unreachable");
        signal.Set(false, "1 core nodes up, 1 unreachable");
        clock.Advance(TimeSpan.FromSeconds(31));
        signal.Set(true, "1 core nodes up, 0 unreachable");
        signal.Set(true, "2 core nodes up, 0 unreachable");

        Assert.True(signal.CoresReachable);
        var lines = logs.Entries.ToArray();
        Assert.Equal(new[] { LogLevel.Information, LogLevel.Warning, LogLevel.Information }, lines.Select(l => l.Level));
        Assert.StartsWith("Core nodes reachable (", lines[0].Message);
        Assert.StartsWith("No core node reachable from this edge (1 core nodes up, 1 unreachable)", lines[1].Message);
        Assert.StartsWith("Core nodes reachable again after 31.0 s", lines[2].Message);
    }

    private static Config Node(string role) => ConfigurationFactory.ParseString($$"""
        akka.loglevel = WARNING
        akka.actor.provider = cluster
        akka.remote.dot-netty.tcp { hostname = "127.0.0.1", port = 0 }
        akka.cluster.roles = [{{role}}]
        akka.cluster.downing-provider-class = ""
        akka.cluster.failure-detector { heartbeat-interval = 200ms, acceptable-heartbeat-pause = 1s }
        akka.coordinated-shutdown.run-by-actor-system-terminate = off
        """);

    [Fact]
    public async Task A_core_node_always_reaches_the_cores()
    {
        using var system = ActorSystem.Create("provisioner", Node("core"));
        using var cores = new ClusterCoreReachability(system, TimeProvider.System, NullLogger<ClusterCoreReachability>.Instance);

        Assert.True(cores.CoresReachable);
        await system.Terminate();
    }

    [Fact]
    public async Task An_edge_reaches_the_cores_once_it_has_seen_one_up_and_not_while_it_is_unreachable()
    {
        var core = ActorSystem.Create("provisioner", Node("core"));
        using var edge = ActorSystem.Create("provisioner", Node("edge"));
        using var cores = new ClusterCoreReachability(edge, TimeProvider.System, NullLogger<ClusterCoreReachability>.Instance);
        try
        {
            // Before this node has joined (and seen a core up) nothing it asks could be answered.
            Assert.False(cores.CoresReachable);

            var seed = Akka.Cluster.Cluster.Get(core).SelfAddress;
            await Akka.Cluster.Cluster.Get(core).JoinAsync(seed);
            await Akka.Cluster.Cluster.Get(edge).JoinAsync(seed);
            await Eventually.Until(() => cores.CoresReachable, r => r, "the edge sees the core up");

            // The core's process dies (no leaving): the edge's failure detector marks it unreachable.
            await core.Terminate();
            await Eventually.Until(() => cores.CoresReachable, r => !r, "the edge sees the core unreachable");
        }
        finally
        {
            await core.Terminate();
            await edge.Terminate();
        }
    }
}
