using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Provisioner.Edge.Dhcp;

namespace Provisioner.Edge.Outage;

/// <summary>
/// What the edge does while no core is reachable, on <see cref="EdgeMetrics.Meter"/> (<c>provisioner.edge.*</c>),
/// created once per process; each outbox, lease memory and reachability signal registers itself while it lives and is
/// summed (a node has one of each). A Prometheus exporter names them <c>provisioner_edge_renewals_from_memory_total</c>,
/// <c>provisioner_edge_reports_queued</c> and so on.
/// </summary>
public static class OutageMetrics
{
    private static readonly ConcurrentDictionary<ReportOutbox, byte> Outboxes = new();
    private static readonly ConcurrentDictionary<RememberingLeaseGateway, byte> Leases = new();
    private static readonly ConcurrentDictionary<ICoreReachability, byte> Signals = new();
    private static int _created;

    public static IDisposable Register(ReportOutbox outbox) => Add(Outboxes, outbox);

    public static IDisposable Register(RememberingLeaseGateway leases) => Add(Leases, leases);

    public static IDisposable Register(ICoreReachability cores) => Add(Signals, cores);

    private static Registration Add<T>(ConcurrentDictionary<T, byte> set, T item)
        where T : notnull
    {
        if (Interlocked.Exchange(ref _created, 1) == 0)
        {
            Create(EdgeMetrics.Meter);
        }

        set[item] = 0;
        return new Registration(() => set.TryRemove(item, out _));
    }

    private static void Create(Meter meter)
    {
        meter.CreateObservableGauge(
            "provisioner.edge.cores.reachable",
            () => Signals.Keys.Select(s => new Measurement<long>(s.CoresReachable ? 1 : 0)),
            "{bool}",
            "1 while at least one core node is up and reachable from this node, else 0");
        meter.CreateObservableCounter(
            "provisioner.edge.renewals.from_memory",
            () => Leases.Keys.Sum(l => l.RenewedFromMemory),
            "{request}",
            "DHCP REQUESTs ACKed from this edge's memory of the grant (original expiry) while no core answered");
        meter.CreateObservableCounter(
            "provisioner.edge.leases.unavailable",
            () => Leases.Keys.Sum(l => l.AnsweredUnavailable),
            "{request}",
            "DHCP lease requests answered at once with no lease (silent) because no core node was reachable");
        meter.CreateObservableGauge(
            "provisioner.edge.leases.remembered",
            () => Leases.Keys.Sum(l => (long)l.Memory.Count),
            "{lease}",
            "Grants this edge remembers for renewals during an outage (provisioner.edge.dhcp.remembered-leases)");
        meter.CreateObservableCounter(
            "provisioner.edge.leases.evicted",
            () => Leases.Keys.Sum(l => l.Memory.Evicted),
            "{lease}",
            "Remembered grants dropped before they expired because the memory was full");
        meter.CreateObservableGauge(
            "provisioner.edge.reports.queued",
            () => Outboxes.Keys.Sum(o => (long)o.Queued),
            "{report}",
            "Reports to machines held in the outbox now (provisioner.edge.report-queue)");
        meter.CreateObservableCounter(
            "provisioner.edge.reports.enqueued",
            () => Outboxes.Keys.Sum(o => o.Enqueued),
            "{report}",
            "Reports to machines queued because no core answered");
        meter.CreateObservableCounter(
            "provisioner.edge.reports.delivered_late",
            () => Outboxes.Keys.Sum(o => o.DeliveredLate),
            "{report}",
            "Queued reports delivered afterwards");
        meter.CreateObservableCounter(
            "provisioner.edge.reports.dropped",
            () => Outboxes.Keys.Sum(o => o.Dropped),
            "{report}",
            "Queued reports dropped, oldest first, because the outbox was full");
        meter.CreateObservableGauge(
            "provisioner.edge.reports.oldest_age",
            () => Outboxes.Keys.Select(o => o.OldestAge.TotalSeconds).DefaultIfEmpty(0).Max(),
            "s",
            "How long the oldest queued report has waited");
    }

    private sealed class Registration(Action remove) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                remove();
            }
        }
    }
}
