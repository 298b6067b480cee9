namespace Provisioner.Host.Simulate;

/// <summary>Latency percentiles of one stage over the machines that got through it.</summary>
public sealed record LatencyStats(int Count, TimeSpan P50, TimeSpan P90, TimeSpan P99, TimeSpan Max)
{
    public static LatencyStats Empty { get; } = new(0, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero);

    public static LatencyStats From(IEnumerable<TimeSpan> samples)
    {
        ArgumentNullException.ThrowIfNull(samples);
        var sorted = samples.Order().ToArray();
        return sorted.Length == 0
            ? Empty
            : new LatencyStats(sorted.Length, Percentile(sorted, 50), Percentile(sorted, 90), Percentile(sorted, 99), sorted[^1]);
    }

    /// <summary>
    /// The nearest-rank percentile: the smallest sample with at least <paramref name="percent"/> % of the samples at or
    /// below it (so p99 of 100 samples is the 99th, and every reported value is one that was measured).
    /// </summary>
    public static TimeSpan Percentile(IReadOnlyList<TimeSpan> sorted, double percent)
    {
        ArgumentNullException.ThrowIfNull(sorted);
        if (sorted.Count == 0)
        {
            throw new ArgumentException("no samples", nameof(sorted));
        }

        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(percent);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(percent, 100);
        var rank = (int)Math.Ceiling(percent * sorted.Count / 100); // exact for whole percents
        return sorted[Math.Clamp(rank, 1, sorted.Count) - 1];
    }
}
