using Microsoft.Extensions.Hosting;

namespace Provisioner.Edge.Outage;

/// <summary>Runs <see cref="ReportOutbox.RunAsync"/> for the life of the node; stopping ends the loop (what is still queued is logged and lost).</summary>
public sealed class ReportOutboxDelivery(ReportOutbox outbox) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => outbox.RunAsync(stoppingToken);
}
