using Provisioner.Domain.Machines;
using static Provisioner.Domain.Machines.MachineCommands;
using C = Provisioner.Domain.Tests.Machines.Canonical;
using E = Provisioner.Domain.Machines.MachineEvents;

namespace Provisioner.Domain.Tests.Machines;

/// <summary>Whole installs as the servers see them, driven the way the persistent actor drives the machine.</summary>
public sealed class MachineJourneyTests
{
    private static readonly DateTimeOffset T0 = C.T0;

    /// <summary>The actor's loop without the actor: decide, journal the events, apply each.</summary>
    private sealed class Bench(MachinePolicy? policy = null)
    {
        private readonly MachinePolicy policy = policy ?? MachinePolicy.Default;

        public MachineState State { get; private set; } = MachineState.Empty(C.Mac);

        public List<IMachineEvent> Journal { get; } = [];

        public Decision Send(MachineCommand command)
        {
            var decision = Machine.Decide(State, command, policy);
            Journal.AddRange(decision.Events);
            State = decision.Events.Aggregate(State, Machine.Apply);
            return decision;
        }

        /// <summary>Sends and asserts the answer: outcome, boot action, and the event types journaled.</summary>
        public void Expect(MachineCommand command, DecisionOutcome outcome, BootAction boot, params Type[] events)
        {
            var decision = Send(command);
            Assert.Equal(outcome, decision.Outcome);
            Assert.Equal(boot, decision.Boot);
            Assert.Equal(events, decision.Events.Select(e => e.GetType()));
        }

        public void Expect(MachineCommand command, DecisionOutcome outcome, params Type[] events) =>
            Expect(command, outcome, BootAction.None, events);
    }

    private static RequestBoot Pxe(DateTimeOffset at, int arch = C.UefiX64) => new(at, arch, false, C.Profile);

    private static RequestBoot Ipxe(DateTimeOffset at, int arch = C.UefiX64) => new(at, arch, true, C.Profile);

    /// <summary>UEFI EDK2 firmware up to the kickstart, with the retransmissions real firmware sends.</summary>
    private static Bench UefiMachineAtKickstart()
    {
        var bench = new Bench();
        bench.Send(Pxe(T0));
        bench.Send(new RecordLease(T0, C.Address, C.Subnet));
        bench.Send(new ReportNbpServed(T0.AddSeconds(6), "ipxe.efi"));
        bench.Send(Ipxe(T0.AddSeconds(12)));
        bench.Send(new ReportBootScriptServed(T0.AddSeconds(14)));
        bench.Send(new ReportKernelFetched(T0.AddSeconds(20), "/images/rocky9/vmlinuz"));
        bench.Send(new ReportInitrdFetched(T0.AddSeconds(30), "/images/rocky9/initrd.img"));
        bench.Send(new ReportKickstartFetched(T0.AddMinutes(1)));
        Assert.Equal(MachineStage.KickstartFetched, bench.State.Stage);
        return bench;
    }

