using System.Collections.Frozen;
using System.Globalization;
using Akka.Configuration;
using Provisioner.Cluster.Hosting;
using Provisioner.Cluster.Leases;
using Provisioner.Domain.Boot;
using Provisioner.Domain.Leases;
using Provisioner.Protocols.Dhcp;

namespace Provisioner.Edge.Dhcp;

/// <summary>What a non-PXE client (no option 60 <c>PXEClient</c>, no iPXE user class) gets.</summary>
public enum NonPxeClientPolicy
{
    /// <summary>An address and the subnet's options, without a boot file.</summary>
    PlainDhcp = 0,

    /// <summary>Silence: another DHCP server on the segment serves them.</summary>
    Ignore = 1,
}

/// <summary>How the edge takes part in DHCP on its segments (<c>dhcp.mode</c>).</summary>
public enum DhcpMode
{
    /// <summary>The edge is the DHCP server: it leases addresses from its subnets' pools and names the boot file.</summary>
    Server = 0,

    /// <summary>
    /// proxyDHCP (PXE 2.1 §2.2.3): another DHCP server on the segment leases every address; the edge answers only PXE
    /// clients' DISCOVERs with an OFFER that carries no address, only the boot file, and their boot-server REQUESTs on
    /// port 4011 (§2.2.6). It leases nothing and never NAKs.
    /// </summary>
    Proxy = 1,
}

/// <summary>The DHCP server's settings: <c>provisioner.edge</c> (interface, address, dhcp.*, http.listen for boot URLs).</summary>
public sealed record DhcpServerOptions
{
    public bool Enabled { get; init; }

    /// <summary>Interface for SO_BINDTODEVICE; "" = not bound to a device (then the server only binds explicit addresses, e.g. loopback).</summary>
    public string Interface { get; init; } = string.Empty;

    /// <summary>This edge's address: server identifier (54), siaddr, option 66 and boot URLs.</summary>
    public required IPv4Address Address { get; init; }

    /// <summary>The server port (67): where clients and relay agents send, and where replies to relay agents go.</summary>
    public int Port { get; init; } = 67;

    public int ClientPort { get; init; } = 68;

    /// <summary>Server or proxyDHCP (<c>dhcp.mode</c>, <c>server</c> | <c>proxy</c>).</summary>
    public DhcpMode Mode { get; init; } = DhcpMode.Server;

    /// <summary>
    /// proxyDHCP only: the PXE boot-server port (PXE 2.1 §2.2.6, 4011; <c>dhcp.proxy-port</c>), bound on the same
    /// address and interface as the DHCP socket.
    /// </summary>
    public int ProxyPort { get; init; } = 4011;

    /// <summary>
    /// proxyDHCP only: machines never journaled that are recorded per second at most (<c>dhcp.proxy-new-machines-per-second</c>),
    /// after a burst of five seconds' worth; see <see cref="NewMachineRate"/>.
    /// </summary>
    public double ProxyNewMachinesPerSecond { get; init; } = 100;

    public NonPxeClientPolicy NonPxeClients { get; init; } = NonPxeClientPolicy.PlainDhcp;

    /// <summary>
    /// A PXE machine with nothing in the journal gets its DHCP answers without its actor, its first boot made durable with
    /// the lease (<c>dhcp.first-boot-on-lease</c>, on where the node owns its journal); off = every machine's actor
    /// decides and records its boot before the ACK.
    /// </summary>
    public bool FirstBootOnLease { get; init; } = true;

    /// <summary>Packets per second accepted from one MAC (token bucket, burst of the same size).</summary>
    public double PerMacRate { get; init; } = 20;

    public IReadOnlyList<SubnetDefinition> Subnets { get; init; } = [];

    /// <summary>Requests waiting for a handler, per lane (DISCOVERs; follow-ups), before the oldest are shed (<c>dhcp.queue-capacity</c>).</summary>
    public int QueueCapacity { get; init; } = 8192;

