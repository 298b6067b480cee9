using System.Diagnostics;
using Provisioner.Protocols.Dhcp;

namespace Provisioner.Protocols.Tests.Dhcp;

/// <summary>
/// Hostile input must never throw: random datagrams, random option areas behind a valid header, and
/// mutations of real captures go through TryParse, every typed accessor, and a write/re-parse cycle.
/// Seeds are fixed so a failure reproduces; the failing input is printed as hex.
/// </summary>
public sealed class DhcpRandomInputTests
{
    private const int PerKind = 100_000;

    [Fact]
    public void Random_datagrams_never_throw()
    {
        var random = new Random(2131);
        var buffer = new byte[1500];
        var accepted = Run(PerKind, () =>
        {
            var length = random.Next(0, buffer.Length + 1);
            random.NextBytes(buffer.AsSpan(0, length));
            return buffer.AsSpan(0, length).ToArray();
        });

        // Almost all fail the cookie check; the point is that none throws.
        Assert.True(accepted < PerKind / 1000);
    }

    [Fact]
    public void Random_option_areas_behind_a_valid_header_never_throw()
    {
        var random = new Random(2132);
        var accepted = Run(PerKind, () =>
        {
            var optionsLength = random.Next(0, 600);
            var bytes = new byte[DhcpPacket.HeaderLength + optionsLength];
            random.NextBytes(bytes);
            bytes[2] = (byte)random.Next(0, 17);
            new byte[] { 0x63, 0x82, 0x53, 0x63 }.CopyTo(bytes, 236);

            // Small codes and lengths make long chains of well-formed options more likely, and the
            // codes with typed accessors more likely still.
            for (var i = DhcpPacket.HeaderLength; i < bytes.Length; i++)
            {
                var roll = random.Next(8);
                if (roll < 3)
                {
                    bytes[i] = (byte)random.Next(0, 16);
                }
                else if (roll == 3)
                {
                    bytes[i] = TypedCodes[random.Next(TypedCodes.Length)];
                }
            }

            if (optionsLength >= 2 && random.Next(4) == 0)
            {
                bytes[240] = 52;
                bytes[241] = 1;
                if (bytes.Length > 242)
                {
                    bytes[242] = (byte)random.Next(0, 5);
                }
            }

            return bytes;
        });

        Assert.True(accepted > 0);
    }

    [Fact]
    public void Mutated_captures_and_built_packets_never_throw()
    {
        var random = new Random(2133);
        var seeds = DhcpTestPackets.Structural.Values.ToArray();
        var accepted = Run(PerKind, () =>
        {
            var bytes = (byte[])seeds[random.Next(seeds.Length)].Clone();
            var spans = DhcpTruncationTests.OptionSpans(bytes);
            switch (random.Next(6))
            {
                case 0: // bit flips anywhere
                    for (var flips = random.Next(1, 9); flips > 0; flips--)
                    {
                        bytes[random.Next(bytes.Length)] ^= (byte)(1 << random.Next(8));
                    }

                    break;
                case 1: // truncation anywhere
                    bytes = bytes[..random.Next(bytes.Length)];
                    break;
                case 2: // corrupt one option's length byte
                    if (spans.Count > 0)
                    {
                        bytes[spans[random.Next(spans.Count)].Start + 1] = (byte)random.Next(256);
                    }

                    break;
                case 3: // corrupt one option's code (into framing codes and typed ones)
                    if (spans.Count > 0)
                    {
                        bytes[spans[random.Next(spans.Count)].Start] = TypedCodes[random.Next(TypedCodes.Length)];
                    }

                    break;
                case 4: // overload whatever is in file/sname
                    if (spans.Count > 0)
                    {
                        var (start, end) = spans[random.Next(spans.Count)];
                        if (end - start >= 3)
                        {
                            bytes[start] = 52;
                            bytes[start + 1] = 1;
                            bytes[start + 2] = (byte)random.Next(1, 4);
                        }
                    }

                    break;
                default: // random bytes inside one option's value
                    if (spans.Count > 0)
                    {
                        var (start, end) = spans[random.Next(spans.Count)];
                        random.NextBytes(bytes.AsSpan(start + 2, end - start - 2));
                    }

                    break;
            }

            return bytes;
        });

        Assert.True(accepted > PerKind / 10);
    }

