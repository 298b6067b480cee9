using Provisioner.Domain.Machines;
using static Provisioner.Domain.Machines.MachineCommands;
using C = Provisioner.Domain.Tests.Machines.Canonical;
using I = Provisioner.Domain.Tests.Machines.Inputs;

namespace Provisioner.Domain.Tests.Machines;

/// <summary>
/// A DHCP retransmission, a TFTP or HTTP retry, a late report: deciding an input again after its events were
/// applied is Unchanged, with no events and the same boot answer as the first time.
/// </summary>
public sealed class MachineIdempotencyTests
{
    /// <summary>
    /// The exceptions: inputs that are not valid in the state. They are Rejected (no events) the first time and
    /// stay Rejected when repeated, rather than turning into Unchanged.
    /// </summary>
    private static readonly HashSet<(string State, string Input)> StaysRejected =
    [
        (C.New, I.NbpServed),
        (C.New, I.BootScriptServed),
        (C.New, I.KernelFetched),
        (C.New, I.InitrdFetched),
        (C.New, I.KickstartFetched),
        (C.New, I.Installed),
        (C.New, I.Booted),
        (C.New, I.Failure),
        (C.Discovered, I.Booted),
        (C.DiscoveredTimedOut, I.Booted),
        (C.NbpServed, I.Booted),
        (C.KernelFetched, I.Booted),
        (C.KickstartFetched, I.Booted),
        (C.Installed, I.Failure),
        (C.Rebooted, I.Failure),
    ];

    public static TheoryData<string, string> EveryStateAndInput { get; } = Build();

