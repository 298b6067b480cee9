using Provisioner.Protocols.Tests.Dhcp;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Provisioner.Edge.Dhcp;
using Provisioner.Protocols.Dhcp;
using static Provisioner.Edge.Tests.Dhcp.HandlerFixture;

namespace Provisioner.Edge.Tests.Dhcp;

/// <summary>
/// The socket adapter on loopback only (never a real interface): the test is a relay agent on 127.0.0.2 sending from
/// the server port with giaddr set, exactly as perfdhcp does, and expects each reply unicast back to giaddr:port.
/// </summary>
public sealed class DhcpServerTransportTests
{
    private static readonly IPAddress ServerAddress = IPAddress.Loopback;
    private static readonly IPAddress RelayAddress = IPAddress.Parse("127.0.0.2");

    private static int FreePort()
    {
        for (var attempt = 0; attempt < 20; attempt++)
        {
            using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            probe.Bind(new IPEndPoint(ServerAddress, 0));
            var port = ((IPEndPoint)probe.LocalEndPoint!).Port;
            using var relay = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            try
            {
                relay.Bind(new IPEndPoint(RelayAddress, port));
                return port;
            }
            catch (SocketException)
            {
            }
        }

        throw new InvalidOperationException("no free UDP port on 127.0.0.1 and 127.0.0.2");
    }

    private sealed class Rig : IAsyncDisposable
    {
        public Rig(double perMacRate = 20, Func<DhcpServerOptions, DhcpServerOptions>? configure = null, Task? serveAfter = null)
        {
            var port = FreePort();
            Fixture = new HandlerFixture(o => (configure ?? (x => x))(o with { Port = port, PerMacRate = perMacRate }));
            Server = new DhcpServer(Fixture.Options, Fixture.Handler, NullLogger<DhcpServer>.Instance, bindAddress: ServerAddress);
            Server.Start(serveAfter);
            Relay = new UdpClient(new IPEndPoint(RelayAddress, port));
        }

        public HandlerFixture Fixture { get; }

        public DhcpServer Server { get; }

        public UdpClient Relay { get; }

        public IPEndPoint ServerEndPoint => Server.LocalEndPoint;

        /// <summary>As a relay agent: giaddr = us, link selection = the remote subnet.</summary>
        /// <param name="machine">Which machine (0-65,535): the last two bytes of its MAC, 52:54:00:ee:HH:LL.</param>
        public static DhcpPacket Relayed(byte[] golden, int? machine = null)
        {
            var packet = Parse(golden);
            packet.RelayAgentAddress = IPv4Address.Parse("127.0.0.2");
            packet.Hops = 1;
            packet.Options.SetRelayAgentInformation("port-1"u8, [], IPv4Address.Parse("10.20.0.0"));
            if (machine is { } m)
            {
                packet.SetClientHardwareAddress([0x52, 0x54, 0x00, 0xee, (byte)(m >> 8), (byte)m]);
            }

            return packet;
        }

        public Task SendAsync(DhcpPacket packet) => Relay.SendAsync(packet.ToArray(), ServerEndPoint).AsTask();

        public async Task<(DhcpPacket Reply, IPEndPoint From)> ReceiveAsync()
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            var result = await Relay.ReceiveAsync(timeout.Token);
            return (Parse(result.Buffer), result.RemoteEndPoint);
        }

