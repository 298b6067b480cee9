using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Provisioner.Lab.Tests.Flood;

/// <summary>One sending socket (already bound inside a lab namespace) and where its datagrams go.</summary>
public sealed record FloodSender(Socket Socket, EndPoint Destination);

/// <summary>What a flood did: datagrams sent, send errors (ENOBUFS and the like, not retried), time taken.</summary>
public sealed record FloodResult(long Sent, long SendErrors, TimeSpan Elapsed)
{
    public override string ToString() => $"{Sent} datagrams in {Elapsed.TotalSeconds:0.0} s ({Sent / Math.Max(Elapsed.TotalSeconds, 0.001):0} /s), {SendErrors} send errors";
}

/// <summary>
/// Sends datagrams round-robin over the senders on a dedicated thread, bounded by a count and a duration. It is paced
/// evenly over the duration rather than sent in one burst: a burst of 150k datagrams is over in a second, mostly lost in
/// the kernel's buffers, and leaves no "during the flood" to probe. When the machine cannot keep the pace it simply
/// sends fewer; the count and the deadline both end it.
/// </summary>
public static class DatagramFlood
{
    /// <summary>Writes datagram number <c>index</c> into <c>buffer</c> and returns its length; <c>sender</c> is the socket it goes out on.</summary>
    public delegate int Compose(long index, int sender, byte[] buffer);

    private const int PaceEvery = 500;

    public static Task<FloodResult> RunAsync(IReadOnlyList<FloodSender> senders, Compose compose, long maxDatagrams, TimeSpan duration, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(senders);
        ArgumentNullException.ThrowIfNull(compose);
        ArgumentOutOfRangeException.ThrowIfZero(senders.Count);
        return Task.Factory.StartNew(() => Run(senders, compose, maxDatagrams, duration, cancellationToken), cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    private static FloodResult Run(IReadOnlyList<FloodSender> senders, Compose compose, long maxDatagrams, TimeSpan duration, CancellationToken ct)
    {
        var buffer = new byte[65_536];
        var started = Stopwatch.GetTimestamp();
        var perSecond = maxDatagrams / duration.TotalSeconds;
        long sent = 0, errors = 0;
        for (long i = 0; i < maxDatagrams; i++)
        {
            if (i % PaceEvery == 0)
            {
                var elapsed = Stopwatch.GetElapsedTime(started);
                if (elapsed >= duration || ct.IsCancellationRequested)
                {
                    break;
                }

                var due = TimeSpan.FromSeconds(i / perSecond);
                if (due > elapsed)
                {
                    Thread.Sleep(due - elapsed);
                }
            }

            var index = (int)(i % senders.Count);
            var sender = senders[index];
            var length = compose(i, index, buffer);
            try
            {
                sender.Socket.SendTo(buffer.AsSpan(0, length), SocketFlags.None, sender.Destination);
                sent++;
            }
            catch (SocketException)
            {
                errors++;
            }
        }

        return new FloodResult(sent, errors, Stopwatch.GetElapsedTime(started));
    }
}
