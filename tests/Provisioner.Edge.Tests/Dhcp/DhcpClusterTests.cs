using Provisioner.Protocols.Tests.Dhcp;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Provisioner.Cluster.Hosting;
using Provisioner.Cluster.Leases;
using Provisioner.Cluster.Machines;
using Provisioner.Domain.Leases;
using Provisioner.Domain.Machines;
using Provisioner.Edge.Dhcp;
using Provisioner.Protocols.Dhcp;
using Xunit.Abstractions;
using static Provisioner.Edge.Tests.Dhcp.HandlerFixture;

namespace Provisioner.Edge.Tests.Dhcp;

/// <summary>
/// The whole path on loopback: a relay agent (the test, on 127.0.0.2) → DhcpServer → handler → real lease and machine
/// shard regions on a single node with its SQLite journal. Nothing touches a real interface.
/// </summary>
public sealed class DhcpClusterTests(ITestOutputHelper output)
{
    private static string HoconDirectory([CallerFilePath] string source = "")
    {
        for (var dir = new DirectoryInfo(Path.GetDirectoryName(source)!); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "hocon", "defaults.conf")))
            {
                return Path.Combine(dir.FullName, "hocon");
            }
        }

        throw new DirectoryNotFoundException("hocon/ not found");
    }

    [Fact]
    public async Task Relayed_pxe_client_is_leased_through_the_cluster_and_the_machine_records_its_lease()
    {
        var data = Path.Combine(Path.GetTempPath(), "provisioner-dhcp-" + Guid.NewGuid().ToString("N"));
        var port = FreeUdpPort();
        var config = ProvisionerConfig.Load(HoconDirectory(), "single-node", $$"""
            provisioner.persistence.data-dir = {{ProvisionerConfig.Quote(data)}}
            provisioner.node.port = 0
            provisioner.edge {
              address = "10.0.0.2"
              dhcp {
                port = {{port}}
                subnets = [ { id = remote, network = "10.20.0.0/22", pool-start = "10.20.0.10", pool-end = "10.20.3.250", router = "10.20.0.1", lease-time = 1h } ]
              }
            }
            """);
        var settings = ProvisionerSettings.FromConfig(config);
        var host = new HostBuilder()
            .ConfigureServices(s => s.AddAkka(ProvisionerAkka.ActorSystemName, (b, _) => b.AddProvisioner(settings)))
            .Build();
        await host.StartAsync();
        try
        {
            var machines = new ClusterMachineGateway(host.Services.GetRequiredService<IRequiredActor<MachineRegion>>(), settings.AskTimeout);
            using var asks = new LeaseAsks(host.Services.GetRequiredService<ActorSystem>(), settings.AskTimeout);
            var leases = new ClusterLeaseGateway(host.Services.GetRequiredService<IRequiredActor<SubnetLeaseRegion>>(), settings.AskTimeout, asks);
            var options = DhcpServerOptions.FromConfig(config.GetConfig("provisioner.edge")) with { MaxInFlight = 256 };
            // As the node's DHCP service does before it serves: its subnets declared to the cluster.
            foreach (var subnet in options.Subnets)
            {
                Assert.Equal(SubnetDeclarationOutcome.Defined, (await leases.DeclareAsync(subnet, "127.0.0.1:0", DateTimeOffset.UtcNow, CancellationToken.None)).Outcome);
            }

            var handler = new DhcpHandler(options, leases, machines, TimeProvider.System, NullLogger<DhcpHandler>.Instance, bootPolicy: BootPolicy.For(options));
            await using var server = new DhcpServer(options, handler, NullLogger<DhcpServer>.Instance, bindAddress: IPAddress.Loopback);
            server.Start();
            using var relay = new UdpClient(new IPEndPoint(IPAddress.Parse("127.0.0.2"), port));

            // One EDK2 client, DISCOVER then REQUEST, through the relay.
            var discover = AsRelayed(Parse(DhcpGoldenPackets.Edk2PxeDiscover));
            await relay.SendAsync(discover.ToArray(), server.LocalEndPoint);
            var offer = await Receive(relay);
            await relay.SendAsync(AsRelayed(RequestFrom(discover, options.Address, offer.YourAddress)).ToArray(), server.LocalEndPoint);
            var ack = await Receive(relay);

            Assert.Equal(DhcpMessageType.Offer, offer.MessageType);
            Assert.Equal("ipxe.efi", offer.Options.BootfileName);
            Assert.Equal(DhcpMessageType.Ack, ack.MessageType);
            Assert.Equal(offer.YourAddress, ack.YourAddress);
            var state = await machines.GetAsync(MachineId.Parse("52:54:00:dc:00:12"), CancellationToken.None);
            Assert.Equal(MachineStage.Discovered, state.Stage);
            Assert.Equal((offer.YourAddress.ToString(), "remote"), (state.Address, state.Subnet));

            // Many plain clients at once, perfdhcp-style: every one ends with an ACK for a distinct address.
            const int Clients = 200;
            var clock = Stopwatch.StartNew();
            var discovers = Enumerable.Range(0, Clients).Select(i => AsRelayed(Parse(DhcpGoldenPackets.UdhcpcDiscover), i)).ToArray();
            var offers = await Exchange(relay, server.LocalEndPoint, discovers, DhcpMessageType.Offer);
            var requests = discovers.Select(d => AsRelayed(RequestFrom(d, options.Address, offers[d.TransactionId].YourAddress))).ToArray();
            var acks = await Exchange(relay, server.LocalEndPoint, requests, DhcpMessageType.Ack);

            clock.Stop();
            output.WriteLine($"{Clients} relayed DORA exchanges through the loopback server and the cluster (SQLite): {clock.Elapsed.TotalMilliseconds:0} ms, {Clients / clock.Elapsed.TotalSeconds:0} leases/s");
            Assert.Equal(Clients, acks.Values.Select(a => a.YourAddress).Distinct().Count());
            Assert.Equal(0, server.Counters.Failed);
        }
        finally
        {
            await host.StopAsync();
            host.Dispose();
            try
            {
                Directory.Delete(data, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static DhcpPacket AsRelayed(DhcpPacket packet, int? client = null)
    {
        packet.RelayAgentAddress = IPv4Address.Parse("10.20.0.1");
        packet.Hops = 1;
        if (client is { } i)
        {
            packet.SetClientHardwareAddress([0x02, 0x00, 0x00, 0x01, (byte)(i >> 8), (byte)i]);
            packet.TransactionId = 0x1000u + (uint)i;
            packet.Options.ClientIdentifier = null;
        }

        // The relay agent is really on 127.0.0.2; tell the server so with link selection, replies go to giaddr.
        packet.RelayAgentAddress = IPv4Address.Parse("127.0.0.2");
        packet.Options.SetRelayAgentInformation("port-7"u8, [], IPv4Address.Parse("10.20.0.0"));
        return packet;
    }

    /// <summary>Sends every packet, then retransmits the unanswered ones each second, as DHCP clients do (RFC 2131 §4.1).</summary>
    private static async Task<Dictionary<uint, DhcpPacket>> Exchange(UdpClient relay, IPEndPoint server, DhcpPacket[] packets, DhcpMessageType expected)
    {
        var answers = new Dictionary<uint, DhcpPacket>();
        for (var round = 0; round < 10 && answers.Count < packets.Length; round++)
        {
            foreach (var packet in packets.Where(p => !answers.ContainsKey(p.TransactionId)))
            {
                await relay.SendAsync(packet.ToArray(), server);
            }

            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            try
            {
                while (answers.Count < packets.Length)
                {
                    var reply = Parse((await relay.ReceiveAsync(wait.Token)).Buffer);
                    Assert.Equal(expected, reply.MessageType);
                    answers[reply.TransactionId] = reply;
                }
            }
            catch (OperationCanceledException)
            {
            }
        }

        Assert.Equal(packets.Length, answers.Count);
        return answers;
    }

    private static async Task<DhcpPacket> Receive(UdpClient relay)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var result = await relay.ReceiveAsync(timeout.Token);
        return Parse(result.Buffer);
    }

    private static int FreeUdpPort()
    {
        for (var attempt = 0; attempt < 20; attempt++)
        {
            using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            var port = ((IPEndPoint)probe.LocalEndPoint!).Port;
            using var other = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            try
            {
                other.Bind(new IPEndPoint(IPAddress.Parse("127.0.0.2"), port));
                return port;
            }
            catch (SocketException)
            {
            }
        }

        throw new InvalidOperationException("no free UDP port");
    }
}