        public async ValueTask DisposeAsync()
        {
            await Server.DisposeAsync();
            Relay.Dispose();
        }
    }

    [Fact]
    public async Task Relayed_discover_and_request_are_answered_by_unicast_to_the_relay_agent()
    {
        await using var rig = new Rig();

        await rig.SendAsync(Rig.Relayed(DhcpGoldenPackets.Edk2PxeDiscover));
        var (offer, from) = await rig.ReceiveAsync();
        var request = RequestFrom(Rig.Relayed(DhcpGoldenPackets.Edk2PxeDiscover), EdgeAddress, offer.YourAddress);
        await rig.SendAsync(request);
        var (ack, _) = await rig.ReceiveAsync();

        Assert.Equal(DhcpMessageType.Offer, offer.MessageType);
        Assert.Equal(IPv4Address.Parse("10.20.0.10"), offer.YourAddress);
        Assert.Equal("ipxe.efi", offer.Options.BootfileName);
        Assert.NotNull(offer.Options.RelayAgentInformation);
        Assert.Equal(rig.ServerEndPoint, from);
        Assert.Equal(DhcpMessageType.Ack, ack.MessageType);
        Assert.Equal(offer.YourAddress, ack.YourAddress);
        // The server counts a reply after its send returns, which may be after the relay already has it.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (rig.Server.Counters.Replied < 2 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        Assert.Equal(2, rig.Server.Counters.Replied);
    }

    [Fact]
    public async Task A_server_started_behind_a_gate_keeps_what_arrives_until_the_gate_opens_and_then_answers_it()
    {
        var gate = new TaskCompletionSource();
        await using var rig = new Rig(serveAfter: gate.Task);

        await rig.SendAsync(Rig.Relayed(DhcpGoldenPackets.Edk2PxeDiscover));
        using (var early = new CancellationTokenSource(TimeSpan.FromMilliseconds(500)))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await rig.Relay.ReceiveAsync(early.Token));
        }

        Assert.Equal(0, rig.Server.Counters.Received);
        gate.SetResult();
        var (offer, _) = await rig.ReceiveAsync();

        Assert.Equal(DhcpMessageType.Offer, offer.MessageType);
        Assert.Equal(1, rig.Server.Counters.Received);
    }

    [Fact]
    public async Task Malformed_datagrams_are_counted_and_dropped_and_the_server_keeps_answering()
    {
        await using var rig = new Rig();
        var random = new Random(7);

        await rig.Relay.SendAsync(new byte[10], rig.ServerEndPoint);
        var badCookie = Rig.Relayed(DhcpGoldenPackets.UdhcpcDiscover).ToArray();
        badCookie[236] = 0;
        await rig.Relay.SendAsync(badCookie, rig.ServerEndPoint);
        var truncated = Rig.Relayed(DhcpGoldenPackets.UdhcpcDiscover).ToArray();
        truncated[240 + 1] = 200; // option 53's length runs past the end
        await rig.Relay.SendAsync(truncated.AsMemory(0, 250), rig.ServerEndPoint);
        for (var i = 0; i < 20; i++)
        {
            var junk = new byte[random.Next(0, 600)];
            random.NextBytes(junk);
            await rig.Relay.SendAsync(junk, rig.ServerEndPoint);
        }

        await rig.SendAsync(Rig.Relayed(DhcpGoldenPackets.UdhcpcDiscover));
        var (offer, _) = await rig.ReceiveAsync();

        Assert.Equal(DhcpMessageType.Offer, offer.MessageType);
        Assert.True(rig.Server.Counters.Malformed >= 3, $"malformed {rig.Server.Counters.Malformed}");
        Assert.Equal(0, rig.Server.Counters.Failed);
    }

    [Fact]
    public async Task A_flooding_mac_is_rate_limited_while_others_are_served()
    {
        await using var rig = new Rig(perMacRate: 3);

        for (var i = 0; i < 30; i++)
        {
            await rig.SendAsync(Rig.Relayed(DhcpGoldenPackets.UdhcpcDiscover, 1));
        }

        await rig.SendAsync(Rig.Relayed(DhcpGoldenPackets.UdhcpcDiscover, 2));
        var replies = new List<DhcpPacket>();
        while (replies.All(r => r.ClientHardwareAddress[5] != 2))
        {
            replies.Add((await rig.ReceiveAsync()).Reply);
        }

        Assert.True(rig.Server.Counters.RateLimited >= 20, $"rate limited {rig.Server.Counters.RateLimited}");
        Assert.True(replies.Count(r => r.ClientHardwareAddress[5] == 1) <= 10);
    }

    [Fact]
    public async Task Server_refuses_to_answer_on_every_interface_when_none_is_configured()
    {
        var fixture = new HandlerFixture(o => o with { Port = FreePort(), Interface = "" });
        await using var server = new DhcpServer(fixture.Options, fixture.Handler, NullLogger<DhcpServer>.Instance);

        var error = Assert.Throws<InvalidOperationException>(() => server.Start());

        Assert.Contains("provisioner.edge.interface", error.Message);
    }

    [Fact]
    public async Task Gateway_failures_are_counted_and_the_loop_survives()
    {
        await using var rig = new Rig();
        rig.Fixture.Leases.Throw = new TimeoutException("lease actor did not answer");
        await rig.SendAsync(Rig.Relayed(DhcpGoldenPackets.UdhcpcDiscover, 3));
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (rig.Server.Counters.Failed == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        rig.Fixture.Leases.Throw = null;
        await rig.SendAsync(Rig.Relayed(DhcpGoldenPackets.UdhcpcDiscover, 4));
        var (offer, _) = await rig.ReceiveAsync();

        Assert.Equal(1, rig.Server.Counters.Failed);
        Assert.Equal(DhcpMessageType.Offer, offer.MessageType);
    }

    [Fact]
    public async Task Past_capacity_stale_discovers_are_shed_unanswered_and_a_request_jumps_the_backlog()
    {
        // Capacity: 4 handlers x 10 answers/s. A burst of 300 new PXE machines is far beyond it.
        await using var rig = new Rig(configure: o => o with { MaxInFlight = 4, MaxDiscoverWait = TimeSpan.FromMilliseconds(400) });
        rig.Fixture.Machines.Delay = TimeSpan.FromMilliseconds(100);
        var first = Rig.Relayed(DhcpGoldenPackets.Edk2PxeDiscover, 0);
        await rig.SendAsync(first);
        var (offer, _) = await rig.ReceiveAsync();

        // 300 distinct machines (a byte would wrap: 45 of them would repeat an earlier DISCOVER, xid and all, and a
        // repeat is answered from the reply memory without asking the machine).
        for (var i = 1; i <= 300; i++)
        {
            await rig.SendAsync(Rig.Relayed(DhcpGoldenPackets.Edk2PxeDiscover, i));
        }

        var requestSent = DateTime.UtcNow;
        await rig.SendAsync(RequestFrom(first, EdgeAddress, offer.YourAddress));
        DhcpPacket ack;
        do
        {
            ack = (await rig.ReceiveAsync()).Reply;
        }
        while (ack.MessageType != DhcpMessageType.Ack);

        // FIFO would have answered it after the 300 DISCOVERs (about 7 s at this capacity).
        Assert.True(DateTime.UtcNow - requestSent < TimeSpan.FromSeconds(1.5), $"ACK after {DateTime.UtcNow - requestSent}");

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        var counters = rig.Server.Counters;
        while (counters.Replied + counters.ShedStale + counters.ShedFull + counters.Silent < 302 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.Equal(302, counters.Received);
        // Only what the node could answer in time was answered; the rest was dropped before any work.
        Assert.InRange(counters.ShedStale, 200, 300);
        Assert.Equal(302, counters.Replied + counters.ShedStale + counters.ShedFull + counters.Silent);
        Assert.Equal(0, counters.Failed);
        Assert.Equal(counters.Replied - 1, rig.Fixture.Machines.Previews.Count);
    }

    [Fact]
    public async Task Sheds_and_replies_are_published_on_the_edge_meter_with_their_cause()
    {
        await using var rig = new Rig(perMacRate: 1);
        for (var i = 0; i < 3; i++)
        {
            await rig.SendAsync(Rig.Relayed(DhcpGoldenPackets.UdhcpcDiscover, 9));
        }

        await rig.ReceiveAsync();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while ((rig.Server.Counters.Replied < 1 || rig.Server.Counters.RateLimited < 2) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        var listener = rig.ServerEndPoint.ToString();
        var seen = new List<(string Name, long Value, string? Cause)>();
        using var meters = new MeterListener();
        meters.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == EdgeMetrics.MeterName && instrument.Name.StartsWith("provisioner.dhcp.", StringComparison.Ordinal))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        meters.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            string? mine = null, cause = null;
            foreach (var tag in tags)
            {
                (mine, cause) = tag.Key switch
                {
                    "listener" => (tag.Value as string, cause),
                    "cause" => (mine, tag.Value as string),
                    _ => (mine, cause),
                };
            }

            if (mine == listener)
            {
                seen.Add((instrument.Name, value, cause));
            }
        });
        meters.Start();
        meters.RecordObservableInstruments();

        Assert.Contains(("provisioner.dhcp.datagrams.received", 3L, null), seen);
        Assert.Contains(("provisioner.dhcp.requests.shed", 2L, "per-mac-rate"), seen);
        Assert.Contains(("provisioner.dhcp.requests.shed", 0L, "waited-too-long"), seen);
        Assert.Contains(("provisioner.dhcp.requests.replied", 1L, null), seen);
        Assert.Contains(("provisioner.dhcp.backlog", 0L, null), seen);
    }

    [Fact]
    public async Task Proxy_mode_binds_the_boot_server_port_beside_the_dhcp_port_and_answers_a_request_there_from_it()
    {
        var bootServerPort = FreePort();
        await using var rig = new Rig(configure: o => o with { Mode = DhcpMode.Proxy, ProxyPort = bootServerPort });
        Assert.Equal(new IPEndPoint(ServerAddress, bootServerPort), rig.Server.BootServerEndPoint);
        using var client = new UdpClient(new IPEndPoint(RelayAddress, 0));
        var request = RequestFrom(Parse(DhcpGoldenPackets.Edk2PxeDiscover), null, null, IPv4Address.Parse("10.0.0.57"));

        await client.SendAsync(request.ToArray(), rig.Server.BootServerEndPoint!);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var result = await client.ReceiveAsync(timeout.Token);

        var ack = Parse(result.Buffer);
        Assert.Equal(DhcpMessageType.Ack, ack.MessageType);
        Assert.Equal("ipxe.efi", ack.Options.BootfileName);
        Assert.Equal(rig.Server.BootServerEndPoint, result.RemoteEndPoint);
    }
}
