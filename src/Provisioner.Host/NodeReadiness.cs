using System.Collections.Concurrent;

namespace Provisioner.Host;

/// <summary>
/// What a node is still preparing before it serves (e.g. "DHCP: warming up"): <c>/healthz</c> answers 503 with it until
/// nothing is left, so a load balancer, a test or a benchmark starts sending when the node answers at its rate.
/// </summary>
public sealed class NodeReadiness
{
    private readonly ConcurrentDictionary<string, string> _preparing = new(StringComparer.Ordinal);

    /// <summary>Null when ready; otherwise what is still being prepared, one item per service.</summary>
    public string? NotReadyBecause => _preparing.IsEmpty ? null : string.Join("; ", _preparing.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}: {kv.Value}"));

    public void Preparing(string service, string what) => _preparing[service] = what;

    public void Ready(string service) => _preparing.TryRemove(service, out _);
}
