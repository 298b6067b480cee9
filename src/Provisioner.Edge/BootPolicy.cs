using Provisioner.Domain.Boot;
using Provisioner.Domain.Machines;
using Provisioner.Domain.Profiles;
using Provisioner.Edge.Dhcp;
using Provisioner.Protocols.Dhcp;

namespace Provisioner.Edge;

/// <summary>
/// The boot-policy port over the Domain's <see cref="BootRules"/>: this edge's boot files and its boot script URLs
/// (<c>&lt;edgeBaseUrl&gt;/boot/&lt;mac&gt;.ipxe</c>).
/// </summary>
/// <param name="bootFiles">Network boot programs by architecture (<c>provisioner.edge.dhcp.boot-files</c>).</param>
/// <param name="edgeBaseUrl">Where DHCP clients reach this edge's HTTP boot endpoints, e.g. <c>http://10.0.0.2:8080</c>.</param>
/// <param name="chainOf">The boot chain of a machine's profile (by MAC and granted address); null = every machine boots through iPXE.</param>
public sealed class BootPolicy(BootFileTable bootFiles, string edgeBaseUrl, Func<MachineId, IPv4Address?, BootChain>? chainOf = null) : IBootPolicy
{
    private readonly BootFileTable _bootFiles = bootFiles ?? throw new ArgumentNullException(nameof(bootFiles));

    /// <summary>The policy a DHCP server with these options hands out: its boot files, URLs on its address and HTTP port.</summary>
    public static BootPolicy For(DhcpServerOptions options, Func<MachineId, IPv4Address?, BootChain>? chainOf = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new BootPolicy(options.BootFiles, options.EdgeBaseUrl, chainOf);
    }

    public IReadOnlyList<string> NetworkBootPrograms => _bootFiles.TftpFiles;

    public DhcpBootFile DhcpBootFile(MachineId machine, BootAction action, bool firmwareIsIpxe, int architecture, IPv4Address? address = null)
    {
        // The profile is looked up only where its chain can change the answer (x64 UEFI PXE firmware told to load an NBP).
        var chain = chainOf is not null && BootRules.ChainApplies(action, firmwareIsIpxe, architecture) ? chainOf(machine, address) : BootChain.Ipxe;
        var file = BootRules.DhcpBoot(action, firmwareIsIpxe, architecture, _bootFiles, chain);
        return file.Kind == DhcpBootKind.BootScript ? file with { Name = BootUrls.BootScript(edgeBaseUrl, machine) } : file;
    }

    public BootScriptKind BootScriptFor(MachineStage stage) => BootRules.ScriptFor(stage);

    public TftpFetchKind TftpFetch(string relativePath) => GrubChain.Fetch(relativePath);

    public BootAssetKind FetchedAsset(Profile profile, string path) => BootRules.FetchedAsset(profile, path);
}
