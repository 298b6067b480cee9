using System.Diagnostics.Metrics;

namespace Provisioner.Edge;

/// <summary>
/// The edge's one <see cref="System.Diagnostics.Metrics.Meter"/> ("Provisioner.Edge"), shared by its servers
/// (TFTP now; DHCP and HTTP may add theirs). Instruments are named <c>provisioner.&lt;protocol&gt;.…</c>; an
/// exporter (OpenTelemetry, <c>dotnet-counters monitor --counters Provisioner.Edge</c>) subscribes by this name.
/// </summary>
public static class EdgeMetrics
{
    /// <summary>The meter's name, for listeners and exporters.</summary>
    public const string MeterName = "Provisioner.Edge";

    /// <summary>The shared meter; lives as long as the process (instruments cannot be removed one by one).</summary>
    public static Meter Meter { get; } = new(MeterName);

    /// <summary>
    /// One measurement per running server and reading, tagged <c>listener</c> (the server's bound address) and, when
    /// the reading names one, a second tag (e.g. <c>cause</c>): the shape every edge server's observable instruments share.
    /// </summary>
    internal static List<Measurement<long>> PerListener<TServer>(IEnumerable<KeyValuePair<TServer, string>> servers, Func<TServer, IEnumerable<(long Value, string? Key, string? Tag)>> read)
    {
        var measurements = new List<Measurement<long>>();
        foreach (var (server, listener) in servers)
        {
            foreach (var (value, key, tag) in read(server))
            {
                measurements.Add(key is null
                    ? new Measurement<long>(value, new KeyValuePair<string, object?>("listener", listener))
                    : new Measurement<long>(value, new KeyValuePair<string, object?>("listener", listener), new KeyValuePair<string, object?>(key, tag)));
            }
        }

        return measurements;
    }
}
