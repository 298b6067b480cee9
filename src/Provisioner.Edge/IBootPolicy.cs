using Provisioner.Domain.Boot;
using Provisioner.Domain.Machines;
using Provisioner.Domain.Profiles;

namespace Provisioner.Edge;

/// <summary>
/// The boot-policy port (DESIGN, "The seam between edge and cluster"), in the spirit of pixiecore's
/// <c>Booter.BootSpec</c>: the DHCP, TFTP and HTTP adapters ask it what a machine's answer means on their wire, and
/// carry no boot rules of their own. The machine's answer itself (and every report) goes through
/// <see cref="IMachineGateway"/>; this port costs no round trip. <see cref="DhcpBootFile"/> is called per DHCP packet
/// and must not allocate beyond the name it returns.
/// </summary>
public interface IBootPolicy
{
    /// <summary>
    /// DHCP: what a PXE or iPXE client whose machine answered <paramref name="action"/> is told to load (option 67 and
    /// the BOOTP 'file' field): a network boot program for its <paramref name="architecture"/> (option 93), the URL
    /// of its boot script, or nothing. The network boot program is the machine's own, its profile's, or the edge's
    /// (<see cref="BootRules.NbpFor"/>); <paramref name="address"/>, the one leased or offered, lets a subnet rule name the profile.
    /// </summary>
    DhcpBootFile DhcpBootFile(MachineId machine, BootAction action, bool firmwareIsIpxe, int architecture, Protocols.Dhcp.IPv4Address? address = null);

    /// <summary>TFTP: every network boot program DHCP may name (the edge's, every profile's and every machine's), to stage into the TFTP root at start-up.</summary>
    IReadOnlyList<string> NetworkBootPrograms { get; }

    /// <summary>HTTP: which script <c>/boot/&lt;mac&gt;.ipxe</c> serves a machine in <paramref name="stage"/>.</summary>
    BootScriptKind BootScriptFor(MachineStage stage);

    /// <summary>HTTP: whether an asset path a machine fetched is its profile's kernel, its initrd, or neither.</summary>
    BootAssetKind FetchedAsset(Profile profile, string path);
}
