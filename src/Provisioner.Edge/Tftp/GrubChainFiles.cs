using System.Net;
using System.Text;
using Microsoft.Extensions.Logging;
using Provisioner.Domain.Boot;
using Provisioner.Domain.Machines;
using Provisioner.Domain.Profiles;
using Provisioner.Edge.Clients;
using Provisioner.Edge.Http;
using Provisioner.Protocols.Dhcp;

namespace Provisioner.Edge.Tftp;

/// <summary>
/// The TFTP side of the Secure Boot chain (<see cref="GrubChain"/>): <c>grub/grub.cfg</c> rendered for the machine
/// whose lease holds the address the request came from (see <see cref="GrubChain"/> for why not a per-MAC name), and
/// the profiles' kernels and initrds under <c>assets/</c>, from the HTTP assets directory. Which config a stage gets is
/// <see cref="BootRules.ScriptFor"/>, as for the iPXE script; the edge only reads the state and renders.
/// </summary>
public sealed partial class GrubChainFiles(
    ClientAddressBook addresses,
    IMachineGateway gateway,
    IBootPolicy bootPolicy,
    ProfileCatalog catalog,
    KickstartTokens tokens,
    BootHttpOptions http,
    ILogger<GrubChainFiles> logger,
    IMachineHostnames? hostnames = null) : ITftpVirtualFiles
{
    public bool Claims(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return bootPolicy.TftpFetch(name) switch
        {
            TftpFetchKind.BootConfig => true,
            // Only the profiles' boot files: the rest of the assets directory (a repo) is for HTTP.
            TftpFetchKind.Asset => catalog.IsBootAsset(GrubChain.AssetPath(name)),
            _ => false,
        };
    }

    public async Task<TftpVirtualFile> OpenAsync(IPEndPoint client, string name, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(name);
        if (bootPolicy.TftpFetch(name) == TftpFetchKind.Asset)
        {
            return AssetPathResolver.Resolve(http.AssetsDirectory, GrubChain.AssetPath(name)) is { } path
                ? TftpVirtualFile.File(path)
                : TftpVirtualFile.NotFound("not in the assets directory");
        }

        if (addresses.Find(client.Address) is not { } machine)
        {
            LogUnknownClient(client.Address);
            return TftpVirtualFile.NotFound("no machine holds a lease at this address");
        }

        var state = await gateway.GetAsync(machine, cancellationToken).ConfigureAwait(false);
        string config;
        switch (bootPolicy.BootScriptFor(state.Stage))
        {
            case BootScriptKind.LocalDisk:
                config = GrubChain.RenderLocalDisk(machine);
                LogServed(machine.Value, state.Stage, "local disk", state.Profile ?? "-");
                break;
            case BootScriptKind.Failed:
                config = GrubChain.RenderFailed(machine, state.FailureReason);
                LogServed(machine.Value, state.Stage, "failed", state.Profile ?? "-");
                break;
            default:
                var address = ProfileCatalog.AddressOf(state, client.Address);
                if (catalog.ResolveFor(state, machine, address).Profile is not { } profile)
                {
                    LogNoProfile(machine.Value, state.Stage);
                    return TftpVirtualFile.NotFound("no profile for this machine");
                }

                try
                {
                    config = GrubChain.RenderInstall(profile, TargetFor(machine, address));
                }
                catch (TemplateRenderException e)
                {
                    LogRenderFailed(machine.Value, state.Stage, e.Message);
                    return TftpVirtualFile.NotFound("its profile does not render as a grub.cfg");
                }

                LogServed(machine.Value, state.Stage, "install", profile.Name);
                break;
        }

        return TftpVirtualFile.Rendered(Encoding.UTF8.GetBytes(config));
    }

    /// <summary>
    /// The report for a whole asset fetched over TFTP by <paramref name="machine"/>: its kernel, its initrd, or null
    /// (another profile's file, or nothing the machine would record now).
    /// </summary>
    public async Task<MachineCommand?> AssetReportAsync(MachineId machine, IPAddress client, string assetPath, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var state = await gateway.GetAsync(machine, cancellationToken).ConfigureAwait(false);
        if (catalog.ResolveFor(state, machine, ProfileCatalog.AddressOf(state, client)).Profile is not { } profile)
        {
            return null;
        }

        MachineCommand? report = bootPolicy.FetchedAsset(profile, assetPath) switch
        {
            BootAssetKind.Kernel => new MachineCommands.ReportKernelFetched(now, assetPath),
            BootAssetKind.Initrd => new MachineCommands.ReportInitrdFetched(now, assetPath),
            _ => null,
        };
        return report is not null && Machine.WouldRecord(state, report) ? report : null;
    }

    private BootTarget TargetFor(MachineId machine, IPv4Address? address) =>
        new(machine, hostnames?.HostnameOf(machine) is { Length: > 0 } name && GrubChain.Word(name) == name ? name : BootTarget.DefaultHostname(machine), address, http.BaseUrl, tokens.Issue(machine));

    [LoggerMessage(Level = LogLevel.Information, Message = "machine {MachineId} ({Stage}): grub.cfg rendered over TFTP: {Kind}, profile {Profile}")]
    private partial void LogServed(string machineId, MachineStage stage, string kind, string profile);

    [LoggerMessage(Level = LogLevel.Error, Message = "machine {MachineId} ({Stage}): grub.cfg not rendered: {Reason}")]
    private partial void LogRenderFailed(string machineId, MachineStage stage, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "machine {MachineId} ({Stage}): no profile matches it, grub.cfg not found")]
    private partial void LogNoProfile(string machineId, MachineStage stage);

    [LoggerMessage(Level = LogLevel.Warning, Message = "tftp: grub.cfg asked from {Address}, where no machine holds a lease: not found")]
    private partial void LogUnknownClient(IPAddress address);
}
