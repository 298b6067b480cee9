using Provisioner.Domain.Machines;
using static Provisioner.Domain.Machines.MachineCommands;
using C = Provisioner.Domain.Tests.Machines.Canonical;
using E = Provisioner.Domain.Machines.MachineEvents;

namespace Provisioner.Domain.Tests.Machines;

/// <summary>Rules that only show in states off the canonical path of the decision table.</summary>
public sealed class MachineEdgeRuleTests
{
    [Fact]
    public void Ipxe_asking_after_the_nbp_stage_missed_its_deadline_is_a_retry_and_starts_the_next_attempt()
    {
        var timedOut = Machine.Replay(C.Mac, [.. C.Get(C.NbpServed).Events, new E.StageTimedOut(C.At(6), MachineStage.NbpServed, 1)]);

        var decision = Machine.Decide(timedOut, new RequestBoot(C.At(7), C.UefiX64, true, C.Profile), MachinePolicy.Default);

        Assert.Equal(DecisionOutcome.Accepted, decision.Outcome);
        Assert.Equal(BootAction.BootScript, decision.Boot);
        Assert.Equal(2, Assert.IsType<E.Discovered>(Assert.Single(decision.Events)).Attempt);
    }

    [Fact]
    public void Initrd_report_arriving_after_the_kickstart_is_late_and_changes_nothing()
    {
        // The initrd report raced the kickstart fetch and lost: the installer is already running.
        IMachineEvent[] withoutInitrd = [.. C.Get(C.KernelFetched).Events, new E.KickstartFetched(C.At(4))];
        var kickstart = Machine.Replay(C.Mac, withoutInitrd);

        var decision = Machine.Decide(kickstart, new ReportInitrdFetched(C.At(4).AddSeconds(1), "/images/rocky9/initrd.img"), MachinePolicy.Default);

        Assert.False(kickstart.InitrdFetched);
        Assert.Equal(DecisionOutcome.Unchanged, decision.Outcome);
        Assert.Empty(decision.Events);
    }

    [Fact]
    public void Lease_with_the_same_address_in_another_subnet_is_a_new_lease()
    {
        var discovered = C.Get(C.Discovered).Build();

        var decision = Machine.Decide(discovered, new RecordLease(C.At(1), C.Address, "10.0.1.0/24"), MachinePolicy.Default);

        Assert.Equal(DecisionOutcome.Accepted, decision.Outcome);
        Assert.Equal(new E.LeaseRecorded(C.At(1), C.Address, "10.0.1.0/24"), Assert.Single(decision.Events));
        Assert.Equal("10.0.1.0/24", decision.Events.Aggregate(discovered, Machine.Apply).Subnet);
    }

    [Fact]
    public void Reprovisioning_mid_install_forgets_the_attempt_and_the_next_boot_starts_at_attempt_one()
    {
        var kernel = C.Get(C.KernelFetched).Build();

        var reprovision = Machine.Decide(kernel, new Reprovision(C.At(4), "alice"), MachinePolicy.Default);
        var fresh = reprovision.Events.Aggregate(kernel, Machine.Apply);
        var late = Machine.Decide(fresh, new ReportKickstartFetched(C.At(5)), MachinePolicy.Default);
        var boot = Machine.Decide(fresh, new RequestBoot(C.At(6), C.UefiX64, false, C.Profile), MachinePolicy.Default);

        Assert.Equal(MachineStage.New, fresh.Stage);
        Assert.Equal(DecisionOutcome.Rejected, late.Outcome);
        Assert.Equal(1, Assert.IsType<E.Discovered>(Assert.Single(boot.Events)).Attempt);
    }

    [Fact]
    public void Decide_refuses_null_arguments()
    {
        var state = MachineState.Empty(C.Mac);
        var command = new CheckDeadline(C.T0);

        Assert.Throws<ArgumentNullException>(() => Machine.Decide(null!, command, MachinePolicy.Default));
        Assert.Throws<ArgumentNullException>(() => Machine.Decide(state, null!, MachinePolicy.Default));
        Assert.Throws<ArgumentNullException>(() => Machine.Decide(state, command, null!));
    }
}
