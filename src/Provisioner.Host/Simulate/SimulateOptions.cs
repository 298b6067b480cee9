using System.Globalization;
using System.Net;
using Provisioner.Domain.Machines;
using Provisioner.Host.Cli;

namespace Provisioner.Host.Simulate;

/// <summary>
/// What <c>provisioner simulate</c> was asked to do. <see cref="Parse"/> reads its own options (strictly: an option of
/// another verb is an error here) and throws <see cref="UsageException"/> for anything wrong, naming the option.
/// </summary>
public sealed record SimulateOptions
{
    public const int MaxMachines = 1_000_000;
    public const int DhcpPort = 67;

    /// <summary>Each boot attempt has transaction ids of its own, 4 bits' worth of exchanges per machine.</summary>
    public const int MaxReboots = 7;

    public static readonly byte[] DefaultMacBase = [0x52, 0x54, 0x01, 0x00, 0x00, 0x00];

    public const string Help = """
        provisioner simulate — a boot storm: N machines PXE-boot against a real edge, through a DHCP relay.

        Usage:
          provisioner simulate --dhcp-server IP[:PORT] --relay-address IP[:PORT] [options]

        Every machine does what real firmware does, with its retransmission timers: a relayed PXE DHCP exchange
        (DISCOVER, OFFER, REQUEST, ACK; option 60 PXEClient, 93, 94, 97), a TFTP download of the NBP the ACK names
        (blksize 1432, tsize), iPXE's own DHCP (user class iPXE), then over HTTP its boot script, the kernel and initrd
        the script names (read to the end, length checked), the kickstart (ks=) and the kickstart's phone-home URL.
        The simulator is the relay agent: requests go from the relay address to the DHCP server with giaddr set, and
        the edge answers to the relay address, so no raw sockets are needed. When the leased addresses are local
        (e.g. `ip route add local 10.88.0.0/24 dev lo` and a route to that subnet on the edge), TFTP and HTTP go out
        from each machine's own address, as on a real segment, and the edge records the NBP download too.

        Options:
          --dhcp-server IP[:PORT][,…]  the edge's DHCP server (port 67); several, comma-separated, for a site with
                               more than one edge: as dhcrelay does, every request goes to each of them, the
                               machine takes the first answer and boots from the edge that gave it
          --relay-address IP[:PORT]    giaddr: a local address in the relayed subnet; replies arrive on it (the port
                                       defaults to the server's: an edge answers relays on its own DHCP port)
          --machines N                 machines to boot (default 100)
          --rate R                     machines powered on per second (default 10)
          --mac-base MAC               the first machine's MAC; the others count up from it (default 52:54:01:00:00:00)
          --arch 0|7|9|11              option 93: 0 BIOS (default), 7/9 x64 UEFI, 11 ARM64 UEFI
          --timeout-per-machine T      a machine not installed after T fails where it is (default 120s; 90s, 2m, 500ms)
          --in-flight N                machines booting at once at most; later ones wait to power on (default 1000)
          --reboots N                  a machine whose boot failed (no answer, an HTTP error, a dead edge) powers on
                                       again, as a server does when its boot order comes round, up to N times
                                       (default 0: the first failure is final; at most 7); within --timeout-per-machine
          --reboot-after T             time from a failed boot to the next DISCOVER (POST, NIC init; default 5s)
          --admin URL                  afterwards read every machine from this admin API: each must be Installed
                                       (or Rebooted: a machine whose phone-home answer was lost boots its disk next)
          --token TOKEN                bearer token for --admin (env PROVISIONER_ADMIN_TOKEN)
          -o, --output table|json      the report's format (default table)

        Retransmission (as firmware): PXE DISCOVER 4, 8, 16, 32 s and REQUEST 1, 2, 3, 4 s (PXE 2.1); iPXE DISCOVER
        1, 2, 4, 8 s and REQUEST 0.25 s doubling to 8 s; TFTP RRQ and ACK 0.25 s doubling to 8 s, from every block.
        HTTP: script, kernel and initrd tried once (iPXE: a failed fetch fails the boot); kickstart and phone-home
        retried up to 5 times 3 s apart after a failed connection or a 408, 429, 500, 502, 503 or 504 (as the shipped
        kickstart's %post: curl --retry 5 --retry-delay 3). Each machine has its own HTTP connections.

        Report: machines completed and failed (by stage and reason), wall time, machines completed per second,
        latency p50/p90/p99/max per stage (dhcp, tftp, ipxe-dhcp, script, kernel, initrd, kickstart, phone-home,
        total), and any address ACKed to two machines. Exit 0 when every machine completed, no address was ACKed
        twice and (with --admin) every machine reads back Installed (or Rebooted); 1 otherwise; 2 for a usage error.
        """;

