using System.Text;

namespace Provisioner.Lab.Tests.Flood;

/// <summary>
/// Hostile TFTP datagrams for the listening port (RFC 1350 section 5, options RFC 2347-2349, 7440):
/// <code>
///  2 bytes   string  1 byte  string  1 byte  [ string 1 byte string 1 byte ]*
///  | 01/02 | file  |  0  |  mode  |  0  |  [ option | 0 | value | 0 ]*
/// </code>
/// RRQs for a real file (each asks the server for a transfer, so a socket and a task), for missing files, WRQs,
/// path escapes, absurd and excessive options, truncations, stray non-request opcodes and seeded random bytes.
/// </summary>
public static class TftpHostileDatagrams
{
    private const ushort ReadRequest = 1;
    private const ushort WriteRequest = 2;

    /// <summary>Every kind of datagram, cycled by the flood; a real-file RRQ is every few datagrams.</summary>
    public static IReadOnlyList<byte[]> All(string realFile, int seed = 9)
    {
        var list = new List<byte[]>();
        list.AddRange(RealFileRequests(realFile));
        list.AddRange(MissingAndForbidden());
        list.AddRange(Malformed(realFile, seed));

        // Interleave so a slice of the flood carries every kind, and real-file RRQs (the costly ones) stay ~1 in 3.
        var real = RealFileRequests(realFile);
        var mixed = new List<byte[]>();
        for (var i = 0; i < list.Count; i++)
        {
            mixed.Add(list[i]);
            if (i % 2 == 0)
            {
                mixed.Add(real[i % real.Count]);
            }
        }

        return mixed;
    }

    /// <summary>RRQs the server should serve or refuse per option: each one, honoured, is a transfer.</summary>
    public static IReadOnlyList<byte[]> RealFileRequests(string file) =>
    [
        Request(ReadRequest, file, "octet"),
        Request(ReadRequest, file, "netascii"),
        Request(ReadRequest, file, "OcTeT", ("blksize", "1468"), ("tsize", "0")),
        Request(ReadRequest, file, "octet", ("blksize", "0")),
        Request(ReadRequest, file, "octet", ("blksize", "1")),
        Request(ReadRequest, file, "octet", ("blksize", "65535")),
        Request(ReadRequest, file, "octet", ("blksize", "abc")),
        Request(ReadRequest, file, "octet", ("blksize", "-8")),
        Request(ReadRequest, file, "octet", ("blksize", "99999999999999999999999")),
        Request(ReadRequest, file, "octet", ("windowsize", "0")),
        Request(ReadRequest, file, "octet", ("windowsize", "100000")),
        Request(ReadRequest, file, "octet", ("blksize", "8"), ("windowsize", "65535")),
        Request(ReadRequest, file, "octet", ("tsize", "garbage")),
        Request(ReadRequest, file, "octet", ("tsize", "-1")),
        Request(ReadRequest, file, "octet", ("tsize", "184467440737095516150")),
        Request(ReadRequest, file, "octet", ("timeout", "0")),
        Request(ReadRequest, file, "octet", ("timeout", "255")),
        Request(ReadRequest, file, "octet", ("timeout", "x")),
        Request(ReadRequest, file, "octet", ("blksize", "512"), ("blksize", "1468"), ("blksize", "8")),
        Request(ReadRequest, file, "octet", [.. Enumerable.Range(0, 200).Select(i => ($"opt{i}", i.ToString(System.Globalization.CultureInfo.InvariantCulture)))]),
        Request(ReadRequest, file, "octet", [.. Enumerable.Range(0, 200).Select(_ => ("blksize", "1468"))]),
        Request(ReadRequest, file, "octet", ("", ""), ("", "")),
    ];

    private static IEnumerable<byte[]> MissingAndForbidden()
    {
        for (var i = 0; i < 8; i++)
        {
            yield return Request(ReadRequest, $"missing-{i}.bin", "octet");
        }

        foreach (var name in new[]
        {
            "../../etc/passwd", "/etc/passwd", "..\\..\\etc\\passwd", "./../../../../../../etc/shadow", "undionly.kpxe/../../lab.conf",
            "%2e%2e/%2e%2e/etc/passwd", "....//....//etc/passwd", "/proc/self/environ", "/dev/zero", "/dev/urandom", "data/provisioner.db",
            new string('a', 1000), new string('/', 300), "..", ".", "",
        })
        {
            yield return Request(ReadRequest, name, "octet");
            yield return Request(WriteRequest, name, "octet");
        }

        yield return Request(WriteRequest, "upload.bin", "octet");
        yield return Request(WriteRequest, "upload.bin", "octet", ("blksize", "65464"), ("tsize", "4294967296"));
        yield return Request(ReadRequest, "undionly.kpxe", "mail");
        yield return Request(ReadRequest, "undionly.kpxe", "binary\u00ff");
    }

    /// <summary>Datagrams that are not valid requests at all (every one must be dropped, quietly).</summary>
    public static IEnumerable<byte[]> Malformed(string realFile, int seed)
    {
        // Every prefix of a request with options: no NUL after the name, no mode, option without value, ...
        var full = Request(ReadRequest, realFile, "octet", ("blksize", "1468"), ("windowsize", "8"), ("tsize", "0"));
        for (var length = 0; length < full.Length; length++)
        {
            yield return full[..length];
        }

        yield return [0, 1, .. Encoding.ASCII.GetBytes(realFile)]; // no terminator at all
        yield return [0, 1, 0, 0]; // empty name, empty mode
        yield return [0, 1, .. new byte[1400]]; // all NULs
        yield return [0, 1, .. Enumerable.Repeat((byte)'A', 4000)]; // longer than most receive buffers
        foreach (var opcode in new ushort[] { 0, 3, 4, 5, 6, 7, 255, 0xffff })
        {
            yield return [(byte)(opcode >> 8), (byte)opcode, 0, 1, 0, 0]; // stray DATA/ACK/ERROR/OACK and unknown opcodes
        }

        var random = new Random(seed);
        for (var i = 0; i < 64; i++)
        {
            var bytes = new byte[random.Next(0, 1500)];
            random.NextBytes(bytes);
            yield return bytes;
        }
    }

    public static byte[] Request(ushort opcode, string file, string mode, params (string Name, string Value)[] options)
    {
        var bytes = new List<byte> { (byte)(opcode >> 8), (byte)opcode };
        void Add(string text)
        {
            bytes.AddRange(Encoding.Latin1.GetBytes(text));
            bytes.Add(0);
        }

        Add(file);
        Add(mode);
        foreach (var (name, value) in options)
        {
            Add(name);
            Add(value);
        }

        return [.. bytes];
    }
}
