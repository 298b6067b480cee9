using System.Diagnostics;
using Akka.Actor;
using Provisioner.Cluster.Machines;
using Provisioner.Cluster.Tests.Support;
using Provisioner.Domain.Machines;

namespace Provisioner.Cluster.Tests.Machines;

public sealed class MachineStateCacheTests
{
    private const string Bios = "52:54:00:00:00:01";
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan Within = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task First_read_loads_from_the_machine_actor_and_every_later_read_is_served_from_the_copy()
    {
        using var data = new TempDirectory();
        await using var node = await TestNode.StartAsync(TestNode.SettingsFor(data.Path), new ManualClock(MachineJourneys.T0));
        foreach (var command in MachineJourneys.BiosInstallAndReboot())
        {
            await node.Execute(Bios, command);
        }

        var cache = new MachineStateCache(node.System, AskTimeout, capacity: 100, name: "cache-first-read");

        var first = await cache.GetAsync(node.Region, Bios, CancellationToken.None);
        Assert.Equal(1, cache.Loads);
        Assert.Equal(0, cache.Hits);
        Assert.Equal((await node.Get(Bios)).State, first);

        for (var i = 0; i < 100; i++)
        {
            Assert.Same(first, await cache.GetAsync(node.Region, Bios, CancellationToken.None));
        }

        Assert.Equal(1, cache.Loads);
        Assert.Equal(100, cache.Hits);
    }

    [Fact]
    public async Task Whoever_executed_a_command_and_reported_its_version_reads_its_effect_at_once()
    {
        using var data = new TempDirectory();
        await using var node = await TestNode.StartAsync(TestNode.SettingsFor(data.Path), new ManualClock(MachineJourneys.T0));
        var cache = new MachineStateCache(node.System, AskTimeout, capacity: 100, name: "cache-read-your-writes");

        // Held before the journey starts, so every command below makes the copy stale.
        Assert.Equal(MachineStage.New, (await cache.GetAsync(node.Region, Bios, CancellationToken.None)).Stage);

        foreach (var command in MachineJourneys.BiosInstallAndReboot())
        {
            var result = await node.Execute(Bios, command);
            cache.Observed(Bios, result.Version);

            var read = await cache.GetAsync(node.Region, Bios, CancellationToken.None);
            var actual = (await node.Get(Bios)).State;
            Assert.Equal(result.Stage, read.Stage);
            Assert.Equal(actual, read);
        }

        Assert.Equal(MachineStage.Rebooted, (await cache.GetAsync(node.Region, Bios, CancellationToken.None)).Stage);
    }

    [Fact]
    public async Task A_change_made_by_someone_else_reaches_the_copy_by_push_without_another_load()
    {
        using var data = new TempDirectory();
        await using var node = await TestNode.StartAsync(TestNode.SettingsFor(data.Path), new ManualClock(MachineJourneys.T0));
        var cache = new MachineStateCache(node.System, AskTimeout, capacity: 100, name: "cache-push");
        var journey = MachineJourneys.BiosInstallAndReboot();

        await node.Execute(Bios, journey[0]);
        Assert.Equal(MachineStage.Discovered, (await cache.GetAsync(node.Region, Bios, CancellationToken.None)).Stage);
        Assert.Equal(1, cache.Loads);

        // Nobody tells the cache about these commands (another edge, the deadline timer, an operator).
        foreach (var command in journey.Skip(1))
        {
            await node.Execute(Bios, command);
        }

        var actual = (await node.Get(Bios)).State;
        Assert.Equal(MachineStage.Rebooted, actual.Stage);
        var read = await ReadUntilAsync(cache, node.Region, Bios, s => s == actual);
        Assert.Equal(actual, read);
        Assert.Equal(1, cache.Loads);
    }

