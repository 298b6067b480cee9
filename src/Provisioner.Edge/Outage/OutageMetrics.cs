using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Provisioner.Edge.Outage;

/// <summary>
/// What the edge does while no core is reachable, on <see cref="EdgeMetrics.Meter"/> (<c>provisioner.edge.*</c>),
/// created once per process; each reachability signal registers itself while it lives and is summed (a node has one).
/// A Prometheus exporter names them <c>provisioner_edge_cores_reachable</c> and so on.
/// </summary>
public static class OutageMetrics
{
    private static readonly ConcurrentDictionary<ICoreReachability, byte> Signals = new();
    private static int _created;

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