    [Fact]
    public void Bios_machine_with_ipxe_rom_skips_the_nbp_installs_and_then_boots_its_local_disk()
    {
        var bench = new Bench();
        const DecisionOutcome accepted = DecisionOutcome.Accepted, unchanged = DecisionOutcome.Unchanged;

        bench.Expect(Ipxe(T0, C.BiosX86), accepted, BootAction.BootScript, typeof(E.Discovered));
        bench.Expect(Ipxe(T0.AddSeconds(4), C.BiosX86), unchanged, BootAction.BootScript);
        bench.Expect(new ReportBootScriptServed(T0.AddSeconds(6)), accepted, typeof(E.BootScriptServed));
        bench.Expect(new ReportKernelFetched(T0.AddSeconds(10), "/images/rocky9/vmlinuz"), accepted, typeof(E.KernelFetched));
        bench.Expect(new ReportInitrdFetched(T0.AddSeconds(25), "/images/rocky9/initrd.img"), accepted, typeof(E.InitrdFetched));
        bench.Expect(new CheckDeadline(T0.AddMinutes(1)), unchanged);
        bench.Expect(new ReportKickstartFetched(T0.AddMinutes(2)), accepted, typeof(E.KickstartFetched));
        bench.Expect(new CheckDeadline(T0.AddMinutes(30)), unchanged);
        bench.Expect(new ReportInstalled(T0.AddMinutes(40)), accepted, typeof(E.Installed));
        bench.Expect(Ipxe(T0.AddMinutes(42), C.BiosX86), accepted, BootAction.LocalDisk, typeof(E.Rebooted));
        bench.Expect(Ipxe(T0.AddMinutes(42).AddSeconds(4), C.BiosX86), unchanged, BootAction.LocalDisk);
        bench.Expect(Ipxe(T0.AddDays(7), C.BiosX86), unchanged, BootAction.LocalDisk);
        bench.Expect(new ReportBooted(T0.AddMinutes(44)), unchanged);

        var state = bench.State;
        Assert.Equal(MachineStage.Rebooted, state.Stage);
        Assert.Equal(1, state.Attempt);
        Assert.Equal(C.BiosX86, state.Architecture);
        Assert.True(state.FirmwareIsIpxe);
        Assert.Equal(T0.AddMinutes(40), state.InstalledAt);
        Assert.DoesNotContain(bench.Journal, e => e is E.NbpServed);
        Assert.Equal("local-boot", Assert.IsType<E.Rebooted>(bench.Journal[^1]).Via);
    }

    [Fact]
    public void Uefi_edk2_machine_gets_the_nbp_then_its_ipxe_chains_to_the_boot_script_and_installs()
    {
        var bench = new Bench();
        const DecisionOutcome accepted = DecisionOutcome.Accepted, unchanged = DecisionOutcome.Unchanged;

        bench.Expect(Pxe(T0), accepted, BootAction.Nbp, typeof(E.Discovered));
        bench.Expect(Pxe(T0.AddSeconds(4)), unchanged, BootAction.Nbp);
        bench.Expect(new RecordLease(T0.AddSeconds(4), C.Address, C.Subnet), accepted, typeof(E.LeaseRecorded));
        bench.Expect(new ReportNbpServed(T0.AddSeconds(6), "ipxe.efi"), accepted, typeof(E.NbpServed));
        bench.Expect(new ReportNbpServed(T0.AddSeconds(7), "ipxe.efi"), unchanged);
        bench.Expect(Ipxe(T0.AddSeconds(12)), unchanged, BootAction.BootScript);
        bench.Expect(Ipxe(T0.AddSeconds(13)), unchanged, BootAction.BootScript);
        bench.Expect(new ReportBootScriptServed(T0.AddSeconds(14)), accepted, typeof(E.BootScriptServed));
        bench.Expect(new ReportKernelFetched(T0.AddSeconds(20), "/images/rocky9/vmlinuz"), accepted, typeof(E.KernelFetched));
        bench.Expect(new ReportInitrdFetched(T0.AddSeconds(30), "/images/rocky9/initrd.img"), accepted, typeof(E.InitrdFetched));
        bench.Expect(new RecordLease(T0.AddSeconds(45), C.Address, C.Subnet), unchanged);
        bench.Expect(new ReportKickstartFetched(T0.AddMinutes(1)), accepted, typeof(E.KickstartFetched));
        bench.Expect(new ReportInstalled(T0.AddMinutes(30)), accepted, typeof(E.Installed));
        bench.Expect(Pxe(T0.AddMinutes(32)), accepted, BootAction.LocalDisk, typeof(E.Rebooted));
        bench.Expect(new ReportBooted(T0.AddMinutes(34)), unchanged);

        Assert.Equal(MachineStage.Rebooted, bench.State.Stage);
        Assert.Equal(1, bench.State.Attempt);
        Assert.Equal(0, bench.State.Timeouts);
        Assert.False(bench.State.FirmwareIsIpxe);
    }