    private static readonly byte[] TypedCodes =
    {
        0, 1, 3, 6, 12, 15, 28, 43, 50, 51, 52, 53, 54, 55, 57, 58, 59, 60, 61, 66, 67, 77, 82, 93, 94, 97, 118, 175, 255,
    };

    /// <summary>Runs <paramref name="count"/> inputs; returns how many parsed. Every parsed packet is fully read and re-written.</summary>
    private static int Run(int count, Func<byte[]> next)
    {
        var watch = Stopwatch.StartNew();
        var accepted = 0;
        for (var i = 0; i < count; i++)
        {
            var input = next();
            try
            {
                if (DhcpPacket.TryParse(input, out var packet, out _))
                {
                    accepted++;
                    Touch(packet);

                    // What we parsed, we can write; what we wrote, we can parse, to the same options.
                    var written = packet.ToArray();
                    if (!DhcpPacket.TryParse(written, out var again, out var error))
                    {
                        Assert.Fail($"re-parse failed ({error}) for input {Convert.ToHexString(input)}");
                    }

                    // Same options; only the position of 82 may change (the writer puts it last).
                    Assert.Equal(ByCode(packet.Options), ByCode(again.Options));
                }
            }
            catch (Exception e) when (e is not Xunit.Sdk.XunitException)
            {
                Assert.Fail($"threw {e.GetType().Name}: {e.Message} for input {Convert.ToHexString(input)}\n{e}");
            }
        }

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), $"too slow: {watch.Elapsed}");
        return accepted;
    }

    private static string ByCode(DhcpOptions options) =>
        string.Join("\n", options.OrderBy(o => o.Code).Select(o => o.ToString()));

    /// <summary>Reads every field and every typed accessor.</summary>
    private static void Touch(DhcpPacket p)
    {
        _ = p.ToString();
        _ = p.ClientHardwareAddress.Length + p.ServerHostName.Length + p.BootFileName.Length;
        _ = (p.Op, p.HardwareType, p.Hops, p.TransactionId, p.Seconds, p.Broadcast, p.Overload);
        _ = (p.ClientAddress.ToString(), p.YourAddress, p.ServerAddress, p.RelayAgentAddress);
        var o = p.Options;
        foreach (var option in o)
        {
            _ = option.ToString();
            _ = DhcpSubOptions.TryParse(option.Data, out _);
        }

        _ = (o.SubnetMask, o.Routers, o.DomainNameServers, o.HostName, o.DomainName, o.BroadcastAddress);
        _ = (o.VendorSpecificInformation, o.RequestedIPAddress, o.LeaseTimeSeconds, o.MessageType, o.ServerIdentifier);
        _ = (o.ParameterRequestList, o.MaxMessageSize, o.RenewalTimeSeconds, o.RebindingTimeSeconds);
        _ = (o.VendorClassIdentifier, o.IsPxeClient, o.ClientIdentifier, o.TftpServerName, o.BootfileName);
        _ = (o.UserClasses, o.HasIpxeUserClass, o.RelayAgentInformation, o.RelayAgentCircuitId, o.RelayAgentRemoteId);
        _ = (o.RelayAgentLinkSelection, o.ClientSystemArchitectures, o.ClientNetworkInterface?.ToString());
        _ = (o.ClientMachineIdentifier, o.SubnetSelection, o.IpxeEncapsulatedOptions, o.IpxeNoPxeDhcp);
        _ = DhcpPacket.CreateReply(p, DhcpMessageType.Offer).ToArray();
    }
}
