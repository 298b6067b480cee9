using Provisioner.Cluster.Hosting;
using System.Globalization;
using System.Net;
using Akka.Configuration;

namespace Provisioner.Edge.Http;

/// <summary>
/// Settings of the HTTP boot endpoints, bound from the <c>provisioner.edge</c> section of the HOCON:
/// <c>address</c> and <c>http.listen</c>'s port make the URLs written into boot scripts and kickstarts,
/// <c>http.assets</c> is the directory served at <c>/assets/</c>, <c>config-dir</c> holds profiles and rules.
/// </summary>
public sealed record BootHttpOptions
{
    public const string TokenKeyFile = "token.key";

    /// <summary>The edge's IPv4 address on the segment, as machines reach it.</summary>
    public required string EdgeAddress { get; init; }

    /// <summary>The TCP port machines reach the HTTP endpoints on (the port of <see cref="Listen"/>).</summary>
    public required int Port { get; init; }

    /// <summary>The Kestrel listen URL (e.g. <c>http://0.0.0.0:8080</c>); the integrator hosts the endpoints on it.</summary>
    public required string Listen { get; init; }

    public required string AssetsDirectory { get; init; }

    /// <summary>
    /// Where network boot programs are served from at <c>/nbp/</c> for UEFI HTTP-boot firmware: the TFTP root
    /// (<c>tftp.root</c>), where the NBPs DHCP names are staged, so both protocols serve the same files.
    /// </summary>
    public string NbpDirectory { get; init; } = "/var/lib/provisioner/tftp";

    /// <summary>Total bytes of hot assets kept in memory, LRU (<c>http.cache-bytes</c>); 0 serves every file from disk.</summary>
    public long CacheBytes { get; init; } = 256L * 1024 * 1024;

    /// <summary>Largest asset kept in memory (<c>http.cache-max-file-bytes</c>); larger ones are streamed from disk.</summary>
    public long CacheMaxFileBytes { get; init; } = 1024 * 1024;

    /// <summary>
    /// Machines whose state this edge keeps a pushed copy of for boot scripts, kickstarts and fetch reports
    /// (<c>http.state-cache-machines</c>, <see cref="Cluster.Machines.MachineStateCache"/>); 0 asks the machine actor on every request.
    /// </summary>
    public int StateCacheMachines { get; init; } = 100_000;

    /// <summary>
    /// Whole GETs of files not served from memory are written with sendfile(2) on a fresh connection
    /// (<c>http.sendfile</c>, <see cref="SendFileResponse"/>); off sends every file through Kestrel.
    /// </summary>
    public bool SendFile { get; init; } = true;

    public required string ConfigDirectory { get; init; }

    /// <summary>Where <c>token.key</c> (the kickstart token secret) lives.</summary>
    public required string DataDirectory { get; init; }

    /// <summary><c>http://&lt;edge.address&gt;:&lt;port&gt;</c>, the prefix of every URL the endpoints hand out.</summary>
    public string BaseUrl => string.Create(CultureInfo.InvariantCulture, $"http://{EdgeAddress}:{Port}");

    public string TokenKeyPath => Path.Combine(DataDirectory, TokenKeyFile);

    /// <summary>Binds <paramref name="edgeSection"/> (<c>provisioner.edge</c>); a bad key throws naming its full path.</summary>
    public static BootHttpOptions FromConfig(Config edgeSection, string dataDir)
    {
        ArgumentNullException.ThrowIfNull(edgeSection);
        ArgumentException.ThrowIfNullOrWhiteSpace(dataDir);
        var keys = new ConfigKeys(edgeSection, "provisioner.edge");

        var address = keys.Required("address").Trim();
        if (!IPAddress.TryParse(address, out var ip) || ip.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork)
        {
            throw keys.Bad("address", $"'{address}' is not an IPv4 address");
        }

        if (ip.Equals(IPAddress.Any) || ip.Equals(IPAddress.Broadcast))
        {
            throw keys.Bad("address", $"'{address}' cannot be reached by machines; name this edge's address on the segment");
        }

        var listen = keys.Required("http.listen").Trim();
        if (!Uri.TryCreate(listen, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttp)
        {
            throw keys.Bad("http.listen", $"'{listen}' is not an http:// URL (e.g. http://0.0.0.0:8080)");
        }

        if (uri.Port is <= 0 or > IPEndPoint.MaxPort)
        {
            throw keys.Bad("http.listen", $"'{listen}' needs a fixed TCP port: boot URLs carry it");
        }

        return new BootHttpOptions
        {
            EdgeAddress = address,
            Port = uri.Port,
            Listen = listen,
            AssetsDirectory = keys.Required("http.assets").Trim(),
            NbpDirectory = edgeSection.GetString("tftp.root", "/var/lib/provisioner/tftp").Trim(),
            CacheBytes = keys.NonNegativeBytes("http.cache-bytes"),
            CacheMaxFileBytes = keys.NonNegativeBytes("http.cache-max-file-bytes"),
            StateCacheMachines = keys.NonNegative("http.state-cache-machines", 100_000),
            SendFile = keys.Bool("http.sendfile", true),
            ConfigDirectory = keys.Required("config-dir").Trim(),
            DataDirectory = dataDir,
        };
    }
}