    private static TheoryData<string, string> Build()
    {
        var data = new TheoryData<string, string>();
        foreach (var state in C.All)
        {
            foreach (var input in I.Names)
            {
                data.Add(state.Name, input);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(EveryStateAndInput))]
    public void Repeating_an_input_after_its_events_are_applied_is_an_unchanged_no_op(string state, string input)
    {
        var canonical = C.Get(state);
        var command = I.Create(input, canonical.Now);
        var first = Machine.Decide(canonical.Build(), command, MachinePolicy.Default);
        var afterFirst = first.Events.Aggregate(canonical.Build(), Machine.Apply);

        // The same packet again, as a retransmission arrives: a couple of seconds later.
        var again = Machine.Decide(afterFirst, command with { At = command.At.AddSeconds(2) }, MachinePolicy.Default);

        Assert.Empty(again.Events);
        if (StaysRejected.Contains((state, input)))
        {
            Assert.Equal(DecisionOutcome.Rejected, first.Outcome);
            Assert.Equal(DecisionOutcome.Rejected, again.Outcome);
            return;
        }

        Assert.NotEqual(DecisionOutcome.Rejected, first.Outcome);
        Assert.Equal(DecisionOutcome.Unchanged, again.Outcome);
        Assert.Equal(first.Boot, again.Boot);
    }

    [Fact]
    public void Pxe_boot_in_installed_marks_rebooted_once_then_keeps_answering_local_disk()
    {
        var canonical = C.Get(C.Installed);
        var state = canonical.Build();

        var first = Machine.Decide(state, new RequestBoot(canonical.Now.AddMinutes(1), C.UefiX64, false, C.Profile), MachinePolicy.Default);
        state = first.Events.Aggregate(state, Machine.Apply);
        var second = Machine.Decide(state, new RequestBoot(canonical.Now.AddMinutes(2), C.UefiX64, false, C.Profile), MachinePolicy.Default);
        var third = Machine.Decide(state, new RequestBoot(canonical.Now.AddMinutes(3), C.UefiX64, true, C.Profile), MachinePolicy.Default);

        Assert.Equal((DecisionOutcome.Accepted, BootAction.LocalDisk), (first.Outcome, first.Boot));
        Assert.IsType<MachineEvents.Rebooted>(Assert.Single(first.Events));
        Assert.Equal((DecisionOutcome.Unchanged, BootAction.LocalDisk), (second.Outcome, second.Boot));
        Assert.Equal((DecisionOutcome.Unchanged, BootAction.LocalDisk), (third.Outcome, third.Boot));
        Assert.Empty(second.Events);
        Assert.Empty(third.Events);
    }

    [Fact]
    public void Dhcp_retransmission_storm_after_discover_journals_one_discovered_event()
    {
        var state = MachineState.Empty(C.Mac);
        var journal = new List<IMachineEvent>();

        // PXE ROMs send DISCOVER at 4, 8, 16, 32 s and then a REQUEST: all one boot.
        foreach (var seconds in new[] { 0, 4, 12, 28, 60, 61 })
        {
            var decision = Machine.Decide(state, new RequestBoot(C.T0.AddSeconds(seconds), C.UefiX64, false, C.Profile), MachinePolicy.Default);
            Assert.Equal(BootAction.Nbp, decision.Boot);
            journal.AddRange(decision.Events);
            state = decision.Events.Aggregate(state, Machine.Apply);
        }

        var discovered = Assert.IsType<MachineEvents.Discovered>(Assert.Single(journal));
        Assert.Equal(C.T0, discovered.At);
        Assert.Equal(1, state.Attempt);
    }

    [Fact]
    public void Tftp_retries_of_the_nbp_and_http_retries_of_the_boot_script_journal_once_each()
    {
        var state = C.Get(C.Discovered).Build();
        var journal = new List<IMachineEvent>();
        MachineCommand[] retries =
        [
            new ReportNbpServed(C.At(1), "ipxe.efi"),
            new ReportNbpServed(C.At(1).AddSeconds(1), "ipxe.efi"),
            new ReportNbpServed(C.At(1).AddSeconds(3), "ipxe.efi"),
            new ReportBootScriptServed(C.At(2)),
            new ReportBootScriptServed(C.At(2).AddSeconds(2)),
            new ReportKernelFetched(C.At(3), "/images/rocky9/vmlinuz"),
            new ReportKernelFetched(C.At(3).AddSeconds(5), "/images/rocky9/vmlinuz"),
            new ReportInitrdFetched(C.At(3).AddSeconds(9), "/images/rocky9/initrd.img"),
            new ReportInitrdFetched(C.At(3).AddSeconds(20), "/images/rocky9/initrd.img"),
        ];

        foreach (var command in retries)
        {
            var decision = Machine.Decide(state, command, MachinePolicy.Default);
            Assert.NotEqual(DecisionOutcome.Rejected, decision.Outcome);
            journal.AddRange(decision.Events);
            state = decision.Events.Aggregate(state, Machine.Apply);
        }

        Assert.Equal(
            new[] { typeof(MachineEvents.NbpServed), typeof(MachineEvents.BootScriptServed), typeof(MachineEvents.KernelFetched), typeof(MachineEvents.InitrdFetched) },
            journal.Select(e => e.GetType()));
    }

    [Theory]
    [InlineData(C.Discovered)]
    [InlineData(C.NbpServed)]
    [InlineData(C.KernelFetched)]
    [InlineData(C.KickstartFetched)]
    public void A_missed_deadline_is_reported_once_per_period_however_often_the_timer_fires(string state)
    {
        var canonical = C.Get(state);
        var machine = canonical.Build();
        var journal = new List<IMachineEvent>();
        var late = MachinePolicy.Default.DeadlineOf(machine)!.Value.AddSeconds(1);

        // The timer firing again and again at (almost) the same moment records one miss.
        for (var tick = 0; tick < 20; tick++)
        {
            var decision = Machine.Decide(machine, new CheckDeadline(late.AddMilliseconds(tick)), MachinePolicy.Default);
            journal.AddRange(decision.Events);
            machine = decision.Events.Aggregate(machine, Machine.Apply);
        }

        Assert.IsType<MachineEvents.StageTimedOut>(Assert.Single(journal));
        Assert.Equal(1, machine.Timeouts);
    }

    [Theory]
    [InlineData(C.Discovered)]
    [InlineData(C.NbpServed)]
    [InlineData(C.KernelFetched)]
    [InlineData(C.KickstartFetched)]
    public void A_machine_that_hangs_fails_after_max_timeouts_periods_and_then_stays_quiet(string state)
    {
        var canonical = C.Get(state);
        var machine = canonical.Build();
        var journal = new List<IMachineEvent>();

        for (var hour = 2; hour <= 48; hour++)
        {
            var decision = Machine.Decide(machine, new CheckDeadline(canonical.Now.AddHours(hour)), MachinePolicy.Default);
            journal.AddRange(decision.Events);
            machine = decision.Events.Aggregate(machine, Machine.Apply);
        }

        Assert.Equal(MachinePolicy.Default.MaxTimeouts, journal.OfType<MachineEvents.StageTimedOut>().Count());
        Assert.IsType<MachineEvents.Failed>(journal[^1]);
        Assert.Equal(MachineStage.Failed, machine.Stage);
        Assert.Null(MachinePolicy.Default.DeadlineOf(machine));
    }
}
