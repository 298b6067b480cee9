using Provisioner.Cluster.Hosting;
using System.Net;
using Akka.Configuration;
using Provisioner.Protocols.Tftp;

namespace Provisioner.Edge.Tftp;

/// <summary>
/// Settings of the edge's TFTP server, bound from the <c>provisioner.edge</c> section (see hocon/defaults.conf,
/// <c>provisioner.edge.tftp</c>). Tests build one directly (port 0 on loopback, short timeouts).
/// </summary>
public sealed record TftpServerOptions
{
    /// <summary>Whether the edge starts the server at all (<c>tftp.enabled</c>).</summary>
    public bool Enabled { get; init; }

    /// <summary>Address the listening socket and every transfer socket bind to (<c>edge.address</c>).</summary>
    public IPAddress BindAddress { get; init; } = IPAddress.Loopback;

    /// <summary>Listening port (<c>tftp.port</c>); 0 picks an ephemeral one (tests), read it back from <see cref="TftpServer.LocalEndPoint"/>.</summary>
    public int Port { get; init; } = 69;

    /// <summary>Interface the sockets are tied to with SO_BINDTODEVICE (<c>edge.interface</c>); "" = none.</summary>
    public string Interface { get; init; } = string.Empty;

    /// <summary>Read-only root directory; nothing outside its real path is ever served (<c>tftp.root</c>).</summary>
    public string Root { get; init; } = "/usr/lib/ipxe";

    /// <summary>Largest blksize granted (RFC 2348), 8–65464 (<c>tftp.max-block-size</c>).</summary>
    public int MaxBlockSize { get; init; } = 1468;

    /// <summary>Largest windowsize granted (RFC 7440), 1–32768 (<c>tftp.max-window-size</c>).</summary>
    public int MaxWindowSize { get; init; } = 64;

    /// <summary>Retransmission timeout when the client does not negotiate one; doubles on each retry (<c>tftp.timeout</c>).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Retransmissions of one packet before the transfer is abandoned (<c>tftp.retries</c>).</summary>
    public int Retries { get; init; } = 5;

    /// <summary>Total bytes of hot files kept in memory, LRU (<c>tftp.cache-bytes</c>); 0 disables the cache.</summary>
    public long CacheBytes { get; init; } = 256L * 1024 * 1024;

    /// <summary>
    /// <c>tftp.write-directory</c>. Kept for configuration compatibility; writes are not implemented, so every
    /// WRQ is refused with ERROR 2 whatever this says (the server logs a warning at start when it is set).
    /// </summary>
    public string WriteDirectory { get; init; } = string.Empty;

    /// <summary>
    /// Transfers running at once, all clients together (<c>tftp.max-transfers</c>). An RRQ past it is dropped
    /// unanswered before anything is opened; the client's retransmission is served once a slot frees.
    /// </summary>
    public int MaxTransfers { get; init; } = 2048;

    /// <summary>Transfers running at once for one client IP address (<c>tftp.max-transfers-per-client</c>); same shedding.</summary>
    public int MaxTransfersPerClient { get; init; } = 8;

    /// <summary>ERROR replies (refusals) per second one client address may draw, refilled continuously (<c>tftp.refusal-rate</c>).</summary>
    public double RefusalRate { get; init; } = 10;

    /// <summary>ERROR replies one client address may draw at once before <see cref="RefusalRate"/> applies (<c>tftp.refusal-burst</c>).</summary>
    public int RefusalBurst { get; init; } = 20;

    /// <summary>Client addresses the refusal limiter remembers at most (<c>tftp.refusal-clients</c>); past it new addresses get no ERROR.</summary>
    public int RefusalClients { get; init; } = 4096;

    /// <summary>
    /// Transfers run on a thread of their own with blocking socket calls while no more than this many run in all
    /// (<c>tftp.dedicated-threads</c>, 0–1024; 0 = never); past it every transfer is an async task, and dedicated ones
    /// hand over at their next block or window. A transfer waits for an ACK after every block (lock-step) or window
    /// (RFC 7440), so the ACK-to-DATA turnaround is its speed, and a blocked thread has the shortest; with many
    /// transfers, workers that take many completions per wake-up do more (see <see cref="TftpDedicatedThreads"/>).
    /// </summary>
    public int DedicatedThreads { get; init; } = 256;

    /// <summary>Windows above this would make 16-bit block numbers ambiguous across a rollover.</summary>
    public const int WindowSizeLimit = 32768;

