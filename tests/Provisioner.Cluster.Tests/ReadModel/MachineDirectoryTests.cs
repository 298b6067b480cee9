using Akka.Actor;
using Provisioner.Cluster.ReadModel;
using Provisioner.Cluster.Tests.Machines;
using Provisioner.Cluster.Tests.Support;
using Provisioner.Domain.Machines;
using static Provisioner.Cluster.Tests.Machines.MachineJourneys;
using static Provisioner.Domain.Machines.MachineCommands;

namespace Provisioner.Cluster.Tests.ReadModel;

/// <summary>The fleet view is a projection of the journal: it must agree with the machine actors without waking them.</summary>
public sealed class MachineDirectoryTests
{
    // Driven in an order that is not MAC order, so sorting is observable.
    private const string Uefi = "52:54:00:00:00:0c";
    private const string Bios = "52:54:00:00:00:0a";
    private const string Restarted = "52:54:00:00:00:0f";
    private const string Broken = "52:54:00:00:00:01";
    private const string Reprovisioned = "52:54:00:00:00:0b";
    private const string OnlyRejected = "52:54:00:00:00:00";

    /// <summary>How long a live event may take to reach the directory (the query polls every 250 ms).</summary>
    private static readonly TimeSpan LiveWithin = TimeSpan.FromSeconds(10);

    /// <summary>PXE resets twice in the middle of an install: every reset is a new attempt.</summary>
    private static IReadOnlyList<MachineCommand> InstallResetTwice() =>
    [
        new RequestBoot(T0, 0, true, "rocky9"),
        new ReportKernelFetched(T0.AddSeconds(5), "/assets/vmlinuz"),
        new RequestBoot(T0.AddSeconds(30), 0, true, "rocky9"),
        new ReportKernelFetched(T0.AddSeconds(35), "/assets/vmlinuz"),
        new RequestBoot(T0.AddSeconds(60), 0, true, "rocky9"),
    ];

    private static IReadOnlyList<MachineCommand> InstallerReportsFailure() =>
    [
        new RequestBoot(T0, 7, false, "debian12"),
        new RecordLease(T0, "10.0.0.20", "10.0.0.0/24"),
        new ReportNbpServed(T0.AddSeconds(1), "ipxe.efi"),
        new ReportFailure(T0.AddSeconds(90), "no disk found"),
    ];

    private static IReadOnlyList<MachineCommand> InstalledThenReprovisioned() =>
    [
        new RequestBoot(T0, 0, true, "centos7"),
        new RecordLease(T0, "10.0.0.30", "10.0.0.0/24"),
        new ReportKernelFetched(T0.AddSeconds(3), "/assets/vmlinuz"),
        new ReportInstalled(T0.AddSeconds(60)),
        new Reprovision(T0.AddHours(1), "operator"),
    ];

    /// <summary>Reports for a machine that was never offered a boot: all rejected, nothing persisted.</summary>
    private static IReadOnlyList<MachineCommand> NeverBooted() =>
    [
        new ReportKernelFetched(T0, "/assets/vmlinuz"),
        new ReportInstalled(T0.AddSeconds(1)),
        new ReportBooted(T0.AddSeconds(2)),
        new ReportFailure(T0.AddSeconds(3), "nothing to fail"),
        new ReportBootScriptServed(T0.AddSeconds(4)),
    ];

    [Fact]
    public async Task Directory_lists_each_machine_once_sorted_by_mac_with_stage_profile_address_attempt_and_last_change()
    {
        using var data = new TempDirectory();
        await using var node = await StartAsync(TestNode.SettingsFor(data.Path));

        await DriveFleetAsync(node);

        var list = await ListAllAsync(node, data.Path);

        Assert.True(list.CaughtUp);
        Assert.Equal([Broken, Bios, Reprovisioned, Uefi, Restarted], list.Machines.Select(m => m.MachineId));
        Assert.Equal(
            [
                new MachineSummary(Broken, MachineStage.Failed, "debian12", "10.0.0.20", 1, T0, T0.AddSeconds(90), "no disk found"),
                new MachineSummary(Bios, MachineStage.Rebooted, "centos7", "10.0.0.10", 1, T0, T0.AddSeconds(70), null),
                new MachineSummary(Reprovisioned, MachineStage.New, "centos7", "10.0.0.30", 0, T0, T0.AddHours(1), null),
                new MachineSummary(Uefi, MachineStage.KernelFetched, "centos7", "10.0.0.11", 1, T0, T0.AddSeconds(6), null),
                new MachineSummary(Restarted, MachineStage.Discovered, "rocky9", null, 3, T0, T0.AddSeconds(60), null),
            ],
            list.Machines);
        // The directory agrees with what each machine actor itself says.
        Assert.Equal(await SummariesFromActorsAsync(node, Broken, Bios, Reprovisioned, Uefi, Restarted), list.Machines);
        Assert.Equal(JournalMaxOrdering(data.Path), list.Offset);
    }

