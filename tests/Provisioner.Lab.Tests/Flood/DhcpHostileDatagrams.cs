using System.Buffers.Binary;
using System.Text;

namespace Provisioner.Lab.Tests.Flood;

/// <summary>
/// DHCP datagrams for a flood (RFC 2131 section 2, options RFC 2132, PXE options RFC 4578):
/// <code>
///   0 op | htype | hlen | hops        4 xid           8 secs | flags
///  12 ciaddr   16 yiaddr   20 siaddr   24 giaddr      28 chaddr (16)
///  44 sname (64)   108 file (128)   236 magic 99.130.83.99   240 options: code | len | value ... 255
/// </code>
/// Every datagram gets its own MAC and xid when it is sent (<see cref="Stamp"/>), so the server's per-MAC rate limit
/// cannot be what saves it: each is a machine it has never seen.
/// </summary>
public static class DhcpHostileDatagrams
{
    public const int ChaddrOffset = 28;
    private const int HeaderLength = 240;
    private const byte End = 255;
    private static readonly byte[] PxeClass = Encoding.ASCII.GetBytes("PXEClient:Arch:00000:UNDI:002001");

    /// <summary>A PXE BIOS DISCOVER (option 53 = 1, 60 PXEClient, 93 = 0, 94, 97) as firmware sends it.</summary>
    public static byte[] PxeDiscover(byte[]? giaddr = null) =>
        Packet(giaddr, [Option(53, 1), Option(60, PxeClass), Option(93, 0, 0), Option(94, 1, 2, 1), Option(97, [0, .. new byte[16]]), [End]]);

    /// <summary>A PXE DISCOVER whose relay names the subnet to serve it from with option 118 (RFC 3011).</summary>
    public static byte[] PxeDiscover(byte[] giaddr, byte[] subnetSelection) =>
        Packet(giaddr, [Option(53, 1), Option(60, PxeClass), Option(93, 0, 0), Option(94, 1, 2, 1), Option(97, [0, .. new byte[16]]), Option(118, subnetSelection), [End]]);

    /// <summary>Writes a MAC (locally administered, unique per <paramref name="index"/> within a run) and xid into a packet's header.</summary>
    public static void Stamp(Span<byte> packet, long index, ushort run)
    {
        if (packet.Length < ChaddrOffset + 6)
        {
            return;
        }

        BinaryPrimitives.WriteUInt32BigEndian(packet[4..], (uint)index ^ 0x5a5a0000);
        packet[ChaddrOffset] = 0x02;
        packet[ChaddrOffset + 1] = (byte)run;
        BinaryPrimitives.WriteUInt32BigEndian(packet[(ChaddrOffset + 2)..], (uint)index);
    }