    /// <summary>
    /// Binds the <c>provisioner.edge</c> section. A bad or missing value throws
    /// <see cref="ConfigurationException"/> naming the full key, e.g. <c>provisioner.edge.tftp.max-block-size</c>.
    /// </summary>
    public static TftpServerOptions FromConfig(Config edge)
    {
        ArgumentNullException.ThrowIfNull(edge);
        var keys = new ConfigKeys(edge, "provisioner.edge");

        var addressText = keys.Required("address");
        if (!IPAddress.TryParse(addressText, out var address))
        {
            throw keys.Bad("address", $"'{addressText}' is not an IP address");
        }

        var maxBlock = keys.WholeNumber("tftp.max-block-size");
        if (maxBlock is < TftpOptions.MinBlockSize or > TftpOptions.MaxBlockSize)
        {
            throw keys.Bad("tftp.max-block-size", $"{maxBlock} is outside {TftpOptions.MinBlockSize}–{TftpOptions.MaxBlockSize} (RFC 2348)");
        }

        var maxWindow = keys.WholeNumber("tftp.max-window-size");
        if (maxWindow is < 1 or > WindowSizeLimit)
        {
            throw keys.Bad("tftp.max-window-size", $"{maxWindow} is outside 1–{WindowSizeLimit}");
        }

        var port = keys.WholeNumber("tftp.port");
        if (port is < 0 or > IPEndPoint.MaxPort)
        {
            throw keys.Bad("tftp.port", $"{port} is not a UDP port (0 to 65535)");
        }

        var timeout = keys.Duration("tftp.timeout");
        if (timeout <= TimeSpan.Zero || timeout > TimeSpan.FromSeconds(TftpOptions.MaxTimeoutSeconds))
        {
            throw keys.Bad("tftp.timeout", $"{timeout} is outside (0, {TftpOptions.MaxTimeoutSeconds} s]");
        }

        var retries = keys.WholeNumber("tftp.retries");
        if (retries is < 0 or > 100)
        {
            throw keys.Bad("tftp.retries", $"{retries} is outside 0–100");
        }

        var maxTransfers = keys.WholeNumber("tftp.max-transfers");
        if (maxTransfers < 1)
        {
            throw keys.Bad("tftp.max-transfers", $"{maxTransfers} is less than 1");
        }

        var maxPerClient = keys.WholeNumber("tftp.max-transfers-per-client");
        if (maxPerClient < 1 || maxPerClient > maxTransfers)
        {
            throw keys.Bad("tftp.max-transfers-per-client", $"{maxPerClient} is outside 1–{maxTransfers} (tftp.max-transfers)");
        }

        var refusalRate = keys.Positive("tftp.refusal-rate", 10);
        var refusalBurst = keys.WholeNumber("tftp.refusal-burst");
        if (refusalBurst < 1)
        {
            throw keys.Bad("tftp.refusal-burst", $"{refusalBurst} is less than 1");
        }

        var refusalClients = keys.WholeNumber("tftp.refusal-clients");
        if (refusalClients < 1)
        {
            throw keys.Bad("tftp.refusal-clients", $"{refusalClients} is less than 1");
        }

        var dedicatedThreads = keys.WholeNumber("tftp.dedicated-threads");
        if (dedicatedThreads is < 0 or > 1024)
        {
            throw keys.Bad("tftp.dedicated-threads", $"{dedicatedThreads} is outside 0–1024");
        }

        var cacheBytes = keys.NonNegativeBytes("tftp.cache-bytes");
        var root = keys.Required("tftp.root");

        return new TftpServerOptions
        {
            Enabled = keys.Bool("tftp.enabled"),
            BindAddress = address,
            Port = port,
            Interface = edge.GetString("interface", string.Empty) ?? string.Empty,
            Root = root,
            MaxBlockSize = maxBlock,
            MaxWindowSize = maxWindow,
            Timeout = timeout,
            Retries = retries,
            CacheBytes = cacheBytes,
            MaxTransfers = maxTransfers,
            MaxTransfersPerClient = maxPerClient,
            RefusalRate = refusalRate,
            RefusalBurst = refusalBurst,
            RefusalClients = refusalClients,
            DedicatedThreads = dedicatedThreads,
            WriteDirectory = edge.GetString("tftp.write-directory", string.Empty) ?? string.Empty,
        };
    }
}
