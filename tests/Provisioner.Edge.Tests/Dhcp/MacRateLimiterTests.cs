using Provisioner.Edge.Dhcp;

namespace Provisioner.Edge.Tests.Dhcp;

public sealed class MacRateLimiterTests
{
    private static readonly byte[] A = [0x52, 0x54, 0x00, 0, 0, 1];
    private static readonly byte[] B = [0x52, 0x54, 0x00, 0, 0, 2];

    [Fact]
    public void A_burst_of_the_rate_passes_then_the_rest_is_dropped_and_counted()
    {
        var clock = new ManualClock(HandlerFixture.T0);
        var limiter = new MacRateLimiter(20, clock);

        var passed = Enumerable.Range(0, 50).Count(_ => limiter.TryAcquire(A));

        Assert.Equal(20, passed);
        Assert.Equal(30, limiter.Dropped);
        Assert.True(limiter.TryAcquire(B));
    }

    [Fact]
    public void Tokens_refill_at_the_rate()
    {
        var clock = new ManualClock(HandlerFixture.T0);
        var limiter = new MacRateLimiter(20, clock);
        while (limiter.TryAcquire(A))
        {
        }

        clock.Advance(TimeSpan.FromMilliseconds(250));
        var passed = Enumerable.Range(0, 20).Count(_ => limiter.TryAcquire(A));

        Assert.Equal(5, passed);
    }

    [Fact]
    public void A_flood_of_distinct_macs_stops_at_the_table_bound_and_passes_untracked()
    {
        var clock = new ManualClock(HandlerFixture.T0);
        var limiter = new MacRateLimiter(20, clock, maxTracked: 20_000);

        // 50,000 never-seen MACs within one instant: none has refilled, so none can be swept.
        for (var i = 0; i < 50_000; i++)
        {
            Assert.True(limiter.TryAcquire([0x02, 0, 0, (byte)(i >> 16), (byte)(i >> 8), (byte)i]));
        }

        Assert.Equal(20_000, limiter.Tracked);
        Assert.Equal(30_000, limiter.Untracked);

        // A second later every bucket has refilled: the next new MAC sweeps them and is tracked again.
        clock.Advance(TimeSpan.FromSeconds(1.1));
        Assert.True(limiter.TryAcquire(B));
        Assert.Equal(1, limiter.Tracked);
        Assert.Equal(30_000, limiter.Untracked);
    }

    [Fact]
    public void A_tracked_flooder_is_still_limited_while_the_table_is_full()
    {
        var clock = new ManualClock(HandlerFixture.T0);
        var limiter = new MacRateLimiter(20, clock, maxTracked: 10_000);
        Assert.True(limiter.TryAcquire(A));
        for (var i = 0; i < 20_000; i++)
        {
            limiter.TryAcquire([0x02, 0, 0, (byte)(i >> 16), (byte)(i >> 8), (byte)i]);
        }

        var passed = Enumerable.Range(0, 50).Count(_ => limiter.TryAcquire(A));

        Assert.Equal(19, passed);
    }
}
