using Provisioner.Cluster.ReadModel;
using Provisioner.Domain.Machines;

namespace Provisioner.Cluster.Tests.ReadModel;

public sealed class WakeScheduleTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 7, 8, 0, 0, TimeSpan.Zero);

    private static MachineState At(string id, MachineStage stage, double minutesAgo) =>
        MachineState.Empty(id) with { Stage = stage, StageEnteredAt = T0.AddMinutes(-minutesAgo) };

    private static readonly MachineState[] Machines =
    [
        At("kickstart", MachineStage.KickstartFetched, 10), // due at +80 min
        At("discovered-late", MachineStage.Discovered, 7),  // due 2 min ago
        At("kernel", MachineStage.KernelFetched, 1),        // due at +14 min
        At("discovered", MachineStage.Discovered, 4),       // due at +1 min
        At("installed", MachineStage.Installed, 30),        // no deadline
        At("rebooted", MachineStage.Rebooted, 60),
    ];

    [Fact]
    public void With_a_policy_each_machine_mid_install_is_due_when_its_deadline_is_and_one_without_is_never_woken()
    {
        var schedule = WakeSchedule.For(Machines, MachinePolicy.Default);

        Assert.Equal(4, schedule.Count);
        Assert.Equal(["discovered-late"], schedule.Due(T0, 100));
        Assert.Empty(schedule.Due(T0.AddSeconds(59), 100));
        Assert.Equal(["discovered", "kernel"], schedule.Due(T0.AddMinutes(14), 100));
        Assert.Equal(["kickstart"], schedule.Due(T0.AddHours(2), 100));
        Assert.Equal(0, schedule.Count);
        Assert.Empty(schedule.Due(T0.AddDays(1), 100));
    }

    [Fact]
    public void A_tick_wakes_at_most_its_share_and_the_rest_on_the_next()
    {
        var many = Enumerable.Range(0, 10).Select(i => At($"m{i:00}", MachineStage.Discovered, 60)).ToArray();
        var schedule = WakeSchedule.For(many, MachinePolicy.Default);

        Assert.Equal(["m00", "m01", "m02"], schedule.Due(T0, 3));
        Assert.Equal(7, schedule.Count);
        Assert.Equal(7, schedule.Due(T0, 100).Count);
    }

    [Fact]
    public void Without_a_policy_every_machine_mid_install_is_due_at_once_oldest_stage_first()
    {
        var schedule = WakeSchedule.For(Machines, policy: null);

        Assert.Equal(["kickstart", "discovered-late", "discovered", "kernel"], schedule.Due(T0.AddYears(-1), 100));
    }
}
