using Provisioner.Domain.Machines;
using static Provisioner.Domain.Machines.MachineCommands;

namespace Provisioner.Domain.Tests.Machines;

/// <summary>The edge skips a fetch report exactly when the actor would have ignored it.</summary>
public sealed class MachineWouldRecordTests
{
    public static TheoryData<string> States => new(Canonical.All.Select(s => s.Name));

    [Theory]
    [MemberData(nameof(States))]
    public void Agrees_with_Decide_for_every_fetch_report_in_every_stage(string name)
    {
        var canonical = Canonical.Get(name);
        var state = canonical.Build();
        var at = canonical.Now.AddSeconds(1);
        MachineCommand[] reports = [new ReportBootScriptServed(at), new ReportKernelFetched(at, "/assets/vmlinuz"), new ReportInitrdFetched(at, "/assets/initrd.img")];

        foreach (var report in reports)
        {
            var accepted = Machine.Decide(state, report, MachinePolicy.Default).Outcome == DecisionOutcome.Accepted;
            Assert.Equal(accepted, Machine.WouldRecord(state, report));
            if (accepted)
            {
                // after the actor recorded it, the same report is a repeat
                var recorded = Machine.Decide(state, report, MachinePolicy.Default).Events.Aggregate(state, Machine.Apply);
                Assert.False(Machine.WouldRecord(recorded, report), $"{name}: {report.GetType().Name} twice");
            }
        }
    }

    [Fact]
    public void Only_fetch_reports_can_be_predicted()
    {
        var state = Canonical.Get(Canonical.Discovered).Build();

        Assert.Throws<ArgumentException>(() => Machine.WouldRecord(state, new ReportInstalled(Canonical.T0)));
    }
}
