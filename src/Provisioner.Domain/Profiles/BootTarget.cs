using System.Globalization;
using Provisioner.Domain.Machines;
using Provisioner.Protocols.Dhcp;

namespace Provisioner.Domain.Profiles;

/// <summary>
/// The one machine a boot script or kickstart is rendered for, and where it reaches the edge.
/// <paramref name="EdgeBaseUrl"/> is <c>http://&lt;edge.address&gt;:&lt;port&gt;</c> without a trailing slash;
/// <paramref name="Token"/> is the machine's <see cref="KickstartTokens"/> token.
/// </summary>
public sealed record BootTarget(MachineId Mac, string Hostname, IPv4Address? Address, string EdgeBaseUrl, string Token)
{
    /// <summary><c>node-aabbccddeeff</c>: the hostname of a machine without a reservation.</summary>
    public static string DefaultHostname(MachineId mac) => "node-" + mac.Value.Replace(":", string.Empty, StringComparison.Ordinal);
}

/// <summary>The URLs the edge serves, built in one place so the renderer and the HTTP routes agree.</summary>
public static class BootUrls
{
    public static string BootScript(string edgeBaseUrl, MachineId mac) => $"{edgeBaseUrl}/boot/{mac.Value}.ipxe";

    /// <summary>
    /// An asset under <c>/assets/</c>. With <paramref name="mac"/> the URL carries <c>?mac=</c> so the edge can tell
    /// whose kernel or initrd was fetched (an HTTP request carries no MAC of its own).
    /// </summary>
    public static string Asset(string edgeBaseUrl, string path, MachineId? mac)
    {
        ArgumentNullException.ThrowIfNull(path);
        var escaped = string.Join('/', path.Split('/').Select(Uri.EscapeDataString));
        return mac is { } m ? $"{edgeBaseUrl}/assets/{escaped}?mac={m.Value}" : $"{edgeBaseUrl}/assets/{escaped}";
    }

    /// <summary>
    /// A network boot program for UEFI HTTP-boot firmware: <c>/nbp/&lt;file&gt;</c>, served from the NBP directory
    /// (the TFTP root). An absolute http(s) URL is configured as where the file is, and passed through as it is.
    /// </summary>
    public static string Nbp(string edgeBaseUrl, string file)
    {
        ArgumentNullException.ThrowIfNull(file);
        return IsAbsoluteHttpUrl(file) ? file : $"{edgeBaseUrl}/nbp/{string.Join('/', file.Split('/').Select(Uri.EscapeDataString))}";
    }

    public static string Kickstart(string edgeBaseUrl, string token) => $"{edgeBaseUrl}/ks/{token}";

    public static string PhoneHome(string edgeBaseUrl, string token) => $"{edgeBaseUrl}/phone-home/{token}";

    public static string Booted(string edgeBaseUrl, string token) => $"{edgeBaseUrl}/booted/{token}";

    /// <summary>True for an absolute http(s) URL (passed through as it is); false for a path under the assets directory.</summary>
    public static bool IsAbsoluteHttpUrl(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps);
}

/// <summary>The placeholders a template may use, and their values for one machine.</summary>
public static class TemplateVariables
{
    public const string Mac = "mac";
    public const string MacDashes = "mac_dashes";
    public const string Hostname = "hostname";
    public const string Address = "address";
    public const string Profile = "profile";
    public const string RepoUrl = "repo_url";
    public const string KernelUrl = "kernel_url";
    public const string InitrdUrl = "initrd_url";
    public const string InitrdName = "initrd_name";
    public const string KernelArgs = "kernel_args";
    public const string KickstartUrl = "kickstart_url";
    public const string PhoneHomeUrl = "phone_home_url";
    public const string BootedUrl = "booted_url";
    public const string RootPasswordHash = "root_password_hash";
    public const string Edge = "edge";
    public const string DiskLayout = "disk_layout";
    public const string Timezone = "timezone";
    public const string Lang = "lang";
    public const string Keyboard = "keyboard";

    public static IReadOnlySet<string> Names { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        Mac, MacDashes, Hostname, Address, Profile, RepoUrl, KernelUrl, InitrdUrl, InitrdName, KernelArgs,
        KickstartUrl, PhoneHomeUrl, BootedUrl, RootPasswordHash, Edge, DiskLayout, Timezone, Lang, Keyboard,
    };

    public static IReadOnlyDictionary<string, string> For(Profile profile, BootTarget target)
    {
        ArgumentNullException.ThrowIfNull(profile);
        ArgumentNullException.ThrowIfNull(target);
        var baseUrl = target.EdgeBaseUrl.TrimEnd('/');
        return new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [Mac] = target.Mac.Value,
            [MacDashes] = target.Mac.Value.Replace(':', '-'),
            [Hostname] = target.Hostname,
            [Address] = target.Address?.ToString() ?? string.Empty,
            [Profile] = profile.Name,
            [RepoUrl] = profile.RepoUrlFor(baseUrl),
            [KernelUrl] = profile.KernelUrlFor(baseUrl, target.Mac),
            [InitrdUrl] = profile.InitrdUrlFor(baseUrl, target.Mac),
            [InitrdName] = profile.InitrdName,
            [KernelArgs] = profile.KernelArgs,
            [KickstartUrl] = BootUrls.Kickstart(baseUrl, target.Token),
            [PhoneHomeUrl] = BootUrls.PhoneHome(baseUrl, target.Token),
            [BootedUrl] = BootUrls.Booted(baseUrl, target.Token),
            [RootPasswordHash] = profile.RootPasswordHash,
            [Edge] = Uri.TryCreate(baseUrl, UriKind.Absolute, out var uri)
                ? string.Create(CultureInfo.InvariantCulture, $"{uri.Host}:{uri.Port}")
                : baseUrl,
            [DiskLayout] = profile.DiskLayout,
            [Timezone] = profile.Timezone,
            [Lang] = profile.Lang,
            [Keyboard] = profile.Keyboard,
        };
    }
}
