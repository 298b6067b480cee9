using System.Collections.Frozen;
using Provisioner.Domain.Profiles;
using Provisioner.Protocols.Dhcp;

namespace Provisioner.Domain.Boot;

/// <summary>
/// Network boot programs by client architecture: the IANA "Processor Architecture Types" value a client sends in
/// option 93 (RFC 4578 §2.1; IANA corrected the RFC's table, 7 is x64 UEFI and 9 is EBC) → the file it is told to load
/// over TFTP. Null = none: the client gets an address but no boot file. Four families have their own keys
/// (<c>dhcp.boot-files.{bios,x86-uefi,x64-uefi,arm64-uefi}</c>); <see cref="ByArchitecture"/>
/// (<c>dhcp.boot-files.by-arch</c>) names any registry value and wins over its family. UEFI HTTP-boot firmware
/// (15, 16, 18, 19, 28) gets the file of the same CPU's PXE firmware (16 → <see cref="X64Uefi"/>), over HTTP
/// (<see cref="BootRules.IsHttpBoot"/>), unless <c>by-arch</c> names one for its own value: a file name in the NBP
/// directory or an absolute http(s) URL.
/// </summary>
public sealed record BootFileTable(string? Bios = "undionly.kpxe", string? X86Uefi = null, string? X64Uefi = "ipxe.efi", string? Arm64Uefi = null)
{
    /// <summary>What a node serves with no <c>boot-files</c> configured: BIOS → undionly.kpxe, x64 UEFI → ipxe.efi.</summary>
    public static BootFileTable Default { get; } = new();

    /// <summary>The architectures the four families stand for, in registry order.</summary>
    private static readonly int[] FamilyArchitectures =
    [
        (int)ClientArchitecture.X86Bios,
        (int)ClientArchitecture.X86Uefi,
        (int)ClientArchitecture.X64Uefi,
        (int)ClientArchitecture.EfiByteCode,
        (int)ClientArchitecture.Arm64Uefi,
    ];

    /// <summary>Files by architecture number, over the families; a null value serves nothing even where a family names a file.</summary>
    public FrozenDictionary<int, string?> ByArchitecture { get; init; } = FrozenDictionary<int, string?>.Empty;

    /// <summary>The file for an architecture, or null when none is configured or the architecture is unknown. Allocation-free: DHCP asks per packet.</summary>
    public string? For(int architecture)
    {
        if (ByArchitecture.Count > 0 && ByArchitecture.TryGetValue(architecture, out var file))
        {
            return file;
        }

        return architecture switch
        {
            (int)ClientArchitecture.X86Bios => Bios,
            (int)ClientArchitecture.X86Uefi => X86Uefi,
            // EFI byte code: the registry's 9, which EDK2 builds and some ROMs sent for x64 before IANA's correction.
            (int)ClientArchitecture.X64Uefi or (int)ClientArchitecture.EfiByteCode => X64Uefi,
            (int)ClientArchitecture.Arm64Uefi => Arm64Uefi,
            // UEFI HTTP boot: the same CPU's file (by-arch of the PXE value too), fetched over HTTP.
            _ when BootRules.PxeFirmwareOf(architecture) is { } pxe => For(pxe),
            _ => null,
        };
    }

    /// <summary>
    /// Every file some architecture is served, once each, by architecture number: what the NBP directory (the TFTP
    /// root, also served over HTTP at <c>/nbp/</c> to UEFI HTTP-boot clients) must hold. An absolute http(s) URL is
    /// fetched from where it points, so it is not here.
    /// </summary>
    public IReadOnlyList<string> TftpFiles =>
        FamilyArchitectures.Concat(ByArchitecture.Keys).Distinct().Order().Select(For).OfType<string>()
            .Where(file => !BootUrls.IsAbsoluteHttpUrl(file)).Distinct(StringComparer.Ordinal).ToArray();

    /// <summary>Equal when every family and every per-architecture entry is equal (a record would compare the dictionary by reference).</summary>
    public bool Equals(BootFileTable? other) =>
        other is not null
        && Bios == other.Bios && X86Uefi == other.X86Uefi && X64Uefi == other.X64Uefi && Arm64Uefi == other.Arm64Uefi
        && ByArchitecture.Count == other.ByArchitecture.Count
        && ByArchitecture.All(entry => other.ByArchitecture.TryGetValue(entry.Key, out var file) && file == entry.Value);

    public override int GetHashCode() => HashCode.Combine(Bios, X86Uefi, X64Uefi, Arm64Uefi, ByArchitecture.Count);
}
