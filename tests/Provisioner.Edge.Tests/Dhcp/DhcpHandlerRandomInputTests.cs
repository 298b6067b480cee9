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
}
