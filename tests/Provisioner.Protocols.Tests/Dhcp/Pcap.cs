using System.Buffers.Binary;

namespace Provisioner.Protocols.Tests.Dhcp;

/// <summary>One UDP datagram read from a capture.</summary>
public sealed record UdpDatagram(int Index, ushort SourcePort, ushort DestinationPort, byte[] Payload);

/// <summary>
/// Minimal reader for classic libpcap files (not pcapng), link type 1 (Ethernet), as written by tcpdump
/// and QEMU's filter-dump. Yields the UDP payload of every IPv4/UDP frame, other frames are skipped.
/// </summary>
/// <remarks>
/// Global header (24 bytes): magic a1b2c3d4 (byte order of the file; d4c3b2a1 when swapped; a1b23c4d for
/// nanosecond files), version 2.4, thiszone, sigfigs, snaplen, linktype. Then per record (16 bytes):
/// ts_sec, ts_usec, incl_len, orig_len, followed by incl_len bytes of frame.
/// </remarks>
public static class Pcap
{
    public static IReadOnlyList<UdpDatagram> ReadUdp(string path) => ReadUdp(File.ReadAllBytes(path));

    public static IReadOnlyList<UdpDatagram> ReadUdp(ReadOnlySpan<byte> file)
    {
        if (file.Length < 24)
        {
            throw new InvalidDataException("pcap: no global header");
        }

        var magic = BinaryPrimitives.ReadUInt32LittleEndian(file);
        var littleEndian = magic is 0xa1b2c3d4 or 0xa1b23c4d;
        if (!littleEndian && magic is not (0xd4c3b2a1 or 0x4d3cb2a1))
        {
            throw new InvalidDataException($"pcap: bad magic {magic:x8} (pcapng is not supported)");
        }

        uint U32(ReadOnlySpan<byte> s) =>
            littleEndian ? BinaryPrimitives.ReadUInt32LittleEndian(s) : BinaryPrimitives.ReadUInt32BigEndian(s);

        var linkType = U32(file[20..]);
        if (linkType != 1)
        {
            throw new InvalidDataException($"pcap: link type {linkType}, only Ethernet (1) is supported");
        }

        var result = new List<UdpDatagram>();
        var position = 24;
        var index = 0;
        while (position + 16 <= file.Length)
        {
            var included = (int)U32(file[(position + 8)..]);
            position += 16;
            if (included < 0 || position + included > file.Length)
            {
                throw new InvalidDataException("pcap: truncated record");
            }

            if (TryUdp(file.Slice(position, included), out var sourcePort, out var destinationPort, out var payload))
            {
                result.Add(new UdpDatagram(index, sourcePort, destinationPort, payload));
            }

            position += included;
            index++;
        }

        return result;
    }

    private static bool TryUdp(ReadOnlySpan<byte> frame, out ushort sourcePort, out ushort destinationPort, out byte[] payload)
    {
        sourcePort = destinationPort = 0;
        payload = Array.Empty<byte>();

        // Ethernet II: dst(6) src(6) ethertype(2), optionally one 802.1Q tag.
        if (frame.Length < 14)
        {
            return false;
        }

        var etherType = BinaryPrimitives.ReadUInt16BigEndian(frame[12..]);
        var ip = frame[14..];
        if (etherType == 0x8100 && frame.Length >= 18)
        {
            etherType = BinaryPrimitives.ReadUInt16BigEndian(frame[16..]);
            ip = frame[18..];
        }

        // IPv4: version/IHL, ..., total length at 2, protocol at 9; header is IHL*4 bytes.
        if (etherType != 0x0800 || ip.Length < 20 || ip[0] >> 4 != 4 || ip[9] != 17)
        {
            return false;
        }

        var headerLength = (ip[0] & 0x0f) * 4;
        var totalLength = BinaryPrimitives.ReadUInt16BigEndian(ip[2..]);
        if (headerLength < 20 || totalLength > ip.Length || totalLength < headerLength + 8)
        {
            return false;
        }

        // UDP: src(2) dst(2) length(2) checksum(2); the length (not the frame) bounds the payload, so
        // Ethernet minimum-size padding is not mistaken for DHCP bytes.
        var udp = ip[headerLength..totalLength];
        var udpLength = BinaryPrimitives.ReadUInt16BigEndian(udp[4..]);
        if (udpLength < 8 || udpLength > udp.Length)
        {
            return false;
        }

        sourcePort = BinaryPrimitives.ReadUInt16BigEndian(udp);
        destinationPort = BinaryPrimitives.ReadUInt16BigEndian(udp[2..]);
        payload = udp[8..udpLength].ToArray();
        return true;
    }
}