    public int Machines { get; init; } = 100;

    public double Rate { get; init; } = 10;

    /// <summary>Every DHCP server a relayed request goes to (the first is the one named first).</summary>
    public required IReadOnlyList<IPEndPoint> DhcpServers { get; init; }

    public required IPEndPoint Relay { get; init; }

    public IReadOnlyList<byte> MacBase { get; init; } = DefaultMacBase;

    public int Architecture { get; init; }

    public TimeSpan TimeoutPerMachine { get; init; } = TimeSpan.FromSeconds(120);

    public int InFlight { get; init; } = 1000;

    /// <summary>Boot attempts a machine makes after a failed one (0: none).</summary>
    public int Reboots { get; init; }

    public TimeSpan RebootAfter { get; init; } = TimeSpan.FromSeconds(5);

    public Uri? Admin { get; init; }

    public string? Token { get; init; }

    public bool Json { get; init; }

    /// <summary>The MAC of machine <paramref name="index"/>: <see cref="MacBase"/> plus the index, as a 48-bit number.</summary>
    public byte[] Mac(int index)
    {
        var value = MacValue(MacBase) + (ulong)index;
        var mac = new byte[6];
        for (var i = 5; i >= 0; i--)
        {
            mac[i] = (byte)value;
            value >>= 8;
        }

        return mac;
    }

    /// <summary>Parses the arguments after <c>simulate</c>; null when help was asked for.</summary>
    /// <param name="environment">Environment variables (PROVISIONER_ADMIN_TOKEN).</param>
    public static SimulateOptions? Parse(IReadOnlyList<string> args, Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(environment);
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg is "-h" or "--help" or "help")
            {
                return null;
            }

            if (!arg.StartsWith('-') || arg.Length == 1)
            {
                throw new UsageException($"unexpected '{arg}' (usage: provisioner simulate --dhcp-server IP --relay-address IP [options])");
            }

            var name = arg is "-o" ? "output" : arg.TrimStart('-');
            string? value = null;
            if (name.IndexOf('=', StringComparison.Ordinal) is var eq and > 0)
            {
                value = name[(eq + 1)..];
                name = name[..eq];
            }

            if (!Names.Contains(name))
            {
                throw new UsageException($"unknown option '{arg}' for simulate");
            }

