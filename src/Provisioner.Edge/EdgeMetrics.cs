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
}
