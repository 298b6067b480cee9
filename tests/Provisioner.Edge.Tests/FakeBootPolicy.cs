using Provisioner.Domain.Boot;
using Provisioner.Domain.Machines;
using Provisioner.Domain.Profiles;

namespace Provisioner.Edge.Tests;

/// <summary>
/// The real policy unless told otherwise: a transport test sets an answer the rules would never give, and so proves
/// the adapter names what the port says rather than deciding for itself.
/// </summary>
internal sealed class FakeBootPolicy(IBootPolicy real) : IBootPolicy
{
    public DhcpBootFile? DhcpAnswer { get; set; }

    public BootScriptKind? ScriptAnswer { get; set; }

    public BootAssetKind? AssetAnswer { get; set; }

    public IReadOnlyList<string> NetworkBootPrograms => real.NetworkBootPrograms;

    public DhcpBootFile DhcpBootFile(MachineId machine, BootAction action, bool firmwareIsIpxe, int architecture, Protocols.Dhcp.IPv4Address? address = null) =>
        DhcpAnswer ?? real.DhcpBootFile(machine, action, firmwareIsIpxe, architecture, address);

    public BootScriptKind BootScriptFor(MachineStage stage) => ScriptAnswer ?? real.BootScriptFor(stage);

    public BootAssetKind FetchedAsset(Profile profile, string path) => AssetAnswer ?? real.FetchedAsset(profile, path);
}