    [Fact]
    public async Task When_the_machine_actor_passivates_its_copy_is_dropped_and_the_next_read_loads_again()
    {
        using var data = new TempDirectory();
        var settings = TestNode.SettingsFor(data.Path, "provisioner.machines.passivate-after = 1s");
        await using var node = await TestNode.StartAsync(settings, new ManualClock(MachineJourneys.T0));
        foreach (var command in MachineJourneys.BiosInstallAndReboot())
        {
            await node.Execute(Bios, command);
        }

        var cache = new MachineStateCache(node.System, AskTimeout, capacity: 100, name: "cache-passivation");
        Assert.Equal(MachineStage.Rebooted, (await cache.GetAsync(node.Region, Bios, CancellationToken.None)).Stage);
        Assert.Equal(1, cache.Count);
        Assert.Equal(1, cache.Loads);

        // Rebooted has no deadline pending, so the actor stops after a second idle.
        Assert.True(await WaitUntilAsync(() => cache.Count == 0), $"copy still held after {Within}: {cache.Count}");

        var again = await cache.GetAsync(node.Region, Bios, CancellationToken.None);
        Assert.Equal(2, cache.Loads);
        Assert.Equal(1, cache.Count);
        Assert.Equal((await node.Get(Bios)).State, again);
    }

    [Fact]
    public async Task Over_capacity_copies_are_dropped_so_the_cache_never_holds_more_than_its_capacity()
    {
        using var data = new TempDirectory();
        await using var node = await TestNode.StartAsync(TestNode.SettingsFor(data.Path), new ManualClock(MachineJourneys.T0));
        var cache = new MachineStateCache(node.System, AskTimeout, capacity: 10, name: "cache-capacity");

        for (var i = 0; i < 25; i++)
        {
            var mac = $"52:54:00:00:01:{i:x2}";
            var state = await cache.GetAsync(node.Region, mac, CancellationToken.None);
            Assert.Equal(mac, state.MachineId);
            Assert.True(cache.Count <= 10, $"after {i + 1} machines the cache holds {cache.Count}");
        }

        Assert.Equal(25, cache.Loads);
    }

    [Fact]
    public async Task An_unanswered_watch_times_out_is_swept_and_a_later_read_can_still_load()
    {
        using var data = new TempDirectory();
        await using var node = await TestNode.StartAsync(TestNode.SettingsFor(data.Path));
        var timeout = TimeSpan.FromMilliseconds(300);
        var cache = new MachineStateCache(node.System, timeout, capacity: 100, name: "cache-unanswered");
        var silent = node.System.ActorOf(FakeRegion.Props([]), "silent-region");

        using (var guard = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
        {
            var clock = Stopwatch.StartNew();
            await Assert.ThrowsAsync<AskTimeoutException>(() => cache.GetAsync(silent, Bios, guard.Token));
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"timed out after {clock.Elapsed}");
        }

        Assert.Equal(1, (await FakeRegion.SeenAsync(silent)).Watches);
        Assert.True(await WaitUntilAsync(() => cache.Count == 0, TimeSpan.FromSeconds(5)), $"placeholder not swept: {cache.Count}");

        var answered = MachineState.Empty(Bios);
        var answering = node.System.ActorOf(FakeRegion.Props([(answered, 0)]), "answering-region");
        using (var guard = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
        {
            Assert.Same(answered, await cache.GetAsync(answering, Bios, guard.Token));
        }

        Assert.Equal(1, cache.Count);
    }

    [Fact]
    public async Task Concurrent_first_reads_of_one_machine_share_a_single_watch()
    {
        using var data = new TempDirectory();
        await using var node = await TestNode.StartAsync(TestNode.SettingsFor(data.Path));
        var cache = new MachineStateCache(node.System, AskTimeout, capacity: 100, name: "cache-concurrent");
        var answered = MachineState.Empty(Bios) with { Stage = MachineStage.Discovered, Attempt = 1 };
        var region = node.System.ActorOf(FakeRegion.Props([(answered, 1)], TimeSpan.FromMilliseconds(100)), "slow-region");

        using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var reads = Enumerable.Range(0, 50).Select(_ => Task.Run(() => cache.GetAsync(region, Bios, guard.Token))).ToList();
        var states = await Task.WhenAll(reads);

        Assert.All(states, s => Assert.Same(answered, s));
        Assert.Equal(1, (await FakeRegion.SeenAsync(region)).Watches);
    }

    [Fact]
    public async Task A_stale_notice_never_replaces_a_newer_copy_and_an_observed_version_forces_a_fresh_load()
    {
        using var data = new TempDirectory();
        await using var node = await TestNode.StartAsync(TestNode.SettingsFor(data.Path));
        var cache = new MachineStateCache(node.System, AskTimeout, capacity: 100, name: "cache-versions");
        var s3 = MachineState.Empty(Bios) with { Stage = MachineStage.Discovered, Attempt = 3 };
        var s5 = MachineState.Empty(Bios) with { Stage = MachineStage.NbpServed, Attempt = 5 };
        var s7 = MachineState.Empty(Bios) with { Stage = MachineStage.KernelFetched, Attempt = 7 };
        var region = node.System.ActorOf(FakeRegion.Props([(s5, 5), (s7, 7)]), "scripted-region");
        using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(10));

        Assert.Same(s5, await cache.GetAsync(region, Bios, guard.Token));
        var keeper = (await FakeRegion.SeenAsync(region)).Keeper!;

        // A notice overtaken by a newer one (e.g. reordered across nodes) arrives after version 5 is held.
        await region.Ask<FakeRegion.Pushed>(new FakeRegion.Push(new MachineProtocol.MachineChanged(Bios, s3, 3)), TestNode.Timeout);
        // The keeper handles its mailbox in order: once it identifies itself, the notice above has been handled.
        await keeper.Ask<ActorIdentity>(new Identify(null), TestNode.Timeout);
        Assert.Same(s5, await cache.GetAsync(region, Bios, guard.Token));
        Assert.Equal(1, cache.Loads);

        // A command was answered at version 7: version 5 must not be served any more.
        cache.Observed(Bios, 7);
        Assert.Same(s7, await cache.GetAsync(region, Bios, guard.Token));
        Assert.Equal(2, (await FakeRegion.SeenAsync(region)).Watches);
        Assert.Equal(2, cache.Loads);
    }

