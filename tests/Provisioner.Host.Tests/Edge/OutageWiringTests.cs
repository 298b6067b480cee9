using Akka.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Provisioner.Cluster.Hosting;
using Provisioner.Domain.Machines;
using Provisioner.Edge.Outage;
using Provisioner.Host.Tests.Cli;

namespace Provisioner.Host.Tests.Edge;

/// <summary>`provisioner serve` wires what an edge does while it cannot reach the cores, and refuses a bad bound at start.</summary>
public sealed class OutageWiringTests
{
    [Fact]
    public async Task A_node_with_both_roles_always_reaches_the_cores_and_its_reports_go_through_the_outbox_to_the_machine()
    {
        await using var node = await LiveNode.StartAsync();
        var cores = node.Services.GetRequiredService<ICoreReachability>();
        var outbox = node.Services.GetRequiredService<ReportOutbox>();

        var result = await outbox.SendAsync(MachineId.Parse("52:54:00:00:0f:01"), new MachineCommands.ReportNbpServed(LiveNode.Now, "ipxe.efi"));

        Assert.True(cores.CoresReachable);
        // Delivered at once, and decided by the real machine actor: it was never offered a boot.
        Assert.Equal(ReportDelivery.Delivered, result.Delivery);
        Assert.Equal(DecisionOutcome.Rejected, result.Answer?.Outcome);
        Assert.Equal(0, outbox.Queued);
    }

    [Fact]
    public void A_report_queue_without_room_stops_the_node_at_start_naming_the_key()
    {
        var settings = ProvisionerSettings.FromConfig(ProvisionerConfig.Load(Path.Combine(AppContext.BaseDirectory, "hocon"), "single-node", """
            provisioner.persistence.data-dir = "/tmp/provisioner-never-started"
            provisioner.edge.report-queue = 0
            """));

        var error = Assert.Throws<ConfigurationException>(() => Serve.Build(settings));

        Assert.StartsWith("provisioner.edge.report-queue:", error.Message);
    }
}