    /// <summary>A DISCOVER that waited longer than this is dropped unanswered (<c>dhcp.max-discover-wait</c>): its firmware has moved on.</summary>
    public TimeSpan MaxDiscoverWait { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>A REQUEST (or other follow-up) that waited longer than this is dropped unanswered (<c>dhcp.max-request-wait</c>).</summary>
    public TimeSpan MaxRequestWait { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Requests handled at once (<c>dhcp.max-in-flight</c>): a bound on memory, not a throttle (an ACK waits for its journal write).</summary>
    public int MaxInFlight { get; init; } = 1024;

    /// <summary>
    /// New PXE machines' DORAs the node plays against itself before it serves (<c>dhcp.warm-up</c>; 0 = none): see
    /// <see cref="DhcpWarmUp"/>.
    /// </summary>
    public int WarmUpExchanges { get; init; } = 2000;

    /// <summary>
    /// Grants remembered for renewals while no core node is reachable (<c>dhcp.remembered-leases</c>, see
    /// <see cref="RememberingLeaseGateway"/>); past it the expired ones go first, then the oldest.
    /// </summary>
    public int RememberedLeases { get; init; } = 100_000;

    /// <summary>Port of the edge's HTTP boot endpoints, from <c>provisioner.edge.http.listen</c>.</summary>
    public int HttpPort { get; init; } = 8080;

    /// <summary>Network boot programs by client architecture (<c>dhcp.boot-files</c>).</summary>
    public BootFileTable BootFiles { get; init; } = BootFileTable.Default;

    /// <summary><c>http://&lt;edge address&gt;:&lt;http port&gt;</c>: where DHCP clients reach this edge's boot endpoints.</summary>
    public string EdgeBaseUrl => $"http://{Address}:{HttpPort}";

    /// <param name="edgeSection">The <c>provisioner.edge</c> section.</param>
    public static DhcpServerOptions FromConfig(Config edgeSection)
    {
        ArgumentNullException.ThrowIfNull(edgeSection);
        const string Prefix = "provisioner.edge.";
        var keys = new ConfigKeys(edgeSection, "provisioner.edge");

        var addressText = edgeSection.GetString("address", string.Empty);
        if (!IPv4Address.TryParse(addressText, out var address) || address.IsAny)
        {
            throw keys.Bad("address", $"'{addressText}' is not this edge's IPv4 address");
        }

        var listen = edgeSection.GetString("http.listen", "http://0.0.0.0:8080");
        if (!Uri.TryCreate(listen, UriKind.Absolute, out var listenUri) || listenUri.Scheme != Uri.UriSchemeHttp)
        {
            throw keys.Bad("http.listen", $"'{listen}' is not an http:// URL");
        }

        var nonPxe = edgeSection.GetString("dhcp.non-pxe-clients", "plain-dhcp") switch
        {
            "plain-dhcp" => NonPxeClientPolicy.PlainDhcp,
            "ignore" => NonPxeClientPolicy.Ignore,
            var other => throw keys.Bad("dhcp.non-pxe-clients", $"'{other}' is not plain-dhcp or ignore"),
        };

        var mode = edgeSection.GetString("dhcp.mode", "server") switch
        {
            "server" => DhcpMode.Server,
            "proxy" => DhcpMode.Proxy,
            var other => throw keys.Bad("dhcp.mode", $"'{other}' is not server or proxy"),
        };

        // proxyDHCP leases nothing: a subnet only says which network this edge serves (its pool is not needed), no lease
        // actor is declared or warmed up, and no first boot can ride on a lease.
        var proxy = mode == DhcpMode.Proxy;
        return new DhcpServerOptions
        {
            Enabled = keys.Bool("dhcp.enabled", false),
            Mode = mode,
            ProxyPort = keys.Port("dhcp.proxy-port", 4011),
            ProxyNewMachinesPerSecond = keys.Positive("dhcp.proxy-new-machines-per-second", 100),
            Interface = edgeSection.GetString("interface", string.Empty).Trim(),
            Address = address,
            Port = keys.Port("dhcp.port", 67),
            ClientPort = keys.Port("dhcp.client-port", 68),
            NonPxeClients = nonPxe,
            FirstBootOnLease = !proxy && keys.Bool("dhcp.first-boot-on-lease", true),
            PerMacRate = keys.Positive("dhcp.per-mac-rate", 20),
            Subnets = SubnetConfig.ListFrom(edgeSection, "dhcp.subnets", Prefix + "dhcp.subnets", poolRequired: !proxy),
            QueueCapacity = keys.PositiveWhole("dhcp.queue-capacity", 8192),
            MaxInFlight = keys.PositiveWhole("dhcp.max-in-flight", 1024),
            WarmUpExchanges = proxy ? 0 : keys.NonNegative("dhcp.warm-up", 2000),
            RememberedLeases = keys.PositiveWhole("dhcp.remembered-leases", 100_000),
            MaxDiscoverWait = keys.PositiveDuration("dhcp.max-discover-wait", TimeSpan.FromSeconds(2)),
            MaxRequestWait = keys.PositiveDuration("dhcp.max-request-wait", TimeSpan.FromSeconds(3)),
            HttpPort = listenUri.Port,
            BootFiles = new BootFileTable(
                File(edgeSection, "dhcp.boot-files.bios", BootFileTable.Default.Bios),
                File(edgeSection, "dhcp.boot-files.x86-uefi", BootFileTable.Default.X86Uefi),
                File(edgeSection, "dhcp.boot-files.x64-uefi", BootFileTable.Default.X64Uefi),
                File(edgeSection, "dhcp.boot-files.arm64-uefi", BootFileTable.Default.Arm64Uefi))
            {
                ByArchitecture = FilesByArchitecture(keys, edgeSection, "dhcp.boot-files.by-arch"),
            },
        };
    }

    /// <summary><c>by-arch { 7 = "ipxe.efi", 11 = "" }</c>: keys are option 93 values (0-65535), "" = none.</summary>
    private static FrozenDictionary<int, string?> FilesByArchitecture(ConfigKeys keys, Config c, string key)
    {
        if (!c.HasPath(key))
        {
            return FrozenDictionary<int, string?>.Empty;
        }

        if (!c.GetValue(key).IsObject())
        {
            throw keys.Bad(key, "expected an object of architecture number = file name, e.g. { 7 = \"ipxe.efi\" }");
        }

        var files = new Dictionary<int, string?>();
        foreach (var (name, value) in c.GetValue(key).GetObject().Items)
        {
            if (!ushort.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out var architecture))
            {
                throw keys.Bad($"{key}.{name}", $"'{name}' is not a client architecture number (option 93, 0-65535)");
            }

            if (!value.IsString())
            {
                throw keys.Bad($"{key}.{name}", "expected a file name (\"\" = none)");
            }

            files[architecture] = value.GetString() is { Length: > 0 } file ? file : null;
        }

        return files.ToFrozenDictionary();
    }

    private static string? File(Config c, string key, string? fallback) =>
        c.HasPath(key) ? (c.GetString(key) is { Length: > 0 } name ? name : null) : fallback;
}