    /// <summary>Reads through the cache until <paramref name="done"/> holds or <see cref="Within"/> passes; returns the last read.</summary>
    private static async Task<MachineState> ReadUntilAsync(MachineStateCache cache, IActorRef region, string machineId, Func<MachineState, bool> done)
    {
        var deadline = DateTime.UtcNow + Within;
        while (true)
        {
            var state = await cache.GetAsync(region, machineId, CancellationToken.None);
            if (done(state) || DateTime.UtcNow > deadline)
            {
                return state;
            }

            await Task.Delay(20);
        }
    }

    private static async Task<bool> WaitUntilAsync(Func<bool> condition, TimeSpan? within = null)
    {
        var deadline = DateTime.UtcNow + (within ?? Within);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(20);
        }

        return true;
    }

    /// <summary>
    /// Stands in for the shard region: counts <see cref="MachineProtocol.WatchMachine"/>s, remembers who sent them (the
    /// cache's keeper), and answers the n-th watch with the n-th scripted state (the last one repeats; none: silent).
    /// </summary>
    private sealed class FakeRegion : ReceiveActor
    {
        private int _watches;
        private IActorRef? _keeper;

        public FakeRegion(IReadOnlyList<(MachineState State, long Version)> answers, TimeSpan delay)
        {
            Receive<MachineProtocol.WatchMachine>(watch =>
            {
                _keeper = Sender;
                var n = _watches++;
                if (answers.Count == 0)
                {
                    return;
                }

                var (state, version) = answers[Math.Min(n, answers.Count - 1)];
                var answer = new MachineProtocol.MachineChanged(watch.MachineId, state, version);
                if (delay > TimeSpan.Zero)
                {
                    Context.System.Scheduler.ScheduleTellOnce(delay, Sender, answer, Self);
                }
                else
                {
                    Sender.Tell(answer);
                }
            });
            Receive<Seen>(_ => Sender.Tell(new Seen(_watches, _keeper)));
            Receive<Push>(push =>
            {
                _keeper!.Tell(push.Changed);
                Sender.Tell(new Pushed());
            });
        }

        public static Props Props(IReadOnlyList<(MachineState State, long Version)> answers, TimeSpan? delay = null) =>
            Akka.Actor.Props.Create(() => new FakeRegion(answers, delay ?? TimeSpan.Zero));

        public static Task<Seen> SeenAsync(IActorRef region) => region.Ask<Seen>(new Seen(0, null), TestNode.Timeout);

        /// <summary>Asked with anything: answered with the watches received so far and the last watcher.</summary>
        public sealed record Seen(int Watches, IActorRef? Keeper);

        /// <summary>Send <paramref name="Changed"/> to the keeper as if from the machine actor; answered with <see cref="Pushed"/> once sent.</summary>
        public sealed record Push(MachineProtocol.MachineChanged Changed);

        public sealed record Pushed;
    }
}
