using Provisioner.Domain.Machines;
using static Provisioner.Domain.Machines.MachineCommands;
using C = Provisioner.Domain.Tests.Machines.Canonical;
using E = Provisioner.Domain.Machines.MachineEvents;

namespace Provisioner.Domain.Tests.Machines;

/// <summary>
/// Reports an edge held back while it could not reach any core node, delivered afterwards: possibly twice (an ask that
/// timed out although the machine had recorded it, then the queued copy), possibly after the machine started another
/// install attempt. Nothing is recorded twice, and nothing is credited to an attempt it does not belong to.
/// </summary>
public sealed class MachineLateReportTests
{
    private static readonly DateTimeOffset T0 = C.T0;

    /// <summary>One whole UEFI install's reports, in the order the edge sends them.</summary>
    private static MachineCommand[] InstallReports(DateTimeOffset start) =>
    [
        new ReportNbpServed(start.AddSeconds(6), "ipxe.efi"),
        new ReportBootScriptServed(start.AddSeconds(14)),
        new ReportKernelFetched(start.AddSeconds(20), "/images/rocky9/vmlinuz"),
        new ReportInitrdFetched(start.AddSeconds(30), "/images/rocky9/initrd.img"),
        new ReportKickstartFetched(start.AddMinutes(1)),
        new ReportInstalled(start.AddMinutes(20)),
        new ReportBooted(start.AddMinutes(22)),
    ];

    /// <summary>The actor's loop without the actor: decide, journal the events, apply each.</summary>
    private static (MachineState State, List<IMachineEvent> Journal) Run(MachineState state, IEnumerable<MachineCommand> commands)
    {
        var journal = new List<IMachineEvent>();
        foreach (var command in commands)
        {
            var decision = Machine.Decide(state, command, MachinePolicy.Default);
            journal.AddRange(decision.Events);
            state = decision.Events.Aggregate(state, Machine.Apply);
        }

        return (state, journal);
    }

    private static MachineState Booted(DateTimeOffset at) =>
        Run(MachineState.Empty(C.Mac), [new RequestBoot(at, C.UefiX64, false, C.Profile, C.Address, C.Subnet)]).State;

    [Fact]
    public void Every_report_delivered_twice_is_recorded_once()
    {
        var reports = InstallReports(T0);
        var once = Run(Booted(T0), reports);

        // Each report reaches the machine a second time: right after the first (the ask timed out, the queued copy
        // followed) and again once everything else was recorded (a whole outbox delivered late).
        var twice = Run(Booted(T0), [.. reports.SelectMany(r => new[] { r, r }), .. reports]);

        Assert.Equal(MachineStage.Rebooted, once.State.Stage);
        Assert.Equal(once.Journal, twice.Journal);
        Assert.Equal(once.State, twice.State);
        Assert.Equal(reports.Length, once.Journal.Count);
    }

    [Fact]
    public void A_report_delivered_again_after_later_stages_were_recorded_changes_nothing()
    {
        var reports = InstallReports(T0);
        var (state, _) = Run(Booted(T0), reports[..5]);

        foreach (var late in reports[..5])
        {
            var decision = Machine.Decide(state, late, MachinePolicy.Default);
            Assert.Equal(DecisionOutcome.Unchanged, decision.Outcome);
            Assert.Empty(decision.Events);
        }
    }

    public static TheoryData<string> AttemptReports { get; } = new()
    {
        nameof(ReportNbpServed),
        nameof(ReportBootScriptServed),
        nameof(ReportKernelFetched),
        nameof(ReportInitrdFetched),
        nameof(ReportKickstartFetched),
        nameof(ReportInstalled),
    };

    private static MachineCommand Report(string name, DateTimeOffset at) =>
        InstallReports(at.AddSeconds(-6)).Single(r => r.GetType().Name == name) with { At = at };