    [Fact]
    public void Journal_lists_every_event_with_its_time_in_order_and_the_state_agrees()
    {
        var bench = UefiMachineAtKickstart();
        bench.Send(new ReportInstalled(T0.AddMinutes(30)));
        bench.Send(Pxe(T0.AddMinutes(32)));

        var history = bench.Journal.Select(e => (e.GetType().Name, e.At));

        Assert.Equal(
            new[]
            {
                (nameof(E.Discovered), T0),
                (nameof(E.LeaseRecorded), T0),
                (nameof(E.NbpServed), T0.AddSeconds(6)),
                (nameof(E.BootScriptServed), T0.AddSeconds(14)),
                (nameof(E.KernelFetched), T0.AddSeconds(20)),
                (nameof(E.InitrdFetched), T0.AddSeconds(30)),
                (nameof(E.KickstartFetched), T0.AddMinutes(1)),
                (nameof(E.Installed), T0.AddMinutes(30)),
                (nameof(E.Rebooted), T0.AddMinutes(32)),
            },
            history);
        Assert.Equal(Machine.Replay(C.Mac, bench.Journal), bench.State);
        Assert.Equal(T0, bench.State.FirstSeenAt);
        Assert.Equal(T0.AddMinutes(32), bench.State.LastChangedAt);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Pxe_boot_in_the_middle_of_the_install_restarts_it_as_the_next_attempt(bool firmwareIsIpxe)
    {
        var bench = UefiMachineAtKickstart();

        var restart = bench.Send(new RequestBoot(T0.AddMinutes(5), C.UefiX64, firmwareIsIpxe, C.Profile));

        Assert.Equal(DecisionOutcome.Accepted, restart.Outcome);
        Assert.Equal(firmwareIsIpxe ? BootAction.BootScript : BootAction.Nbp, restart.Boot);
        Assert.Equal(2, Assert.IsType<E.Discovered>(Assert.Single(restart.Events)).Attempt);
        var state = bench.State;
        Assert.Equal(MachineStage.Discovered, state.Stage);
        Assert.Equal(2, state.Attempt);
        Assert.Equal(T0.AddMinutes(5), state.StageEnteredAt);
        Assert.False(state.BootScriptServed);
        Assert.False(state.InitrdFetched);
        Assert.Equal(T0, state.FirstSeenAt);

        // The second attempt journals its fetches afresh and completes.
        Assert.Equal(DecisionOutcome.Accepted, bench.Send(new ReportBootScriptServed(T0.AddMinutes(6))).Outcome);
        Assert.Equal(DecisionOutcome.Accepted, bench.Send(new ReportKernelFetched(T0.AddMinutes(6), "/images/rocky9/vmlinuz")).Outcome);
        Assert.Equal(DecisionOutcome.Accepted, bench.Send(new ReportInitrdFetched(T0.AddMinutes(6), "/images/rocky9/initrd.img")).Outcome);
        Assert.Equal(DecisionOutcome.Accepted, bench.Send(new ReportKickstartFetched(T0.AddMinutes(7))).Outcome);
        Assert.Equal(DecisionOutcome.Accepted, bench.Send(new ReportInstalled(T0.AddMinutes(40))).Outcome);
        Assert.Equal(BootAction.LocalDisk, bench.Send(Pxe(T0.AddMinutes(42))).Boot);
        Assert.Equal(MachineStage.Rebooted, bench.State.Stage);
        Assert.Equal(2, bench.State.Attempt);
    }

    [Fact]
    public void Pxe_boot_after_installed_sends_machine_to_local_disk_and_marks_it_rebooted()
    {
        var bench = UefiMachineAtKickstart();
        bench.Send(new ReportInstalled(T0.AddMinutes(30)));

        var boot = bench.Send(Pxe(T0.AddMinutes(32)));

        Assert.Equal(DecisionOutcome.Accepted, boot.Outcome);
        Assert.Equal(BootAction.LocalDisk, boot.Boot);
        var rebooted = Assert.IsType<E.Rebooted>(Assert.Single(boot.Events));
        Assert.Equal("local-boot", rebooted.Via);
        Assert.Equal(MachineStage.Rebooted, bench.State.Stage);
    }

    [Fact]
    public void Installed_system_phoning_home_first_marks_the_machine_rebooted_and_pxe_then_gets_local_disk()
    {
        var bench = UefiMachineAtKickstart();
        bench.Send(new ReportInstalled(T0.AddMinutes(30)));

        var booted = bench.Send(new ReportBooted(T0.AddMinutes(33)));
        var boot = bench.Send(Pxe(T0.AddMinutes(40)));

        Assert.Equal("phone-home", Assert.IsType<E.Rebooted>(Assert.Single(booted.Events)).Via);
        Assert.Equal(DecisionOutcome.Unchanged, boot.Outcome);
        Assert.Equal(BootAction.LocalDisk, boot.Boot);
    }

    [Fact]
    public void Three_missed_deadlines_fail_the_machine_with_a_reason_naming_the_stage()
    {
        var bench = new Bench();
        const DecisionOutcome accepted = DecisionOutcome.Accepted, unchanged = DecisionOutcome.Unchanged;

        // The firmware keeps asking but never downloads the NBP (a broken TFTP path, say).
        bench.Expect(Pxe(T0), accepted, BootAction.Nbp, typeof(E.Discovered));
        bench.Expect(new CheckDeadline(T0.AddMinutes(5).AddTicks(-1)), unchanged);
        bench.Expect(new CheckDeadline(T0.AddMinutes(5)), accepted, typeof(E.StageTimedOut));
        bench.Expect(Pxe(T0.AddMinutes(6)), accepted, BootAction.Nbp, typeof(E.Discovered));
        bench.Expect(new CheckDeadline(T0.AddMinutes(11)), accepted, typeof(E.StageTimedOut));
        bench.Expect(Pxe(T0.AddMinutes(12)), accepted, BootAction.Nbp, typeof(E.Discovered));
        bench.Expect(new CheckDeadline(T0.AddMinutes(17)), accepted, typeof(E.StageTimedOut), typeof(E.Failed));

        var timeouts = bench.Journal.OfType<E.StageTimedOut>().ToList();
        Assert.Equal(new[] { 1, 2, 3 }, timeouts.Select(t => t.Attempt));
        Assert.All(timeouts, t => Assert.Equal(MachineStage.Discovered, t.Stage));
        var failed = Assert.IsType<E.Failed>(bench.Journal[^1]);
        Assert.Equal(MachineStage.Discovered, failed.Stage);
        Assert.Contains("Discovered", failed.Reason, StringComparison.Ordinal);
        Assert.Equal(MachineStage.Failed, bench.State.Stage);
        Assert.Equal(failed.Reason, bench.State.FailureReason);
        Assert.Equal(3, bench.State.Timeouts);

        // Silent from now on, whatever firmware asks, and no timer revives it.
        bench.Expect(Pxe(T0.AddMinutes(18)), unchanged, BootAction.None);
        bench.Expect(Ipxe(T0.AddMinutes(18)), unchanged, BootAction.None);
        bench.Expect(new CheckDeadline(T0.AddDays(1)), unchanged);

        bench.Expect(new Reprovision(T0.AddHours(2), "alice"), accepted, typeof(E.Reprovisioned));
        bench.Expect(Pxe(T0.AddHours(3)), accepted, BootAction.Nbp, typeof(E.Discovered));
        Assert.Equal(1, bench.State.Attempt);
        Assert.Equal(0, bench.State.Timeouts);
        Assert.Null(bench.State.FailureReason);
    }

    [Fact]
    public void Missed_deadlines_add_up_across_stages_and_the_last_stage_is_named_in_the_failure()
    {
        var bench = new Bench();

        bench.Send(Pxe(T0));
        bench.Send(new CheckDeadline(T0.AddMinutes(5)));                                    // Discovered: 1
        bench.Send(Pxe(T0.AddMinutes(6)));
        bench.Send(new ReportNbpServed(T0.AddMinutes(6), "ipxe.efi"));
        bench.Send(new CheckDeadline(T0.AddMinutes(11)));                                   // NbpServed: 2
        bench.Send(new ReportKernelFetched(T0.AddMinutes(12), "/images/rocky9/vmlinuz"));
        var third = bench.Send(new CheckDeadline(T0.AddMinutes(27)));                       // KernelFetched: 3

        Assert.Equal(new[] { typeof(E.StageTimedOut), typeof(E.Failed) }, third.Events.Select(e => e.GetType()));
        var failed = Assert.IsType<E.Failed>(third.Events[1]);
        Assert.Equal(MachineStage.KernelFetched, failed.Stage);
        Assert.Contains("KernelFetched", failed.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(C.Discovered, 5)]
    [InlineData(C.NbpServed, 6)]
    [InlineData(C.KernelFetched, 18)]
    [InlineData(C.KickstartFetched, 94)]
    public void Stage_deadline_falls_exactly_its_timeout_after_the_stage_was_entered(string state, int deadlineMinute)
    {
        var canonical = C.Get(state).Build();
        var deadline = C.At(deadlineMinute);

        var early = Machine.Decide(canonical, new CheckDeadline(deadline.AddTicks(-1)), MachinePolicy.Default);
        var onTime = Machine.Decide(canonical, new CheckDeadline(deadline), MachinePolicy.Default);

        Assert.Equal(DecisionOutcome.Unchanged, early.Outcome);
        Assert.Empty(early.Events);
        Assert.Equal(DecisionOutcome.Accepted, onTime.Outcome);
        var timedOut = Assert.IsType<E.StageTimedOut>(Assert.Single(onTime.Events));
        Assert.Equal(new E.StageTimedOut(deadline, canonical.Stage, 1), timedOut);
    }

    [Fact]
    public void Deadlines_and_the_failure_threshold_come_from_the_policy()
    {
        var strict = MachinePolicy.Default with { KernelFetchedTimeout = TimeSpan.FromMinutes(2), MaxTimeouts = 1 };
        var kernel = C.Get(C.KernelFetched).Build();

        var early = Machine.Decide(kernel, new CheckDeadline(C.At(5).AddTicks(-1)), strict);
        var late = Machine.Decide(kernel, new CheckDeadline(C.At(5)), strict);

        Assert.Equal(DecisionOutcome.Unchanged, early.Outcome);
        Assert.Equal(new[] { typeof(E.StageTimedOut), typeof(E.Failed) }, late.Events.Select(e => e.GetType()));
        Assert.Equal(MachineStage.Failed, late.Events.Aggregate(kernel, Machine.Apply).Stage);
    }

    [Fact]
    public void Installer_failure_report_fails_the_machine_with_the_installers_reason()
    {
        var bench = UefiMachineAtKickstart();

        var decision = bench.Send(new ReportFailure(T0.AddMinutes(10), "anaconda: disk sda not found"));

        var failed = Assert.IsType<E.Failed>(Assert.Single(decision.Events));
        Assert.Equal(MachineStage.KickstartFetched, failed.Stage);
        Assert.Equal("anaconda: disk sda not found", bench.State.FailureReason);
        Assert.Equal(BootAction.None, bench.Send(Pxe(T0.AddMinutes(12))).Boot);
    }

    [Fact]
    public void Installed_report_beats_a_failed_state_and_the_next_pxe_boot_goes_to_local_disk()
    {
        var bench = UefiMachineAtKickstart();
        var strict = MachinePolicy.Default with { MaxTimeouts = 1 };
        var timedOut = Machine.Decide(bench.State, new CheckDeadline(T0.AddMinutes(91)), strict);
        var failed = timedOut.Events.Aggregate(bench.State, Machine.Apply);
        Assert.Equal(MachineStage.Failed, failed.Stage);

        // %post was only slow: it phones home after the deadline gave up on it.
        var installed = Machine.Decide(failed, new ReportInstalled(T0.AddMinutes(95)), MachinePolicy.Default);
        var state = installed.Events.Aggregate(failed, Machine.Apply);
        var boot = Machine.Decide(state, Pxe(T0.AddMinutes(97)), MachinePolicy.Default);

        Assert.Equal(DecisionOutcome.Accepted, installed.Outcome);
        Assert.Equal(MachineStage.Installed, state.Stage);
        Assert.Null(state.FailureReason);
        Assert.Equal(T0.AddMinutes(95), state.InstalledAt);
        Assert.Equal(BootAction.LocalDisk, boot.Boot);
        Assert.IsType<E.Rebooted>(Assert.Single(boot.Events));
    }

    [Fact]
    public void Reprovision_from_rebooted_makes_the_next_pxe_boot_install_again_as_attempt_one()
    {
        var bench = UefiMachineAtKickstart();
        bench.Send(new ReportInstalled(T0.AddMinutes(30)));
        bench.Send(Pxe(T0.AddMinutes(32)));
        Assert.Equal(MachineStage.Rebooted, bench.State.Stage);

        var reprovision = bench.Send(new Reprovision(T0.AddDays(1), "alice"));
        var again = bench.Send(new Reprovision(T0.AddDays(1).AddSeconds(1), "alice"));
        var boot = bench.Send(Pxe(T0.AddDays(2)));

        Assert.Equal("alice", Assert.IsType<E.Reprovisioned>(Assert.Single(reprovision.Events)).RequestedBy);
        Assert.Equal(DecisionOutcome.Unchanged, again.Outcome);
        Assert.Equal(DecisionOutcome.Accepted, boot.Outcome);
        Assert.Equal(BootAction.Nbp, boot.Boot);
        Assert.Equal(1, Assert.IsType<E.Discovered>(Assert.Single(boot.Events)).Attempt);
        Assert.Equal(MachineStage.Discovered, bench.State.Stage);
        Assert.Null(bench.State.InstalledAt);

        bench.Send(new ReportNbpServed(T0.AddDays(2).AddSeconds(6), "ipxe.efi"));
        bench.Send(new ReportKernelFetched(T0.AddDays(2).AddSeconds(20), "/images/rocky9/vmlinuz"));
        bench.Send(new ReportKickstartFetched(T0.AddDays(2).AddMinutes(1)));
        bench.Send(new ReportInstalled(T0.AddDays(2).AddMinutes(30)));
        Assert.Equal(BootAction.LocalDisk, bench.Send(Pxe(T0.AddDays(2).AddMinutes(32))).Boot);
        Assert.Equal(MachineStage.Rebooted, bench.State.Stage);
        Assert.Equal(T0.AddDays(2).AddMinutes(30), bench.State.InstalledAt);
        Assert.Equal(2, bench.Journal.OfType<E.Installed>().Count());
    }

    [Fact]
    public void Rebooted_machine_is_never_reinstalled_by_pxe_boots_or_late_reports()
    {
        var bench = UefiMachineAtKickstart();
        bench.Send(new ReportInstalled(T0.AddMinutes(30)));
        bench.Send(Pxe(T0.AddMinutes(32)));
        var journaled = bench.Journal.Count;

        for (var day = 1; day <= 30; day++)
        {
            var at = T0.AddDays(day);
            Assert.Equal(BootAction.LocalDisk, bench.Send(Pxe(at)).Boot);
            Assert.Equal(BootAction.LocalDisk, bench.Send(Ipxe(at)).Boot);
            bench.Send(new ReportKernelFetched(at, "/images/rocky9/vmlinuz"));
            bench.Send(new ReportKickstartFetched(at));
            bench.Send(new CheckDeadline(at));
        }

        Assert.Equal(journaled, bench.Journal.Count);
        Assert.Equal(MachineStage.Rebooted, bench.State.Stage);
    }
}
