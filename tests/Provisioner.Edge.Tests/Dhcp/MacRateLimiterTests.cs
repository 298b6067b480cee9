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
}