    /// <summary>Attempt 1 reached the kernel; the machine was reset and PXE-booted again at <paramref name="restart"/> (attempt 2).</summary>
    private static MachineState SecondAttempt(DateTimeOffset restart) =>
        Run(Booted(T0), [.. InstallReports(T0)[..3], new RequestBoot(restart, C.UefiX64, false, C.Profile, C.Address, C.Subnet)]).State;

    [Theory]
    [MemberData(nameof(AttemptReports))]
    public void A_report_from_the_previous_attempt_delivered_after_the_machine_booted_again_is_not_credited_to_the_new_attempt(string report)
    {
        var restart = T0.AddMinutes(10);
        var state = SecondAttempt(restart);

        var decision = Machine.Decide(state, Report(report, restart.AddSeconds(-30)), MachinePolicy.Default);

        Assert.Equal((MachineStage.Discovered, 2), (state.Stage, state.Attempt));
        Assert.Equal(DecisionOutcome.Unchanged, decision.Outcome);
        Assert.Empty(decision.Events);
        Assert.Contains("attempt before attempt 2", decision.Reason);
    }

    [Theory]
    [MemberData(nameof(AttemptReports))]
    public void The_same_report_made_during_the_new_attempt_is_recorded(string report)
    {
        var restart = T0.AddMinutes(10);
        var state = SecondAttempt(restart);

        var decision = Machine.Decide(state, Report(report, restart.AddSeconds(5)), MachinePolicy.Default);

        Assert.Equal(DecisionOutcome.Accepted, decision.Outcome);
        Assert.Single(decision.Events);
    }

    [Theory]
    [InlineData(nameof(ReportBootScriptServed))]
    [InlineData(nameof(ReportKernelFetched))]
    [InlineData(nameof(ReportInitrdFetched))]
    [InlineData(nameof(ReportKickstartFetched))]
    [InlineData(nameof(ReportInstalled))]
    public void Once_the_new_attempt_has_moved_on_an_old_report_of_a_later_stage_is_still_not_recorded(string report)
    {
        var restart = T0.AddMinutes(10);
        var (state, _) = Run(SecondAttempt(restart), [new ReportNbpServed(restart.AddSeconds(6), "ipxe.efi")]);

        var decision = Machine.Decide(state, Report(report, restart.AddSeconds(-30)), MachinePolicy.Default);

        Assert.Equal(MachineStage.NbpServed, state.Stage);
        Assert.Equal(DecisionOutcome.Unchanged, decision.Outcome);
        Assert.Empty(decision.Events);
    }

    [Fact]
    public void An_initrd_report_overtaken_by_the_kernels_is_still_recorded()
    {
        // Both downloads end within a moment; the kernel's report reached the machine first.
        var (state, _) = Run(Booted(T0), [.. InstallReports(T0)[..2], new ReportKernelFetched(T0.AddSeconds(31), "/images/rocky9/vmlinuz")]);

        var decision = Machine.Decide(state, new ReportInitrdFetched(T0.AddSeconds(30), "/images/rocky9/initrd.img"), MachinePolicy.Default);

        Assert.Equal(DecisionOutcome.Accepted, decision.Outcome);
        Assert.IsType<E.InitrdFetched>(Assert.Single(decision.Events));
    }

    [Fact]
    public void A_phone_home_held_back_until_deadlines_failed_the_machine_still_proves_the_install()
    {
        // %post phoned home during the outage; the kickstart deadlines ran out before the queued report arrived.
        var (kickstart, _) = Run(Booted(T0), InstallReports(T0)[..5]);
        var failed = Run(kickstart, [new CheckDeadline(T0.AddHours(3)), new CheckDeadline(T0.AddHours(5)), new CheckDeadline(T0.AddHours(7))]).State;

        var decision = Machine.Decide(failed, new ReportInstalled(T0.AddMinutes(20)), MachinePolicy.Default);

        Assert.Equal(MachineStage.Failed, failed.Stage);
        Assert.Equal(DecisionOutcome.Accepted, decision.Outcome);
        Assert.IsType<E.Installed>(Assert.Single(decision.Events));
    }
}
