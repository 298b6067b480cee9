using System.Text;
using Provisioner.Domain.Machines;
using Provisioner.Domain.Profiles;
using Provisioner.Protocols.Dhcp;

namespace Provisioner.Domain.Boot;

/// <summary>What a file fetched over TFTP is to the machine that fetched it.</summary>
public enum TftpFetchKind
{
    /// <summary>A network boot program (ipxe.efi, undionly.kpxe, shimx64.efi, grubx64.efi): <c>NbpServed</c>.</summary>
    BootProgram = 0,

    /// <summary>The machine's <c>grub.cfg</c>, rendered for it: recorded like the iPXE script (<c>BootConfigServed</c>).</summary>
    BootConfig = 1,

    /// <summary>A file of the assets directory (<c>assets/…</c>): its kernel, its initrd, or nothing of its own.</summary>
    Asset = 2,
}

/// <summary>
/// The Secure Boot chain (<see cref="BootChain.Shim"/>), all over TFTP: firmware → Debian's signed <c>shimx64.efi</c> →
/// signed network GRUB, served as <c>grubx64.efi</c> beside shim (shim loads that name from the directory of the BOOTP
/// file field) → <c>/grub/grub.cfg</c> (Debian's grubnetx64 has its prefix built in as <c>(tftp,&lt;siaddr&gt;)/grub</c>
/// and reads only that name) → the profile's kernel and initrd under <c>/assets/</c>.
/// <para>
/// One <c>grub.cfg</c> name serves every machine: the edge renders it for the machine whose lease holds the address the
/// request came from, as it attributes every other TFTP transfer. The alternative, a static config doing
/// <c>configfile</c> of a per-MAC file keyed on <c>$net_default_mac</c>, would let any host read any machine's config,
/// and with it the kickstart URL carrying that machine's token, by naming its MAC.
/// </para>
/// </summary>
public static class GrubChain
{
    /// <summary>What DHCP names (file field and option 67), at the TFTP root.</summary>
    public const string ShimFile = "shimx64.efi";

    /// <summary>What shim loads next from the same directory: the signed network GRUB under the name shim looks for.</summary>
    public const string GrubFile = "grubx64.efi";

    /// <summary>Debian's network GRUB for ARM64 UEFI (grubnetaa64), which <see cref="BootChain.Grub"/> names to arch 11 firmware.</summary>
    public const string GrubArm64File = "grubaa64.efi";

    /// <summary>
    /// What PXE firmware of <paramref name="architecture"/> loads on <paramref name="chain"/>, or null when the chain
    /// does not change its answer: the shim for x64 on <see cref="BootChain.Shim"/>; the network GRUB itself for x64 and
    /// ARM64 on <see cref="BootChain.Grub"/>.
    /// </summary>
    public static string? ProgramFor(BootChain chain, int architecture) => chain switch
    {
        BootChain.Shim when IsFor(architecture) => ShimFile,
        BootChain.Grub when IsFor(architecture) => GrubFile,
        BootChain.Grub when architecture == (int)ClientArchitecture.Arm64Uefi => GrubArm64File,
        _ => null,
    };

    /// <summary>The one config the signed network GRUB reads (its built-in prefix is <c>/grub</c>), relative to the TFTP root.</summary>
    public const string ConfigPath = "grub/grub.cfg";

    /// <summary>Where the assets directory appears in the TFTP namespace.</summary>
    public const string AssetPrefix = "assets/";

    /// <summary>What a TFTP path (relative to the root, no leading '/') is: the machine's grub.cfg, an asset, or a boot program.</summary>
    public static TftpFetchKind Fetch(string relativePath)
    {
        ArgumentNullException.ThrowIfNull(relativePath);
        if (relativePath == ConfigPath)
        {
            return TftpFetchKind.BootConfig;
        }

        return relativePath.StartsWith(AssetPrefix, StringComparison.Ordinal) ? TftpFetchKind.Asset : TftpFetchKind.BootProgram;
    }

