using System.Net;
using System.Net.Sockets;
using Provisioner.Host.Simulate;
using Provisioner.Protocols.Dhcp;

namespace Provisioner.Host.Tests.Simulate;

/// <summary>The relay socket against a fake DHCP server on loopback that ignores the first copy of every request.</summary>
public sealed class RelayAgentTests
{
    private static readonly byte[] Mac = [0x52, 0x54, 0x01, 0x00, 0x00, 0x07];
    private static readonly RetransmitSchedule Quick = new("test", [TimeSpan.FromMilliseconds(300), TimeSpan.FromMilliseconds(300), TimeSpan.FromMilliseconds(300)]);

    [Fact]
    public async Task A_lost_request_is_sent_again_on_its_schedule_and_the_reply_ends_the_exchange()
    {
        using var server = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        server.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var counters = new PacketCounters();
        using var relay = new RelayAgent(new IPEndPoint(IPAddress.Loopback, 0), [(IPEndPoint)server.LocalEndPoint!], counters);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var serving = Task.Run(async () =>
        {
            var buffer = new byte[2048];
            for (var copy = 0; copy < 2; copy++)
            {
                var received = await server.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), stop.Token);
                Assert.True(DhcpPacket.TryParse(buffer.AsSpan(0, received.ReceivedBytes), out var request, out _));
                if (copy == 1)
                {
                    // A stray reply for another xid first: counted, ignored.
                    var stray = DhcpPacket.CreateReply(request, DhcpMessageType.Offer);
                    stray.TransactionId ^= 1;
                    await server.SendToAsync(stray.ToArray(), SocketFlags.None, received.RemoteEndPoint, stop.Token);
                    var offer = DhcpPacket.CreateReply(request, DhcpMessageType.Offer);
                    offer.YourAddress = IPv4Address.Parse("10.88.0.10");
                    await server.SendToAsync(offer.ToArray(), SocketFlags.None, received.RemoteEndPoint, stop.Token);
                }
            }
        });

        var reply = await relay.ExchangeAsync(42, Mac, secs => FirmwarePackets.Discover(Mac, 42, relay.Relay, 0, false, secs), [DhcpMessageType.Offer], Quick, () => TimeSpan.Zero, stop.Token);
        await serving;

        Assert.Equal(IPv4Address.Parse("10.88.0.10"), reply?.YourAddress);
        var packets = counters.Snapshot();
        Assert.Equal((2L, 1L, 0L), (packets.DhcpSent, packets.DhcpRetransmitted, packets.TftpRetransmitted));
        await WaitUntil(() => counters.Snapshot().DhcpUnmatched == 1);
    }

    [Fact]
    public async Task An_exchange_nobody_answers_ends_after_its_last_wait_with_nothing()
    {
        using var server = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        server.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var counters = new PacketCounters();
        using var relay = new RelayAgent(new IPEndPoint(IPAddress.Loopback, 0), [(IPEndPoint)server.LocalEndPoint!], counters);

        var watch = System.Diagnostics.Stopwatch.StartNew();
        var reply = await relay.ExchangeAsync(43, Mac, secs => FirmwarePackets.Discover(Mac, 43, relay.Relay, 0, false, secs), [DhcpMessageType.Offer], Quick, () => TimeSpan.Zero, CancellationToken.None);

        Assert.Null(reply);
        Assert.InRange(watch.Elapsed, TimeSpan.FromMilliseconds(850), TimeSpan.FromSeconds(5));
        Assert.Equal((3L, 2L), (counters.Snapshot().DhcpSent, counters.Snapshot().DhcpRetransmitted));
    }

    [Fact]
    public async Task With_two_servers_every_request_goes_to_both_and_the_one_that_answers_wins()
    {
        // A site with two edges behind one relay (dhcrelay forwards to every server it is given); the first is dead.
        using var dead = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        dead.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        using var alive = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        alive.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var counters = new PacketCounters();
        using var relay = new RelayAgent(new IPEndPoint(IPAddress.Loopback, 0), [(IPEndPoint)dead.LocalEndPoint!, (IPEndPoint)alive.LocalEndPoint!], counters);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var serving = Task.Run(async () =>
        {
            var buffer = new byte[2048];
            var received = await alive.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), stop.Token);
            Assert.True(DhcpPacket.TryParse(buffer.AsSpan(0, received.ReceivedBytes), out var request, out _));
            var offer = DhcpPacket.CreateReply(request, DhcpMessageType.Offer);
            offer.YourAddress = IPv4Address.Parse("10.88.0.11");
            await alive.SendToAsync(offer.ToArray(), SocketFlags.None, received.RemoteEndPoint, stop.Token);
        });

        var reply = await relay.ExchangeAsync(44, Mac, secs => FirmwarePackets.Discover(Mac, 44, relay.Relay, 0, false, secs), [DhcpMessageType.Offer], Quick, () => TimeSpan.Zero, stop.Token);
        await serving;

        Assert.Equal(IPv4Address.Parse("10.88.0.11"), reply?.YourAddress);
        Assert.True(dead.Available > 0, "the first server got no copy of the request");
        Assert.Equal(1L, counters.Snapshot().DhcpSent);
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met within 5 s");
            await Task.Delay(20);
        }
    }
}
