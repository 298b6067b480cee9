using Provisioner.Domain.Machines;
using Provisioner.Domain.Profiles;
using Provisioner.Protocols.Dhcp;

namespace Provisioner.Domain.Boot;

/// <summary>What a DHCP reply names for a booting client to load (option 67, RFC 2132 §9.5, and the BOOTP 'file' field).</summary>
public enum DhcpBootKind
{
    /// <summary>Nothing: no boot file (PXE firmware of an installed machine falls through to its disk).</summary>
    None = 0,

    /// <summary>A network boot program over TFTP, by architecture (<see cref="DhcpBootFile.Name"/>).</summary>
    Nbp = 1,

    /// <summary>The HTTP URL of the machine's iPXE boot script.</summary>
    BootScript = 2,

    /// <summary>The machine should get a network boot program, but none is configured for its architecture: nothing is named.</summary>
    NoNbpForArchitecture = 3,

    /// <summary>
    /// A network boot program for UEFI HTTP-boot firmware, fetched over HTTP: <see cref="DhcpBootFile.Name"/> is the
    /// file's name in the NBP directory (the edge makes it its own <c>/nbp/</c> URL) or an absolute http(s) URL as
    /// configured. The reply must also carry option 60 "HTTPClient" (UEFI 2.10 §24.7, HTTP Boot), or EDK2 never REQUESTs.
    /// </summary>
    NbpOverHttp = 4,
}

/// <summary>The answer for one DHCP reply: what kind of thing is named, and its name (the NBP's file name, or the script's URL once an edge fills it in).</summary>
public readonly record struct DhcpBootFile(DhcpBootKind Kind, string? Name);

/// <summary>Which iPXE script <c>/boot/&lt;mac&gt;.ipxe</c> serves.</summary>
public enum BootScriptKind
{
    /// <summary>The install script, rendered from the machine's profile.</summary>
    Install = 0,

    /// <summary>Boot the local disk: the machine is installed and must never reinstall unless reprovisioned.</summary>
    LocalDisk = 1,

    /// <summary>Say the install failed and stop: an operator must reprovision.</summary>
    Failed = 2,
}

/// <summary>What a fetched asset is to the machine that fetched it.</summary>
public enum BootAssetKind
{
    /// <summary>Neither its kernel nor its initrd (a repo file, another profile's kernel): nothing to report.</summary>
    None = 0,

    Kernel = 1,

    Initrd = 2,
}

/// <summary>
/// The boot decisions the edge's protocol adapters used to carry: which file DHCP names, which script HTTP serves,
/// and whether a fetched path is the kernel or the initrd. Pure and allocation-free: DHCP asks per packet. The edge
/// reaches them through its one boot-policy port (DESIGN, "The seam between edge and cluster").
/// </summary>
public static class BootRules
{
    /// <summary>
    /// The machine's boot answer, for PXE or iPXE firmware of this architecture (option 93), as a DHCP reply names it.
    /// An iPXE client that should boot its disk still gets its script (which says "boot the local disk"); PXE firmware
    /// gets nothing and falls through to the disk.
    /// </summary>
    /// <param name="profile">The machine's profile, whose <see cref="Profile.BootFiles"/> win over the edge's <paramref name="files"/>.</param>
    /// <param name="machineBootFile">The machine's own boot file (its <c>mac</c> rule's <c>boot-file=</c>), which wins over both.</param>
    public static DhcpBootFile DhcpBoot(BootAction action, bool firmwareIsIpxe, int architecture, BootFileTable files, Profile? profile = null, string? machineBootFile = null)
    {
        ArgumentNullException.ThrowIfNull(files);
        switch (action)
        {
            case BootAction.Nbp:
                // UEFI HTTP-boot firmware loads the same program from an http:// URL instead of over TFTP.
                return NbpFor(architecture, files, profile, machineBootFile, firmwareIsIpxe) is { } nbp
                    ? new DhcpBootFile(IsHttpBoot(architecture) ? DhcpBootKind.NbpOverHttp : DhcpBootKind.Nbp, nbp)
                    : new DhcpBootFile(DhcpBootKind.NoNbpForArchitecture, null);
            case BootAction.BootScript:
            case BootAction.LocalDisk when firmwareIsIpxe:
                return new DhcpBootFile(DhcpBootKind.BootScript, null);
            default:
                return default;
        }
    }