    /// <summary>The path under the assets directory for a TFTP path of kind <see cref="TftpFetchKind.Asset"/>.</summary>
    public static string AssetPath(string relativePath)
    {
        ArgumentNullException.ThrowIfNull(relativePath);
        return relativePath.StartsWith(AssetPrefix, StringComparison.Ordinal) ? relativePath[AssetPrefix.Length..] : relativePath;
    }

    /// <summary>True for the architectures the chain is for (option 93): x64 UEFI, and 9 which EDK2 builds send for it.</summary>
    public static bool IsFor(int architecture) =>
        architecture is (int)ClientArchitecture.X64Uefi or (int)ClientArchitecture.EfiByteCode;

    /// <summary>
    /// The install config: GRUB loads the kernel and initrd from the TFTP server it came from (its root device is
    /// <c>(tftp,&lt;siaddr&gt;)</c>) and boots with the profile's arguments and the kickstart URL, as the iPXE script does.
    /// Every word is quoted where GRUB's lexer would read it otherwise (<c>$ ; &amp; | { } &lt; &gt;</c>, quotes, spaces).
    /// </summary>
    public static string RenderInstall(Profile profile, BootTarget target)
    {
        ArgumentNullException.ThrowIfNull(profile);
        ArgumentNullException.ThrowIfNull(target);
        if (profile.KernelIsUrl || profile.InitrdIsUrl)
        {
            throw new TemplateRenderException($"{profile.File}: boot-chain = shim needs the kernel and initrd under the assets directory (GRUB has no HTTP)");
        }

        var baseUrl = target.EdgeBaseUrl.TrimEnd('/');
        var arguments = new List<string> { Word("/" + AssetPrefix + profile.Kernel) };
        arguments.AddRange(profile.KernelArgs.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(Word));
        arguments.Add(Word("inst.repo=" + profile.RepoUrlFor(baseUrl)));
        arguments.Add(Word("ks=" + BootUrls.Kickstart(baseUrl, target.Token)));

        var text = new StringBuilder();
        text.Append("# Provisioner: profile ").Append(Comment(profile.Name)).Append(" for ").Append(target.Mac.Value)
            .Append(" (").Append(Comment(target.Hostname)).Append("), boot chain shim -> GRUB, all over TFTP\n");
        text.Append("set timeout=0\n");
        text.Append("echo ").Append(Word($"Provisioner: installing {profile.Name} on {target.Mac.Value}")).Append('\n');
        text.Append("linux ").AppendJoin(' ', arguments).Append('\n');
        text.Append("initrd ").Append(Word("/" + AssetPrefix + profile.Initrd)).Append('\n');
        text.Append("boot\n");
        return text.ToString();
    }

    /// <summary>An installed machine: back to the firmware, which boots the next entry of its boot order (the disk).</summary>
    public static string RenderLocalDisk(MachineId mac) =>
        $"# Provisioner: {mac.Value} is installed, boot its local disk\necho {Word($"Provisioner: {mac.Value} is installed, booting from its local disk")}\nexit\n";

    /// <summary>A failed install: say so and wait; an operator must reprovision the machine.</summary>
    public static string RenderFailed(MachineId mac, string? reason) =>
        $"# Provisioner: the install of {mac.Value} failed\necho {Word($"Provisioner: the install of {mac.Value} failed ({Printable(reason ?? "no reason given")}); an operator must reprovision it")}\nsleep 86400\n";

    /// <summary>One GRUB word: as it is when every character is plain, else single-quoted (a quote inside as <c>'\''</c>).</summary>
    public static string Word(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.Any(char.IsControl))
        {
            throw new TemplateRenderException($"'{Printable(value)}' contains a line break or control character and cannot go into a grub.cfg");
        }

        return value.Length > 0 && value.All(IsPlain) ? value : "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
    }

    private static bool IsPlain(char c) => char.IsAsciiLetterOrDigit(c) || c is '/' or '.' or '_' or '-' or ':' or '=' or ',' or '+' or '@' or '%';

    private static string Comment(string value) => Printable(value);

    private static string Printable(string value) => new(value.Select(c => char.IsControl(c) ? '?' : c).ToArray());
}
