using Provisioner.Domain.Boot;
using Provisioner.Domain.Machines;
using Provisioner.Domain.Profiles;
using Provisioner.Edge.Dhcp;

namespace Provisioner.Edge;

/// <summary>
/// The boot-policy port over the Domain's <see cref="BootRules"/>: this edge's boot files, its boot script URLs
/// (<c>&lt;edgeBaseUrl&gt;/boot/&lt;mac&gt;.ipxe</c>) and the URLs of network boot programs fetched over HTTP by UEFI
/// HTTP-boot firmware (<c>&lt;edgeBaseUrl&gt;/nbp/&lt;file&gt;</c>). The rules are the Domain's; the edge only fills in
/// where it is reached.
/// </summary>
/// <param name="bootFiles">Network boot programs by architecture (<c>provisioner.edge.dhcp.boot-files</c>).</param>
/// <param name="edgeBaseUrl">Where DHCP clients reach this edge's HTTP boot endpoints, e.g. <c>http://10.0.0.2:8080</c>.</param>
public sealed class BootPolicy(BootFileTable bootFiles, string edgeBaseUrl) : IBootPolicy
{
    private readonly BootFileTable _bootFiles = bootFiles ?? throw new ArgumentNullException(nameof(bootFiles));

    /// <summary>The policy a DHCP server with these options hands out: its boot files, URLs on its address and HTTP port.</summary>
    public static BootPolicy For(DhcpServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new BootPolicy(options.BootFiles, options.EdgeBaseUrl);
    }

    public IReadOnlyList<string> NetworkBootPrograms => _bootFiles.TftpFiles;

    public DhcpBootFile DhcpBootFile(MachineId machine, BootAction action, bool firmwareIsIpxe, int architecture)
    {
        var file = BootRules.DhcpBoot(action, firmwareIsIpxe, architecture, _bootFiles);
        return file switch
        {
            { Kind: DhcpBootKind.BootScript } => file with { Name = BootUrls.BootScript(edgeBaseUrl, machine) },
            { Kind: DhcpBootKind.NbpOverHttp, Name: { } nbp } => file with { Name = BootUrls.Nbp(edgeBaseUrl, nbp) },
            _ => file,
        };
    }

    public BootScriptKind BootScriptFor(MachineStage stage) => BootRules.ScriptFor(stage);

    public BootAssetKind FetchedAsset(Profile profile, string path) => BootRules.FetchedAsset(profile, path);
}