    /// <summary>
    /// Whether option 93 names UEFI HTTP-boot firmware (IANA "Processor Architecture Types": 15 x86, 16 x64, 18 ARM32,
    /// 19 ARM64, 28 RISC-V 64), which loads its NBP from an http:// URL instead of over TFTP. The file is the one of
    /// the same CPU's PXE firmware unless <c>by-arch</c> names one for the HTTP value (<see cref="BootFileTable.For"/>).
    /// </summary>
    public static bool IsHttpBoot(int architecture) => PxeFirmwareOf(architecture) is not null;

    /// <summary>The option 93 value of the same CPU's PXE firmware, for a UEFI HTTP-boot value (16 → 7); null for any other.</summary>
    public static int? PxeFirmwareOf(int architecture) => architecture switch
    {
        (int)ClientArchitecture.X86UefiHttp => (int)ClientArchitecture.X86Uefi,
        (int)ClientArchitecture.X64UefiHttp => (int)ClientArchitecture.X64Uefi,
        (int)ClientArchitecture.Arm32UefiHttp => (int)ClientArchitecture.Arm32Uefi,
        (int)ClientArchitecture.Arm64UefiHttp => (int)ClientArchitecture.Arm64Uefi,
        (int)ClientArchitecture.RiscV64UefiHttp => (int)ClientArchitecture.RiscV64Uefi,
        _ => null,
    };

    /// <summary>
    /// The network boot program for a PXE (or UEFI HTTP-boot) client of <paramref name="architecture"/>: the machine's
    /// own file, else what its profile's boot chain loads (<see cref="BootChain.Shim"/>: x64 UEFI PXE firmware gets the
    /// signed <see cref="GrubChain.ShimFile"/>, which a Secure Boot firmware accepts, unlike ipxe.efi), else its
    /// profile's file for the architecture (a profile may say "none"), else the edge's; null = none.
    /// </summary>
    /// <param name="firmwareIsIpxe">iPXE told to load a program (a chain the operator built) keeps the table's: the shim chain is for PXE firmware.</param>
    public static string? NbpFor(int architecture, BootFileTable files, Profile? profile, string? machineBootFile, bool firmwareIsIpxe = false)
    {
        ArgumentNullException.ThrowIfNull(files);
        if (machineBootFile is not null)
        {
            return machineBootFile;
        }

        if (profile is null)
        {
            return files.For(architecture);
        }

        if (profile.BootChain != BootChain.Ipxe && !firmwareIsIpxe && GrubChain.ProgramFor(profile.BootChain, architecture) is { } program)
        {
            return program;
        }

        // A UEFI HTTP-boot client of a profile that names its CPU's PXE file (boot-file.x64-uefi) gets that file too.
        return profile.BootFiles.Count > 0
            && (profile.BootFiles.TryGetValue(architecture, out var file)
                || (PxeFirmwareOf(architecture) is { } pxe && profile.BootFiles.TryGetValue(pxe, out file)))
            ? file
            : files.For(architecture);
    }

    /// <summary>The script for a machine in <paramref name="stage"/>: installed machines boot their disk, failed ones wait for an operator, every other stage installs.</summary>
    public static BootScriptKind ScriptFor(MachineStage stage) => stage switch
    {
        MachineStage.Installed or MachineStage.Rebooted => BootScriptKind.LocalDisk,
        MachineStage.Failed => BootScriptKind.Failed,
        _ => BootScriptKind.Install,
    };

    /// <summary>
    /// Whether <paramref name="path"/> (under the assets directory) is the profile's kernel or its initrd. A kernel or
    /// initrd given as a URL is fetched from elsewhere, so no asset path is it.
    /// </summary>
    public static BootAssetKind FetchedAsset(Profile profile, string path)
    {
        ArgumentNullException.ThrowIfNull(profile);
        if (!profile.KernelIsUrl && profile.Kernel == path)
        {
            return BootAssetKind.Kernel;
        }

        return !profile.InitrdIsUrl && profile.Initrd == path ? BootAssetKind.Initrd : BootAssetKind.None;
    }
}