    /// <summary>Malformed and abusive DHCP datagrams; each one must be dropped or answered without harm.</summary>
    public static IReadOnlyList<byte[]> Malformed(int seed = 93)
    {
        var discover = PxeDiscover();
        var list = new List<byte[]>();

        // Truncated: inside the fixed header, at the cookie, an option code without a length, a length without value.
        foreach (var length in new[] { 0, 1, 4, 27, 44, 100, 235, 236, 239, 240, 241, 242, 243, 260 })
        {
            list.Add(discover[..Math.Min(length, discover.Length)]);
        }

        // Option lengths that run past the end of the packet.
        list.Add(Packet(null, [Option(53, 1), [60, 255, .. "PXEClient"u8]]));
        list.Add(Packet(null, [Option(53, 1), Option(60, PxeClass), [93, 200, 0]]));
        list.Add(Packet(null, [[53, 250, 1]]));

        // RFC 3396 concatenation abuse: one option split into 100 (or 250) instances.
        list.Add(Packet(null, [Option(53, 1), .. Enumerable.Repeat(Option(60, "PXE"u8.ToArray()), 100), Option(93, 0, 0), [End]]));
        list.Add(Packet(null, [Option(53, 1), Option(60, PxeClass), .. Enumerable.Repeat(Option(43, new byte[10]), 100), [End]]));
        list.Add(Packet(null, [Option(53, 1), Option(60, PxeClass), .. Enumerable.Repeat(Option(43, Filled(255, 0x41)), 250), [End]])); // ~64 KB, IP-fragmented
        list.Add(Packet(null, [.. Enumerable.Repeat(Option(53, 1), 100), Option(60, PxeClass), [End]]));
        list.Add(Packet(null, [Option(53, 1), Option(60, PxeClass), .. Enumerable.Repeat(Option(93, 0), 100), [End]])); // 93 split into odd halves

        // Zero-length options where a value is required.
        list.Add(Packet(null, [Option(53, 1), Option(60, PxeClass), [93, 0], [End]]));
        list.Add(Packet(null, [Option(53, 1), Option(60, PxeClass), Option(93, 0, 0), [97, 0], [End]]));
        list.Add(Packet(null, [[53, 0], Option(60, PxeClass), [End]]));
        list.Add(Packet(null, [Option(53, 1), [60, 0], [61, 0], [12, 0], [55, 0], [50, 0], [54, 0], [End]]));

        // No end option; only pads; an end option and then garbage.
        list.Add(Packet(null, [Option(53, 1), Option(60, PxeClass), Option(93, 0, 0)]));
        list.Add(Packet(null, [[.. new byte[300]]]));
        list.Add(Packet(null, [[.. new byte[300]], Option(53, 1), Option(60, PxeClass), [End]]));
        list.Add(Packet(null, [Option(53, 1), [End], Filled(200, 0xee)]));

        // Option 52 overload pointing at file and sname filled with garbage, lies and nested overloads.
        var random = new Random(seed);
        foreach (var overload in new byte[] { 1, 2, 3, 0, 200 })
        {
            var garbage = Packet(null, [Option(53, 1), Option(60, PxeClass), Option(52, overload), [End]]);
            random.NextBytes(garbage.AsSpan(44, 192));
            list.Add(garbage);

            var lying = Packet(null, [Option(53, 1), Option(52, overload), [End]]);
            lying[44] = 60;
            lying[45] = 250; // 250 bytes claimed in a 64-byte sname
            lying[108] = 52;
            lying[109] = 1;
            lying[110] = 3; // an overload inside the overloaded field
            lying[111] = 93;
            lying[112] = 0;
            list.Add(lying);
        }

        // Header fields that lie: bad cookie, hlen 0 / 16 / 255, htype 0, a BOOTREPLY, unknown message types.
        var badCookie = PxeDiscover();
        badCookie[236] = 0;
        list.Add(badCookie);
        foreach (var (offset, value) in new[] { (2, 0), (2, 16), (2, 255), (1, 0), (0, 2), (0, 0), (3, 255) })
        {
            var lie = PxeDiscover();
            lie[offset] = (byte)value;
            list.Add(lie);
        }

        foreach (var type in new byte[] { 0, 8, 9, 18, 200, 255 })
        {
            list.Add(Packet(null, [Option(53, type), Option(60, PxeClass), [End]]));
        }

        // REQUEST naming a foreign server, an address outside every pool, a client id of 1 and 255 bytes.
        list.Add(Packet(null, [Option(53, 3), Option(54, 203, 0, 113, 9), Option(50, 10, 99, 0, 1), [End]]));
        list.Add(Packet(null, [Option(53, 3), Option(50, 255, 255, 255, 255), [End]]));
        list.Add(Packet(null, [Option(53, 1), Option(61, 1), [End]]));
        list.Add(Packet(null, [Option(53, 1), Option(61, Filled(255, 7)), Option(55, [.. Enumerable.Range(0, 255).Select(i => (byte)i)]), [End]]));

        // Relay fields that lie: option 82 sub-option lengths past the option, 118 of 3 bytes, giaddr outside every subnet.
        list.Add(Packet([10, 77, 0, 1], [Option(53, 1), Option(60, PxeClass), Option(82, 1, 200, 1, 2), [End]]));
        list.Add(Packet([10, 77, 0, 1], [Option(53, 1), Option(60, PxeClass), Option(118, 10, 77, 0), [End]]));
        list.Add(Packet([198, 51, 100, 1], [Option(53, 1), Option(60, PxeClass), Option(93, 0, 0), [End]]));

        for (var i = 0; i < 32; i++)
        {
            var bytes = new byte[random.Next(0, 600)];
            random.NextBytes(bytes);
            list.Add(bytes);

            var afterCookie = PxeDiscover();
            random.NextBytes(afterCookie.AsSpan(HeaderLength));
            list.Add(afterCookie);
        }

        return list;
    }

    private static byte[] Packet(byte[]? giaddr, IEnumerable<byte[]> options)
    {
        var header = new byte[HeaderLength];
        header[0] = 1; // BOOTREQUEST
        header[1] = 1; // Ethernet
        header[2] = 6;
        if (giaddr is not null)
        {
            header[3] = 1; // one relay hop
            giaddr.CopyTo(header, 24);
        }
        else
        {
            header[10] = 0x80; // broadcast flag, as PXE firmware sets it
        }

        header[236] = 99;
        header[237] = 130;
        header[238] = 83;
        header[239] = 99;
        return [.. header, .. options.SelectMany(o => o)];
    }

    private static byte[] Option(byte code, params byte[] value) => [code, (byte)value.Length, .. value];

    private static byte[] Filled(int length, byte value) => Enumerable.Repeat(value, length).ToArray();
}
