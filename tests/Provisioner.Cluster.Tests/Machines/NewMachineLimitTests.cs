using Akka.Actor;
using Provisioner.Cluster.Machines;
using Provisioner.Cluster.Tests.Support;
using Provisioner.Domain.Machines;
using static Provisioner.Domain.Machines.MachineCommands;

namespace Provisioner.Cluster.Tests.Machines;

/// <summary><c>machines.max-new-live</c>: actors that persisted nothing are bounded; a REQUEST is never refused.</summary>
public sealed class NewMachineLimitTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 6, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Slots_are_taken_up_to_the_capacity_and_given_back()
    {
        var limit = new NewMachineLimit(2);
        Assert.True(limit.TryEnter());
        Assert.True(limit.TryEnter());
        Assert.False(limit.TryEnter());
        Assert.Equal(2, limit.Live);
        limit.Leave();
        Assert.True(limit.TryEnter());
        Assert.Throws<ArgumentOutOfRangeException>(() => new NewMachineLimit(0));
    }

    [Fact]
    public async Task Past_the_limit_a_new_machines_preview_is_refused_until_a_slot_is_given_back_and_its_request_still_records()
    {
        var data = Path.Combine(Path.GetTempPath(), "provisioner-newlimit-" + Guid.NewGuid().ToString("N"));
        var node = await TestNode.StartAsync(TestNode.SettingsFor(data, "provisioner.machines.max-new-live = 3\nprovisioner.machines.passivate-new-after = 1m"));
        try
        {
            var request = new RequestBoot(T0, 0, false, "centos7");
            var macs = Enumerable.Range(1, 5).Select(i => $"52:54:00:cc:00:{i:x2}").ToArray();
            var answers = new List<MachineProtocol.CommandResult>();
            foreach (var mac in macs)
            {
                answers.Add(await node.Region.Ask<MachineProtocol.CommandResult>(new MachineProtocol.PreviewBoot(mac, request), TestNode.Timeout));
            }

            Assert.All(answers.Take(3), a => Assert.Equal(BootAction.Nbp, a.Boot));
            Assert.All(answers.Skip(3), a =>
            {
                Assert.Equal(DecisionOutcome.Rejected, a.Outcome);
                Assert.Equal(BootAction.None, a.Boot);
                Assert.Contains("machines.max-new-live", a.Reason);
            });

            // A refused machine's REQUEST records it all the same.
            var committed = await node.Execute(macs[4], request with { Address = "10.0.0.5", Subnet = "lab" });
            Assert.Equal(DecisionOutcome.Accepted, committed.Outcome);
            Assert.Equal(MachineStage.Discovered, committed.Stage);

            // One of the three holding a slot persists: its slot is free, and a sixth new machine is previewed.
            await node.Execute(macs[0], request with { Address = "10.0.0.1", Subnet = "lab" });
            var sixth = await node.Region.Ask<MachineProtocol.CommandResult>(new MachineProtocol.PreviewBoot("52:54:00:cc:00:06", request), TestNode.Timeout);
            Assert.Equal(BootAction.Nbp, sixth.Boot);

            var seventh = await node.Region.Ask<MachineProtocol.CommandResult>(new MachineProtocol.PreviewBoot("52:54:00:cc:00:07", request), TestNode.Timeout);
            Assert.Equal(DecisionOutcome.Rejected, seventh.Outcome);
        }
        finally
        {
            await node.DisposeAsync();
            Directory.Delete(data, recursive: true);
        }
    }
}
