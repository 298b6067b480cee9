using System.Collections.Frozen;
using Provisioner.Domain.Machines;

namespace Provisioner.Domain.Profiles;

/// <summary>
/// One install profile, loaded from <c>profiles/&lt;name&gt;.profile</c>. Kernel, initrd and repo are either a path
/// under the HTTP assets directory (served at <c>/assets/…</c>) or an absolute http(s) URL passed through as is.
/// </summary>
public sealed record Profile
{
    public required string Name { get; init; }

    /// <summary>The <c>.profile</c> file it was loaded from.</summary>
    public required string File { get; init; }

    public string Description { get; init; } = string.Empty;

    public required string Kernel { get; init; }

    public required string Initrd { get; init; }

    public string KernelArgs { get; init; } = string.Empty;

    public required string RepoUrl { get; init; }

    public required ProfileTemplate Kickstart { get; init; }

    /// <summary>The iPXE script template: the profile's <c>ipxe-script</c> file, or <see cref="DefaultBootScript"/>.</summary>
    public required ProfileTemplate BootScript { get; init; }

    public required string RootPasswordHash { get; init; }

    /// <summary>Kickstart partitioning lines (a named layout already expanded).</summary>
    public string DiskLayout { get; init; } = DiskLayouts.Expand(DiskLayouts.Default);

    public string Timezone { get; init; } = "Etc/UTC";

    public string Lang { get; init; } = "en_US.UTF-8";

    public string Keyboard { get; init; } = "us";

    /// <summary>How a UEFI x64 PXE client of this profile boots (<c>boot-chain</c>): through iPXE, or through the signed shim → GRUB chain that Secure Boot firmware accepts.</summary>
    public BootChain BootChain { get; init; } = BootChain.Ipxe;

    /// <summary>
    /// Network boot programs this profile's PXE machines load instead of the edge's (<c>boot-file.bios</c>,
    /// <c>.x86-uefi</c>, <c>.x64-uefi</c>, <c>.arm64-uefi</c> or <c>.&lt;option 93 value&gt;</c>), by architecture number;
    /// a null value = none for that architecture. An architecture not here gets the edge's file.
    /// </summary>
    public FrozenDictionary<int, string?> BootFiles { get; init; } = FrozenDictionary<int, string?>.Empty;

    /// <summary>
    /// The iPXE script used when a profile names none. The 2019-era ipxe.efi hands the initrd to the kernel's EFI stub
    /// only when the command line names it (<c>initrd=&lt;name&gt;</c>), so the initrd is fetched under an explicit name.
    /// </summary>
    public const string DefaultBootScript = """
        #!ipxe
        # Provisioner: profile {{profile}} for {{mac}} ({{hostname}})
        kernel {{kernel_url}} initrd={{initrd_name}} {{kernel_args}} inst.repo={{repo_url}} ks={{kickstart_url}}
        initrd --name {{initrd_name}} {{initrd_url}}
        boot

        """;

    public bool KernelIsUrl => BootUrls.IsAbsoluteHttpUrl(Kernel);

    public bool InitrdIsUrl => BootUrls.IsAbsoluteHttpUrl(Initrd);

    /// <summary>The initrd's file name, as iPXE names the image and the kernel's <c>initrd=</c> argument refers to it.</summary>
    public string InitrdName
    {
        get
        {
            var path = InitrdIsUrl ? new Uri(Initrd).AbsolutePath : Initrd;
            var name = path[(path.LastIndexOf('/') + 1)..];
            return name.Length == 0 || name.Any(c => char.IsControl(c) || char.IsWhiteSpace(c)) ? "initrd" : name;
        }
    }

    public string KernelUrlFor(string edgeBaseUrl, MachineId mac) =>
        KernelIsUrl ? Kernel : BootUrls.Asset(edgeBaseUrl, Kernel, mac);

    public string InitrdUrlFor(string edgeBaseUrl, MachineId mac) =>
        InitrdIsUrl ? Initrd : BootUrls.Asset(edgeBaseUrl, Initrd, mac);

    public string RepoUrlFor(string edgeBaseUrl) =>
        Uri.TryCreate(RepoUrl, UriKind.Absolute, out _) ? RepoUrl : BootUrls.Asset(edgeBaseUrl, RepoUrl, null);

    public string RenderBootScript(BootTarget target) =>
        BootScript.Render(TemplateVariables.For(this, target), TemplateOutput.Ipxe);

    public string RenderKickstart(BootTarget target) =>
        Kickstart.Render(TemplateVariables.For(this, target), TemplateOutput.Kickstart);
}

/// <summary>The <c>boot-chain</c> key of a profile.</summary>
public enum BootChain
{
    /// <summary>Firmware loads iPXE (<c>ipxe.efi</c>, <c>undionly.kpxe</c>), which fetches its script, kernel and initrd over HTTP.</summary>
    Ipxe = 0,

    /// <summary>
    /// UEFI x64 firmware loads Debian's signed shim, shim the signed network GRUB, GRUB the machine's <c>grub.cfg</c>,
    /// the signed kernel and the initrd, all over TFTP: the chain a Secure Boot firmware accepts (it refuses the unsigned
    /// ipxe.efi). Other architectures still get their network boot program.
    /// </summary>
    Shim = 1,

    /// <summary>
    /// UEFI firmware loads Debian's network GRUB directly (no shim): x64 → <c>grubx64.efi</c>, ARM64 →
    /// <c>grubaa64.efi</c>; then, as on the shim chain, the machine's <c>grub.cfg</c>, kernel and initrd over TFTP. For
    /// machines without Secure Boot that should not run iPXE, and for ARM64, for which Debian ships no iPXE.
    /// </summary>
    Grub = 2,
}

public static class BootChains
{
    public static bool TryParse(string value, out BootChain chain)
    {
        switch (value)
        {
            case "ipxe":
                chain = BootChain.Ipxe;
                return true;
            case "shim":
                chain = BootChain.Shim;
                return true;
            case "grub":
                chain = BootChain.Grub;
                return true;
            default:
                chain = BootChain.Ipxe;
                return false;
        }
    }
}

/// <summary>Named disk layouts for the <c>disk-layout</c> key (kickstart partitioning lines, without clearpart).</summary>
public static class DiskLayouts
{
    public const string Default = "autopart";

    private static readonly Dictionary<string, string> Named = new(StringComparer.Ordinal)
    {
        // Anaconda's own choice: LVM with / and swap (and /home on large disks), /boot and the firmware's partition.
        ["autopart"] = "autopart --type=lvm",
        ["autopart-plain"] = "autopart --type=plain",
        // The classic CentOS 7 layout (as anaconda-ks.cfg writes it) without fixed sizes: /boot, and / on XFS in
        // LVM taking the rest of the disk. reqpart adds biosboot or /boot/efi as the firmware needs, so it also
        // works under UEFI, which the hand-written BIOS-only layout did not.
        ["lvm-xfs"] = string.Join('\n',
            "reqpart --add-boot",
            "part pv.01 --fstype=lvmpv --size=1 --grow",
            "volgroup centos --pesize=4096 pv.01",
            "logvol / --fstype=xfs --name=root --vgname=centos --size=1 --grow"),
    };

    /// <summary>The kickstart commands a literal <c>disk-layout</c> line may start with.</summary>
    public static IReadOnlySet<string> Commands { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "autopart", "reqpart", "part", "partition", "volgroup", "logvol", "raid", "btrfs", "ignoredisk", "zerombr",
    };

    public static IReadOnlyCollection<string> Names => Named.Keys;

    public static bool IsNamed(string value) => Named.ContainsKey(value);

    public static string Expand(string name) => Named[name];
}
