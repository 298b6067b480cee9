using System.Buffers.Binary;

namespace Provisioner.Protocols.Tests.Tftp;

/// <summary>
/// Minimal classic-pcap reader for the committed TFTP captures: 24-byte global header, 16-byte record
/// headers, link type 1 (Ethernet); yields the UDP payload of every IPv4/UDP frame
/// (Ethernet 14 + IPv4 IHL*4 + UDP 8 stripped). Not pcapng.
/// </summary>
internal static class TftpPcap
{
    public static string GoldenDirectory => Path.Combine(AppContext.BaseDirectory, "Golden", "tftp");

    public static string GoldenPath(string fileName) => Path.Combine(GoldenDirectory, fileName);

    public static IReadOnlyList<string> AllCaptures() =>
        [.. Directory.GetFiles(GoldenDirectory, "*.pcap").OrderBy(p => p, StringComparer.Ordinal)];

    public static IReadOnlyList<UdpDatagram> ReadUdp(string path)
    {
        var file = File.ReadAllBytes(path);
        if (file.Length < 24)
        {
            throw new InvalidDataException($"{path}: shorter than a pcap global header");
        }

        var magic = BinaryPrimitives.ReadUInt32LittleEndian(file);
        var littleEndian = magic switch
        {
            0xA1B2C3D4 or 0xA1B23C4D => true,   // microsecond / nanosecond timestamps, written little-endian
            0xD4C3B2A1 or 0x4D3CB2A1 => false,
            _ => throw new InvalidDataException($"{path}: not a classic pcap (magic {magic:x8})"),
        };
        uint U32(int at) => littleEndian
            ? BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(at))
            : BinaryPrimitives.ReadUInt32BigEndian(file.AsSpan(at));

        var linkType = U32(20);
        if (linkType != 1)
        {
            throw new InvalidDataException($"{path}: link type {linkType}, expected 1 (Ethernet)");
        }

        var datagrams = new List<UdpDatagram>();
        var at = 24;
        while (at + 16 <= file.Length)
        {
            var captured = (int)U32(at + 8);
            var original = (int)U32(at + 12);
            at += 16;
            if (captured > file.Length - at)
            {
                throw new InvalidDataException($"{path}: record at {at - 16} runs past the end of the file");
            }

            if (captured != original)
            {
                throw new InvalidDataException($"{path}: record at {at - 16} was cut by the snap length");
            }

            var frame = file.AsSpan(at, captured);
            at += captured;
            if (frame.Length < 14 + 20 || BinaryPrimitives.ReadUInt16BigEndian(frame[12..]) != 0x0800)
            {
                continue; // not IPv4
            }

            var ip = frame[14..];
            var ihl = (ip[0] & 0x0F) * 4;
            if ((ip[0] >> 4) != 4 || ip[9] != 17 || ip.Length < ihl + 8)
            {
                continue; // not UDP
            }

            var totalLength = BinaryPrimitives.ReadUInt16BigEndian(ip[2..]);
            var udp = ip[ihl..Math.Min(ip.Length, totalLength)];
            var udpLength = BinaryPrimitives.ReadUInt16BigEndian(udp[4..]);
            datagrams.Add(new UdpDatagram(
                BinaryPrimitives.ReadUInt16BigEndian(udp),
                BinaryPrimitives.ReadUInt16BigEndian(udp[2..]),
                udp[8..udpLength].ToArray()));
        }

        return datagrams;
    }

    internal sealed record UdpDatagram(ushort SourcePort, ushort DestinationPort, byte[] Payload);
}
