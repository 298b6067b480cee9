using System.Diagnostics;
using Provisioner.Edge.Tftp;

namespace Provisioner.Edge.Tests.Tftp;

/// <summary>When a transfer on a dedicated thread polls for the next ACK before it sleeps (<see cref="TftpAckSpin"/>).</summary>
public sealed class TftpAckSpinTests
{
    private static readonly long Microsecond = Stopwatch.Frequency / 1_000_000;

    [Fact]
    public void First_block_of_a_lone_transfer_polls()
    {
        var spin = default(TftpAckSpin);

        Assert.Equal(TftpAckSpin.LimitTicks, spin.Budget(runningTransfers: 1, windowSize: 1, processors: 2));
    }

    [Theory]
    [InlineData(2, 2)]
    [InlineData(3, 4)]
    [InlineData(1, 1)]
    public void More_transfers_than_half_the_processors_never_poll(int running, int processors)
    {
        var spin = default(TftpAckSpin);
        spin.Observe(10 * Microsecond);

        Assert.Equal(0, spin.Budget(running, 1, processors));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(8)]
    [InlineData(32)]
    public void Windowed_transfer_never_polls(int windowSize)
    {
        var spin = default(TftpAckSpin);
        spin.Observe(10 * Microsecond);

        Assert.Equal(0, spin.Budget(runningTransfers: 1, windowSize, processors: 64));
    }

    [Fact]
    public void Client_answering_within_the_window_keeps_being_polled_for()
    {
        var spin = default(TftpAckSpin);
        for (var i = 0; i < 100; i++)
        {
            spin.Observe(30 * Microsecond);
        }

        Assert.Equal(TftpAckSpin.LimitTicks, spin.Budget(1, 1, 8));
    }

    [Fact]
    public void Slow_client_is_not_polled_for_and_a_fast_one_is_again_once_its_average_falls()
    {
        var spin = default(TftpAckSpin);
        for (var i = 0; i < 20; i++)
        {
            spin.Observe(2_000 * Microsecond); // a firmware behind a real network: 2 ms per ACK
        }

        Assert.Equal(0, spin.Budget(1, 1, 8));

        var blocks = 0;
        while (spin.Budget(1, 1, 8) == 0)
        {
            spin.Observe(20 * Microsecond);
            Assert.True(++blocks < 100, "the average never fell");
        }

        Assert.InRange(blocks, 10, 60); // weighted over recent blocks, not the whole transfer, nor the last one only
    }

    [Fact]
    public void One_late_ack_does_not_stop_the_polling()
    {
        var spin = default(TftpAckSpin);
        for (var i = 0; i < 50; i++)
        {
            spin.Observe(25 * Microsecond);
        }

        spin.Observe(300 * Microsecond); // e.g. the client was descheduled once

        Assert.Equal(TftpAckSpin.LimitTicks, spin.Budget(1, 1, 2));
    }
}
