using Provisioner.Edge.Dhcp;

namespace Provisioner.Edge.Tests.Dhcp;

public sealed class DhcpBacklogTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);

    private static (DhcpBacklog<string> Backlog, ManualClock Clock) Make(int capacity = 8) =>
        Make(capacity, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(3));

    private static (DhcpBacklog<string> Backlog, ManualClock Clock) Make(int capacity, TimeSpan discoverWait, TimeSpan requestWait)
    {
        var clock = new ManualClock(T0);
        return (new DhcpBacklog<string>(capacity, discoverWait, requestWait, clock), clock);
    }

    private static async Task<string> Next(DhcpBacklog<string> backlog)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        return await backlog.DequeueAsync(timeout.Token);
    }

    [Fact]
    public async Task Follow_ups_go_first_in_arrival_order_and_discovers_newest_first()
    {
        var (backlog, clock) = Make();
        using var _ = backlog;
        backlog.Enqueue("discover-1", isDiscover: true, clock.GetTimestamp());
        backlog.Enqueue("request-1", isDiscover: false, clock.GetTimestamp());
        backlog.Enqueue("discover-2", isDiscover: true, clock.GetTimestamp());
        backlog.Enqueue("request-2", isDiscover: false, clock.GetTimestamp());

        Assert.Equal(["request-1", "request-2", "discover-2", "discover-1"], [await Next(backlog), await Next(backlog), await Next(backlog), await Next(backlog)]);
        Assert.Equal(0, backlog.Count);
    }

    [Fact]
    public async Task A_full_discover_lane_pushes_out_its_oldest_and_counts_it()
    {
        var (backlog, clock) = Make(capacity: 3);
        using var _ = backlog;
        for (var i = 1; i <= 5; i++)
        {
            Assert.True(backlog.Enqueue($"discover-{i}", isDiscover: true, clock.GetTimestamp()));
        }

        Assert.Equal(2, backlog.ShedFull);
        Assert.Equal(3, backlog.Count);
        Assert.Equal(["discover-5", "discover-4", "discover-3"], [await Next(backlog), await Next(backlog), await Next(backlog)]);
    }

    [Fact]
    public async Task A_full_follow_up_lane_refuses_the_new_one_and_keeps_the_order()
    {
        var (backlog, clock) = Make(capacity: 2);
        using var _ = backlog;
        Assert.True(backlog.Enqueue("request-1", isDiscover: false, clock.GetTimestamp()));
        Assert.True(backlog.Enqueue("request-2", isDiscover: false, clock.GetTimestamp()));
        Assert.False(backlog.Enqueue("request-3", isDiscover: false, clock.GetTimestamp()));

        Assert.Equal(1, backlog.ShedFull);
        Assert.Equal(["request-1", "request-2"], [await Next(backlog), await Next(backlog)]);
    }

    [Fact]
    public async Task Requests_that_waited_longer_than_the_firmware_waits_are_shed_before_any_work()
    {
        var (backlog, clock) = Make(8, discoverWait: TimeSpan.FromSeconds(2), requestWait: TimeSpan.FromSeconds(3));
        using var _ = backlog;
        backlog.Enqueue("old-discover", isDiscover: true, clock.GetTimestamp());
        backlog.Enqueue("old-request", isDiscover: false, clock.GetTimestamp());
        clock.Advance(TimeSpan.FromSeconds(2.5));
        backlog.Enqueue("fresh-discover", isDiscover: true, clock.GetTimestamp());

        // The request (2.5 s < 3 s) is still worth answering; the fresh DISCOVER comes next; the old one is shed.
        Assert.Equal("old-request", await Next(backlog));
        Assert.Equal("fresh-discover", await Next(backlog));
        using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await backlog.DequeueAsync(timeout.Token));
        Assert.Equal(1, backlog.ShedStale);
        Assert.Equal(0, backlog.Count);
    }

    [Fact]
    public async Task A_waiting_taker_gets_the_next_item_as_soon_as_it_arrives()
    {
        var (backlog, clock) = Make();
        using var _ = backlog;
        var taking = Next(backlog);
        Assert.False(taking.IsCompleted);

        backlog.Enqueue("request", isDiscover: false, clock.GetTimestamp());

        Assert.Equal("request", await taking.WaitAsync(TimeSpan.FromSeconds(5)));
    }
}