    [Fact]
    public async Task A_machine_that_only_ever_got_rejected_or_unchanged_commands_is_not_listed()
    {
        using var data = new TempDirectory();
        await using var node = await StartAsync(TestNode.SettingsFor(data.Path));

        foreach (var command in NeverBooted())
        {
            Assert.Equal(DecisionOutcome.Rejected, (await node.Execute(OnlyRejected, command)).Outcome);
        }

        // Reprovisioning a machine never seen changes nothing either.
        Assert.Equal(DecisionOutcome.Unchanged, (await node.Execute(OnlyRejected, new Reprovision(T0, "operator"))).Outcome);
        Assert.False((await node.Get(OnlyRejected)).Known);
        // A machine driven afterwards proves the directory has read past anything the rejected commands could have written.
        await node.Execute(Bios, new RequestBoot(T0, 0, true, "centos7"));

        var list = await ListWhenAsync(node, l => l.Machines.Any(m => m.MachineId == Bios));

        Assert.Equal([Bios], list.Machines.Select(m => m.MachineId));
        Assert.Empty((await node.Directory.Ask<DirectoryProtocol.MachineList>(new DirectoryProtocol.ListMachines(MachineStage.New), TestNode.Timeout)).Machines);
    }

    [Fact]
    public async Task The_list_comes_in_pages_that_chain_in_mac_order_with_and_without_a_stage()
    {
        using var data = new TempDirectory();
        await using var node = await StartAsync(TestNode.SettingsFor(data.Path));
        await DriveFleetAsync(node);
        var all = await ListAllAsync(node, data.Path);
        Assert.Null(all.Next);

        async Task<List<string>> Paged(MachineStage? stage, int limit)
        {
            var ids = new List<string>();
            string? after = null;
            do
            {
                var page = await node.Directory.Ask<DirectoryProtocol.MachineList>(new DirectoryProtocol.ListMachines(stage) { After = after, Limit = limit }, TestNode.Timeout);
                Assert.InRange(page.Machines.Count, 0, limit);
                ids.AddRange(page.Machines.Select(m => m.MachineId));
                after = page.Next;
            }
            while (after is not null);

            return ids;
        }

        Assert.Equal(all.Machines.Select(m => m.MachineId), await Paged(null, 2));
        Assert.Equal(all.Machines.Select(m => m.MachineId), await Paged(null, 1));
        Assert.Equal([Uefi], await Paged(MachineStage.KernelFetched, 1));
        // A page may start after an id that is not a machine: the next one in MAC order.
        var fromMiddle = await node.Directory.Ask<DirectoryProtocol.MachineList>(new DirectoryProtocol.ListMachines { After = "52:54:00:00:00:0a0" }, TestNode.Timeout);
        Assert.Equal([Reprovisioned, Uefi, Restarted], fromMiddle.Machines.Select(m => m.MachineId));
    }

    [Fact]
    public void A_full_page_of_summaries_fits_well_inside_akka_remotes_frame()
    {
        var summaries = Enumerable.Range(0, DirectoryProtocol.ListMachines.MaxLimit)
            .Select(i => new MachineSummary($"52:54:00:{i / 65536:x2}:{i / 256 % 256:x2}:{i % 256:x2}", MachineStage.KickstartFetched, "centos7-compute-large", $"10.{i / 65536}.{i / 256 % 256}.{i % 256}", 3, T0, T0.AddMinutes(7), "stage KernelFetched timed out after 600 s on attempt 2"))
            .ToArray();
        using var system = ActorSystem.Create("page-size", Provisioner.Cluster.Hosting.ProvisionerAkka.SerializationHocon);
        var page = new DirectoryProtocol.MachineList(summaries, long.MaxValue, true) { Next = summaries[^1].MachineId };

        var bytes = system.Serialization.FindSerializerFor(page).ToBinary(page).Length;

        // Akka.Remote drops anything over 128,000 bytes (akka.remote.dot-netty.tcp.maximum-frame-size).
        Assert.True(bytes < 100_000, $"a page of {summaries.Length} summaries is {bytes} bytes");
    }

