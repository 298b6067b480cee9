using Provisioner.Protocols.Dhcp;

namespace Provisioner.Protocols.Tests.Dhcp;

/// <summary>Packets shared by the structural tests: hand-built raw bytes and every committed capture.</summary>
internal static class DhcpTestPackets
{
    public static readonly string GoldenDirectory = Path.Combine(AppContext.BaseDirectory, "Golden");

    /// <summary>
    /// A raw BOOTREQUEST: fixed fields with chaddr 52:54:00:dc:00:42, optional 'sname' / 'file' contents
    /// (options when overloaded), the cookie, then <paramref name="options"/> verbatim (no End added).
    /// </summary>
    public static byte[] Raw(byte[] options, byte[]? file = null, byte[]? sname = null)
    {
        var bytes = new byte[240 + options.Length];
        bytes[0] = 1; // op BOOTREQUEST
        bytes[1] = 1; // htype Ethernet
        bytes[2] = 6; // hlen
        bytes[4] = 0xca; // xid cafe0001
        bytes[5] = 0xfe;
        bytes[7] = 0x01;
        DhcpRoundTripTests.Mac.CopyTo(bytes, 28);
        sname?.CopyTo(bytes, 44);
        file?.CopyTo(bytes, 108);
        new byte[] { 0x63, 0x82, 0x53, 0x63 }.CopyTo(bytes, 236);
        options.CopyTo(bytes, 240);
        return bytes;
    }

    /// <summary>Every UDP payload of every committed capture, as (file#index, bytes).</summary>
    public static IEnumerable<(string Name, byte[] Bytes)> Captured() =>
        Directory.EnumerateFiles(GoldenDirectory, "*.pcap")
            .Where(path => IsDhcpCapture(Path.GetFileName(path)))
            .OrderBy(path => path, StringComparer.Ordinal)
            .SelectMany(path => Pcap.ReadUdp(path)
                .Where(d => d.SourcePort is 67 or 68 && d.DestinationPort is 67 or 68)
                .Select(d => ($"{Path.GetFileNameWithoutExtension(path)}#{d.Index}", d.Payload)));

    /// <summary>The captures this suite owns (the folder is shared with other protocols' captures).</summary>
    public static bool IsDhcpCapture(string fileName) => DhcpCaptureFiles.Contains(fileName);

    public static readonly string[] DhcpCaptureFiles =
    {
        "dhcp-udhcpc-kea.pcap",
        "dhcp-dhclient-kea.pcap",
        "dhcp-ipxe-bios-slirp.pcap",
        "dhcp-edk2-pxe-slirp.pcap",
        "dhcp-ovmf-ipxe-efi-slirp.pcap",
        "dhcp-aavmf-pxe-slirp.pcap",
    };

    /// <summary>Packets for the structural tests: built ones plus the first few of every capture.</summary>
    public static TheoryData<string> StructuralCases()
    {
        var data = new TheoryData<string>();
        foreach (var name in Structural.Keys)
        {
            data.Add(name);
        }

        return data;
    }

    public static IReadOnlyDictionary<string, byte[]> Structural => LazyStructural.Value;

    private static readonly Lazy<IReadOnlyDictionary<string, byte[]>> LazyStructural = new(() =>
    {
        var cases = new Dictionary<string, byte[]>(StringComparer.Ordinal)
        {
            ["built-every-typed-option"] = DhcpRoundTripTests.EveryTypedOption().ToArray(),
            ["raw-no-end"] = Raw(new byte[] { 53, 1, 1, 12, 3, (byte)'a', (byte)'b', (byte)'c' }),
            ["raw-pads-and-split-43"] = Raw(new byte[] { 0, 53, 1, 3, 0, 0, 43, 2, 1, 2, 43, 1, 3, 255, 0, 0 }),
            ["raw-overloaded"] = Raw(
                new byte[] { 53, 1, 1, 52, 1, 3, 255 },
                file: new byte[] { 12, 4, (byte)'h', (byte)'o', (byte)'s', (byte)'t', 255 },
                sname: new byte[] { 15, 3, (byte)'l', (byte)'a', (byte)'b', 255 }),
        };
        foreach (var (name, bytes) in Captured())
        {
            cases[name] = bytes;
        }

        return cases;
    });
}