            value ??= i + 1 < args.Count ? args[++i] : throw new UsageException($"option '{arg}' needs a value");
            if (!values.TryAdd(name, value))
            {
                throw new UsageException($"option '--{name}' given twice");
            }
        }

        string? Get(string name) => values.TryGetValue(name, out var v) ? v : null;

        var servers = (Get("dhcp-server") ?? throw new UsageException("simulate needs --dhcp-server IP[:PORT] (the edge's DHCP server)"))
            .Split(',', StringSplitOptions.TrimEntries)
            .Select(s => Endpoint("dhcp-server", s, DhcpPort))
            .ToArray();
        if (servers.Distinct().Count() != servers.Length)
        {
            throw new UsageException("--dhcp-server names one server twice");
        }

        var relay = Endpoint("relay-address", Get("relay-address") ?? throw new UsageException("simulate needs --relay-address IP (giaddr: a local address in the relayed subnet)"), servers[0].Port);
        var options = new SimulateOptions
        {
            DhcpServers = servers,
            Relay = relay,
            Machines = Get("machines") is { } machines ? Int("machines", machines, 1, MaxMachines) : 100,
            Rate = Get("rate") is { } rate ? ParseRate(rate) : 10,
            MacBase = Get("mac-base") is { } macBase ? MacBytes(macBase) : DefaultMacBase,
            Architecture = Get("arch") is { } arch ? Arch(arch) : 0,
            TimeoutPerMachine = Get("timeout-per-machine") is { } timeout ? Duration("timeout-per-machine", timeout) : TimeSpan.FromSeconds(120),
            InFlight = Get("in-flight") is { } inFlight ? Int("in-flight", inFlight, 1, MaxMachines) : 1000,
            Reboots = Get("reboots") is { } reboots ? Int("reboots", reboots, 0, MaxReboots) : 0,
            RebootAfter = Get("reboot-after") is { } rebootAfter ? Duration("reboot-after", rebootAfter) : TimeSpan.FromSeconds(5),
            Admin = Get("admin") is { } admin ? AdminUrl(admin) : null,
            Token = Get("token") ?? environment("PROVISIONER_ADMIN_TOKEN"),
            Json = (Get("output") ?? "table") switch
            {
                "json" => true,
                "table" => false,
                var other => throw new UsageException($"unknown output format '{other}' (table or json)"),
            },
        };

        // The MACs count up in the low five bytes only: past them the first byte (its multicast bit) would change.
        if ((MacValue(options.MacBase) & 0xFF_FFFF_FFFFUL) + (ulong)options.Machines - 1 > 0xFF_FFFF_FFFFUL)
        {
            throw new UsageException($"--mac-base {MachineId.FromBytes(options.MacBase.ToArray())} leaves no room for {options.Machines} machines");
        }

        return options;
    }

    private static readonly HashSet<string> Names =
        ["dhcp-server", "relay-address", "machines", "rate", "mac-base", "arch", "timeout-per-machine", "in-flight", "reboots", "reboot-after", "admin", "token", "output"];

    /// <summary>A duration: 120s, 2m, 500ms, 1h, or a number of seconds.</summary>
    public static TimeSpan Duration(string option, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        (string number, double unit) = text switch
        {
            _ when text.EndsWith("ms", StringComparison.Ordinal) => (text[..^2], 0.001),
            _ when text.EndsWith('s') => (text[..^1], 1),
            _ when text.EndsWith('m') => (text[..^1], 60),
            _ when text.EndsWith('h') => (text[..^1], 3600),
            _ => (text, 1),
        };
        if (!double.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value) || value * unit is not (> 0 and <= 86_400))
        {
            throw new UsageException($"--{option} '{text}' is not a duration up to a day (e.g. 120s, 2m, 500ms)");
        }

        return TimeSpan.FromSeconds(value * unit);
    }

    /// <summary>IPv4 with an optional port: 10.0.0.1 or 10.0.0.1:6767.</summary>
    public static IPEndPoint Endpoint(string option, string text, int defaultPort)
    {
        ArgumentNullException.ThrowIfNull(text);
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        var host = colon < 0 ? text : text[..colon];
        var port = defaultPort;
        if (!IPAddress.TryParse(host, out var address) || address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork || host.Count(c => c == '.') != 3
            || (colon >= 0 && !int.TryParse(text[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out port))
            || port is < 1 or > 65535)
        {
            throw new UsageException($"--{option} '{text}' is not an IPv4 address with an optional port (e.g. 10.0.0.1 or 10.0.0.1:6767)");
        }

        return new IPEndPoint(address, port);
    }

    private static int Int(string option, string text, int min, int max) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max
            ? value
            : throw new UsageException($"--{option} '{text}' is not a whole number from {min} to {max}");

    private static double ParseRate(string text) =>
        double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var rate) && rate is > 0 and <= 100_000
            ? rate
            : throw new UsageException($"--rate '{text}' is not a number of machines per second above 0 (at most 100000)");

    private static int Arch(string text) => text switch
    {
        "0" => 0,
        "7" => 7,
        "9" => 9,
        "11" => 11,
        _ => throw new UsageException($"--arch '{text}' is not 0 (BIOS), 7 or 9 (x64 UEFI) or 11 (ARM64 UEFI)"),
    };

    private static byte[] MacBytes(string text)
    {
        if (!MachineId.TryParse(text, out var id))
        {
            throw new UsageException($"--mac-base '{text}' is not a MAC address (expected aa:bb:cc:dd:ee:ff)");
        }

        var bytes = Convert.FromHexString(id.Value.Replace(":", string.Empty, StringComparison.Ordinal));
        if ((bytes[0] & 1) != 0)
        {
            throw new UsageException($"--mac-base {id} is a multicast address (the low bit of its first byte is set)");
        }

        return bytes;
    }

    private static Uri AdminUrl(string text) =>
        Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
            ? uri
            : throw new UsageException($"--admin '{text}' is not an http:// URL of an admin API");

    private static ulong MacValue(IReadOnlyList<byte> mac) => mac.Aggregate(0UL, (value, b) => (value << 8) | b);
}
