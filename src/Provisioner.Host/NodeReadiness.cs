using System.Collections.Concurrent;

namespace Provisioner.Host;

/// <summary>
/// What a node is still preparing before it serves (e.g. "DHCP: warming up"): <c>/healthz</c> answers 503 with it until
/// nothing is left, so a load balancer, a test or a benchmark starts sending when the node answers at its rate; and what
/// is broken until an operator fixes it (503 "failing: …").
/// </summary>
public sealed class NodeReadiness
{
    private readonly ConcurrentDictionary<string, string> _preparing = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _failing = new(StringComparer.Ordinal);

    /// <summary>Null when ready; otherwise what is still being prepared, one item per service.</summary>
    public string? NotReadyBecause => Join(_preparing);

    /// <summary>Null when nothing is broken; otherwise what an operator must fix (e.g. a subnet the cluster refused), one item per service.</summary>
    public string? FailingBecause => Join(_failing);

    public void Preparing(string service, string what) => _preparing[service] = what;

    public void Ready(string service) => _preparing.TryRemove(service, out _);

    /// <summary>Something this node cannot do until its configuration is fixed: <c>/healthz</c> answers 503 "failing: …" with it.</summary>
    public void Failing(string service, string what) => _failing[service] = what;

    public void NotFailing(string service) => _failing.TryRemove(service, out _);

    private static string? Join(ConcurrentDictionary<string, string> items) =>
        items.IsEmpty ? null : string.Join("; ", items.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}: {kv.Value}"));
}
