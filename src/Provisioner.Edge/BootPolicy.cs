using Provisioner.Domain.Boot;
using Provisioner.Domain.Machines;
using Provisioner.Domain.Profiles;
using Provisioner.Edge.Dhcp;
using Provisioner.Protocols.Dhcp;

namespace Provisioner.Edge;

/// <summary>
/// The boot-policy port over the Domain's <see cref="BootRules"/>: this edge's boot files, its boot script URLs
/// (<c>&lt;edgeBaseUrl&gt;/boot/&lt;mac&gt;.ipxe</c>) and the URLs of network boot programs fetched over HTTP by UEFI
/// HTTP-boot firmware (<c>&lt;edgeBaseUrl&gt;/nbp/&lt;file&gt;</c>). The rules are the Domain's; the edge only fills in
/// where it is reached.
/// </summary>
/// <param name="bootFiles">Network boot programs by architecture (<c>provisioner.edge.dhcp.boot-files</c>).</param>
/// <param name="edgeBaseUrl">Where DHCP clients reach this edge's HTTP boot endpoints, e.g. <c>http://10.0.0.2:8080</c>.</param>
/// <param name="catalog">The profiles and rules, whose boot chains and files win over the edge's (<c>boot-chain</c> and <c>boot-file.*</c> in a profile, <c>boot-file=</c> on a <c>mac</c> rule); null = the edge's alone.</param>
public sealed class BootPolicy(BootFileTable bootFiles, string edgeBaseUrl, ProfileCatalog? catalog = null) : IBootPolicy
{
    private readonly BootFileTable _bootFiles = bootFiles ?? throw new ArgumentNullException(nameof(bootFiles));

    /// <summary>Null unless some profile or machine names its own boot chain or files: the common case costs no rule lookup per packet.</summary>
    private readonly ProfileCatalog? _overrides = catalog is { HasBootFileOverrides: true } ? catalog : null;

    /// <summary>The policy a DHCP server with these options hands out: its boot files, URLs on its address and HTTP port.</summary>
    public static BootPolicy For(DhcpServerOptions options, ProfileCatalog? catalog = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new BootPolicy(options.BootFiles, options.EdgeBaseUrl, catalog);
    }

    public IReadOnlyList<string> NetworkBootPrograms { get; } =
        (bootFiles ?? throw new ArgumentNullException(nameof(bootFiles))).TftpFiles
            .Concat(catalog?.BootFiles ?? []).Distinct(StringComparer.Ordinal).ToArray();

    public DhcpBootFile DhcpBootFile(MachineId machine, BootAction action, bool firmwareIsIpxe, int architecture, IPv4Address? address = null)
    {
        Profile? profile = null;
        string? own = null;
        if (action == BootAction.Nbp && _overrides?.Match(machine, address) is { } rule)
        {
            profile = _overrides.Find(rule.Profile);
            own = (rule as MacRule)?.BootFile;
        }

        var file = BootRules.DhcpBoot(action, firmwareIsIpxe, architecture, _bootFiles, profile, own);
        return file switch
        {
            { Kind: DhcpBootKind.BootScript } => file with { Name = BootUrls.BootScript(edgeBaseUrl, machine) },
            { Kind: DhcpBootKind.NbpOverHttp, Name: { } nbp } => file with { Name = BootUrls.Nbp(edgeBaseUrl, nbp) },
            _ => file,
        };
    }

    public BootScriptKind BootScriptFor(MachineStage stage) => BootRules.ScriptFor(stage);

    public TftpFetchKind TftpFetch(string relativePath) => GrubChain.Fetch(relativePath);

    public BootAssetKind FetchedAsset(Profile profile, string path) => BootRules.FetchedAsset(profile, path);
}