    [Fact]
    public async Task Listing_by_stage_returns_only_the_machines_in_that_stage_sorted_by_mac()
    {
        using var data = new TempDirectory();
        await using var node = await StartAsync(TestNode.SettingsFor(data.Path));

        await DriveFleetAsync(node);
        await ListAllAsync(node, data.Path);
        // A second machine in one stage, driven in reverse MAC order.
        foreach (var command in MachineJourneys.UefiUntilKernel())
        {
            await node.Execute("52:54:00:00:00:0d", command);
        }

        var kernelFetched = await ListWhenAsync(node, l => l.Machines.Count == 2, MachineStage.KernelFetched);

        Assert.Equal([Uefi, "52:54:00:00:00:0d"], kernelFetched.Machines.Select(m => m.MachineId));
        Assert.All(kernelFetched.Machines, m => Assert.Equal(MachineStage.KernelFetched, m.Stage));
        Assert.Equal([Broken], await IdsInStageAsync(node, MachineStage.Failed));
        Assert.Equal([Bios], await IdsInStageAsync(node, MachineStage.Rebooted));
        Assert.Equal([Reprovisioned], await IdsInStageAsync(node, MachineStage.New));
        Assert.Equal([Restarted], await IdsInStageAsync(node, MachineStage.Discovered));
        Assert.Empty(await IdsInStageAsync(node, MachineStage.Installed));
        Assert.Empty(await IdsInStageAsync(node, MachineStage.KickstartFetched));
        // Every stage's list together is the whole list: nothing filtered twice or lost.
        var all = await ListAllAsync(node, data.Path);
        Assert.Equal(6, all.Machines.Count);
        var byStage = new List<string>();
        foreach (var stage in Enum.GetValues<MachineStage>())
        {
            byStage.AddRange(await IdsInStageAsync(node, stage));
        }

        Assert.Equal(all.Machines.Select(m => m.MachineId).Order(StringComparer.Ordinal), byStage.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task After_a_node_restart_the_directory_rebuilds_the_same_list_from_the_journal_and_then_follows_new_events_live()
    {
        using var data = new TempDirectory();
        var settings = TestNode.SettingsFor(data.Path);
        var resetTwice = InstallResetTwice();
        DirectoryProtocol.MachineList before, live;

        await using (var node = await StartAsync(settings))
        {
            await DriveFleetAsync(node, restartedCommandsBeforeRestart: 3);
            before = await ListAllAsync(node, data.Path);
            // Reset once so far: the second RequestBoot started attempt 2.
            Assert.Equal((MachineStage.Discovered, 2), Single(before, Restarted));
        }

        await using (var node = await StartAsync(settings))
        {
            // Rebuilt from the journal alone: no machine actor is asked before this point.
            var rebuilt = await ListWhenAsync(node, l => l.Offset >= before.Offset);

            Assert.True(rebuilt.CaughtUp);
            // The first start took no snapshot (it caught up on an empty journal and the next is a minute away): every event read.
            Assert.Equal(0, rebuilt.StartedAtOffset);
            Assert.Equal(before.Machines, rebuilt.Machines);
            Assert.Equal(before.Offset, rebuilt.Offset);

            // New events after the restart: the interrupted install resets once more, and the machine that so far got
            // only rejected reports now boots for real.
            foreach (var command in resetTwice.Skip(3))
            {
                await node.Execute(Restarted, command);
            }

            await node.Execute(OnlyRejected, new RequestBoot(T0.AddMinutes(5), 7, false, "debian12"));

            live = await ListWhenAsync(node, l => l.Machines.Count == 6 && Single(l, Restarted) == (MachineStage.Discovered, 3));

            Assert.True(live.CaughtUp);
            Assert.Equal(
                new MachineSummary(Restarted, MachineStage.Discovered, "rocky9", null, 3, T0, T0.AddSeconds(60), null),
                live.Machines.Single(m => m.MachineId == Restarted));
            Assert.Equal(
                new MachineSummary(OnlyRejected, MachineStage.Discovered, "debian12", null, 1, T0.AddMinutes(5), T0.AddMinutes(5), null),
                live.Machines.Single(m => m.MachineId == OnlyRejected));
            // Everyone else is exactly as before the restart.
            Assert.Equal(before.Machines.Where(m => m.MachineId != Restarted), live.Machines.Where(m => m.MachineId is not (Restarted or OnlyRejected)));
            Assert.Equal(JournalMaxOrdering(data.Path), live.Offset);
            Assert.Equal(await SummariesFromActorsAsync(node, live.Machines.Select(m => m.MachineId).ToArray()), live.Machines);
        }

        // A second restart on the same journal: the directory starts from the snapshot it took when it caught up at the
        // last start, and reads only the events written after that; same answer.
        await using (var node = await StartAsync(settings))
        {
            var again = await ListAllAsync(node, data.Path);

            Assert.Equal(live.Machines, again.Machines);
            Assert.Equal((MachineStage.Discovered, 3), Single(again, Restarted));
            Assert.Equal(JournalMaxOrdering(data.Path), again.Offset);
            Assert.Equal(before.Offset, again.StartedAtOffset);
            Assert.Equal(resetTwice.Count - 3 + 1, again.EventsRead);
        }
    }

    /// <summary>
    /// The journeys carry fixed times around <see cref="T0"/>; with the wall clock those deadlines would already have
    /// passed and the actors' own timers would add StageTimedOut/Failed events while the test runs. A clock stopped at
    /// T0 keeps every deadline minutes away.
    /// </summary>
    private static Task<TestNode> StartAsync(Provisioner.Cluster.Hosting.ProvisionerSettings settings) =>
        TestNode.StartAsync(settings, new ManualClock(T0));

    private static (MachineStage Stage, int Attempt) Single(DirectoryProtocol.MachineList list, string machineId) =>
        list.Machines.Where(m => m.MachineId == machineId).Select(m => (m.Stage, m.Attempt)).SingleOrDefault();

    /// <summary>Drives five machines, interleaved and out of MAC order, plus one that only gets rejected commands.</summary>
    private static async Task DriveFleetAsync(TestNode node, int restartedCommandsBeforeRestart = int.MaxValue)
    {
        var journeys = new (string Id, IReadOnlyList<MachineCommand> Commands)[]
        {
            (Uefi, MachineJourneys.UefiUntilKernel()),
            (Restarted, InstallResetTwice().Take(restartedCommandsBeforeRestart).ToArray()),
            (OnlyRejected, NeverBooted()),
            (Bios, MachineJourneys.BiosInstallAndReboot()),
            (Broken, InstallerReportsFailure()),
            (Reprovisioned, InstalledThenReprovisioned()),
        };

        // Round-robin, so the journal interleaves machines as a busy site would.
        for (var step = 0; journeys.Any(j => step < j.Commands.Count); step++)
        {
            foreach (var (id, commands) in journeys.Where(j => step < j.Commands.Count))
            {
                await node.Execute(id, commands[step]);
            }
        }
    }

    private static async Task<MachineSummary[]> SummariesFromActorsAsync(TestNode node, params string[] machineIds)
    {
        var summaries = new List<MachineSummary>();
        foreach (var id in machineIds)
        {
            var s = (await node.Get(id)).State;
            summaries.Add(new MachineSummary(s.MachineId, s.Stage, s.Profile, s.Address, s.Attempt, s.FirstSeenAt, s.LastChangedAt, s.FailureReason));
        }

        return [.. summaries];
    }

    private static async Task<string[]> IdsInStageAsync(TestNode node, MachineStage stage)
    {
        var list = await node.Directory.Ask<DirectoryProtocol.MachineList>(new DirectoryProtocol.ListMachines(stage), TestNode.Timeout);
        return list.Machines.Select(m => m.MachineId).ToArray();
    }

    /// <summary>Polls until the directory is caught up and <paramref name="ready"/>; fails after <see cref="LiveWithin"/> showing what it had.</summary>
    private static async Task<DirectoryProtocol.MachineList> ListWhenAsync(TestNode node, Func<DirectoryProtocol.MachineList, bool> ready, MachineStage? stage = null)
    {
        var deadline = DateTime.UtcNow + LiveWithin;
        while (true)
        {
            var list = await node.Directory.Ask<DirectoryProtocol.MachineList>(new DirectoryProtocol.ListMachines(stage), TestNode.Timeout);
            if (list.CaughtUp && ready(list))
            {
                return list;
            }

            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"directory not ready within {LiveWithin}: caught up {list.CaughtUp}, offset {list.Offset}, machines: "
                    + string.Join("; ", list.Machines.Select(m => $"{m.MachineId} {m.Stage} attempt {m.Attempt}")));
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Everything persisted so far has been folded (every Execute above returned after its events were persisted).</summary>
    private static Task<DirectoryProtocol.MachineList> ListAllAsync(TestNode node, string dataDirectory)
    {
        var last = JournalMaxOrdering(dataDirectory);
        return ListWhenAsync(node, l => l.Offset >= last);
    }

    private static long JournalMaxOrdering(string dataDirectory)
    {
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(dataDirectory, "provisioner.db")}");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COALESCE(MAX(ordering), 0) FROM journal";
        return (long)command.ExecuteScalar()!;
    }
}
