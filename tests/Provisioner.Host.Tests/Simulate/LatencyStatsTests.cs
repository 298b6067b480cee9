using Provisioner.Host.Simulate;

namespace Provisioner.Host.Tests.Simulate;

public sealed class LatencyStatsTests
{
    private static TimeSpan Ms(double ms) => TimeSpan.FromMilliseconds(ms);

    [Fact]
    public void Percentiles_of_one_to_a_hundred_are_the_nearest_ranks()
    {
        var samples = Enumerable.Range(1, 100).Select(i => Ms(i)).Reverse();

        var stats = LatencyStats.From(samples);

        Assert.Equal(new LatencyStats(100, Ms(50), Ms(90), Ms(99), Ms(100)), stats);
    }

    [Theory]
    [InlineData(10, 50, 5)]
    [InlineData(10, 90, 9)]
    [InlineData(10, 99, 10)]
    [InlineData(3, 50, 2)]
    [InlineData(3, 90, 3)]
    [InlineData(1000, 99, 990)]
    [InlineData(1000, 100, 1000)]
    public void Nearest_rank_is_the_smallest_sample_with_that_share_at_or_below_it(int count, double percent, int expected)
    {
        var sorted = Enumerable.Range(1, count).Select(i => Ms(i)).ToArray();

        Assert.Equal(Ms(expected), LatencyStats.Percentile(sorted, percent));
    }

    [Fact]
    public void One_sample_is_every_percentile()
    {
        Assert.Equal(new LatencyStats(1, Ms(7), Ms(7), Ms(7), Ms(7)), LatencyStats.From([Ms(7)]));
    }

    [Fact]
    public void No_samples_give_the_empty_stats_and_a_percentile_of_nothing_is_refused()
    {
        Assert.Same(LatencyStats.Empty, LatencyStats.From([]));
        Assert.Throws<ArgumentException>(() => LatencyStats.Percentile([], 50));
        Assert.Throws<ArgumentOutOfRangeException>(() => LatencyStats.Percentile([Ms(1)], 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => LatencyStats.Percentile([Ms(1)], 101));
    }
}
