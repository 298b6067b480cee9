using Provisioner.Protocols.Tests.Dhcp;
using Provisioner.Protocols.Dhcp;
using static Provisioner.Edge.Tests.Dhcp.HandlerFixture;

namespace Provisioner.Edge.Tests.Dhcp;

/// <summary>Bad input never crashes: golden packets with random bytes flipped, whatever still parses, never make the handler throw.</summary>
public sealed class DhcpHandlerRandomInputTests
{
    private static readonly byte[][] Goldens =
    [
        DhcpGoldenPackets.UdhcpcDiscover,
        DhcpGoldenPackets.DhclientDiscover,
        DhcpGoldenPackets.IpxeBiosDiscover,
        DhcpGoldenPackets.Edk2PxeDiscover,
        DhcpGoldenPackets.Edk2HttpDiscover,
        DhcpGoldenPackets.IpxeEfiDiscover,
    ];

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Mutated_client_packets_never_make_the_handler_throw(int seed)
    {
        var random = new Random(seed);
        var f = new HandlerFixture();
        var handled = 0;
        for (var i = 0; i < 3000; i++)
        {
            var bytes = (byte[])Goldens[random.Next(Goldens.Length)].Clone();
            for (var flips = random.Next(1, 6); flips > 0; flips--)
            {
                // Mostly the fields and options that steer the handler: op, htype/hlen, flags, addresses, options.
                var at = random.Next(4) == 0 ? random.Next(0, 28) : random.Next(240, bytes.Length);
                bytes[at] = (byte)random.Next(256);
            }

            if (random.Next(3) == 0)
            {
                // Steer towards each message type and towards relayed requests.
                bytes[242] = (byte)random.Next(0, 10);
                if (random.Next(2) == 0)
                {
                    new byte[] { 10, 20, 0, 1 }.CopyTo(bytes, 24);
                }
            }

            if (!DhcpPacket.TryParse(bytes, out var packet, out _))
            {
                continue;
            }

            handled++;
            var plan = await f.Handle(packet);
            if (plan is not null)
            {
                Assert.True(plan.Packet.ToArray().Length >= DhcpPacket.MinimumLength);
            }
        }

        Assert.True(handled > 1000, $"only {handled} mutated packets parsed");
    }

    /// <summary>
    /// proxyDHCP, on both ports: whatever a mutated packet says (option 43 included, which the 4011 path reads), the
    /// handler never throws, never asks for a lease, and never answers with an address or a NAK.
    /// </summary>
    [Theory]
    [InlineData(11)]
    [InlineData(12)]
    public async Task Mutated_packets_in_proxy_mode_never_throw_lease_or_nak(int seed)
    {
        var random = new Random(seed);
        var f = new HandlerFixture(o => o with { Mode = Provisioner.Edge.Dhcp.DhcpMode.Proxy });
        var replies = 0;
        for (var i = 0; i < 3000; i++)
        {
            var packet = Parse(Goldens[random.Next(Goldens.Length)]);
            if (random.Next(2) == 0)
            {
                packet.MessageType = DhcpMessageType.Request;
                packet.ClientAddress = IPv4Address.Parse("10.0.0.57");
            }

            if (random.Next(2) == 0)
            {
                var vendor = new byte[random.Next(0, 12)];
                random.NextBytes(vendor);
                if (vendor.Length > 0 && random.Next(2) == 0)
                {
                    vendor[0] = 71;
                }

                packet.Options.Set(DhcpOptionCode.VendorSpecificInformation, vendor);
            }

            var bytes = packet.ToArray();
            for (var flips = random.Next(0, 4); flips > 0; flips--)
            {
                var at = random.Next(4) == 0 ? random.Next(0, 28) : random.Next(240, bytes.Length);
                bytes[at] = (byte)random.Next(256);
            }

            if (!DhcpPacket.TryParse(bytes, out var mutated, out _))
            {
                continue;
            }

            var bootServerPort = random.Next(2) == 0;
            var plan = await f.Handler.HandleAsync(mutated, new Provisioner.Edge.Dhcp.DhcpReceiveContext(EdgeAddress, new System.Net.IPEndPoint(System.Net.IPAddress.Parse("10.0.0.57"), 68), !mutated.RelayAgentAddress.IsAny, bootServerPort), CancellationToken.None);
            if (plan is null)
            {
                continue;
            }

            replies++;
            var reply = Parse(plan.Packet.ToArray());
            Assert.Equal(IPv4Address.Any, reply.YourAddress);
            Assert.NotEqual(DhcpMessageType.Nak, reply.MessageType);
            // A PXE boot is offered as "PXEClient" (PXE 2.1 §2.2.3); a UEFI HTTP boot, by URL, as "HTTPClient" (UEFI 2.10 §24.7).
            if (reply.Options.VendorClassIdentifier == "HTTPClient")
            {
                Assert.StartsWith("http://", reply.Options.BootfileName, StringComparison.Ordinal);
            }
            else
            {
                Assert.Equal("PXEClient", reply.Options.VendorClassIdentifier);
            }
        }

        Assert.Empty(f.Leases.Calls);
        Assert.True(replies > 100, $"only {replies} replies");
    }
}
