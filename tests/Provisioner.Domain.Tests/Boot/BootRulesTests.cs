using System.Collections.Frozen;
using Provisioner.Domain.Boot;
using Provisioner.Domain.Machines;
using Provisioner.Domain.Profiles;
using Provisioner.Domain.Tests.Profiles;
using static Provisioner.Domain.Boot.DhcpBootKind;

namespace Provisioner.Domain.Tests.Boot;

public sealed class BootRulesTests
{
    private const int Bios = 0;
    private const int UefiX64 = 7;
    private const int UefiArm64 = 11;

    /// <summary>Every boot action × firmware (PXE ROM or iPXE) × architecture (served, unserved) → what DHCP names.</summary>
    public static TheoryData<BootAction, bool, int, DhcpBootKind, string?> DhcpTable { get; } = new()
    {
        // Nothing to boot (a non-booting client, or a machine that gets silence).
        { BootAction.None,       false, Bios,      None,                 null },
        { BootAction.None,       false, UefiX64,   None,                 null },
        { BootAction.None,       false, UefiArm64, None,                 null },
        { BootAction.None,       true,  Bios,      None,                 null },
        { BootAction.None,       true,  UefiX64,   None,                 null },
        { BootAction.None,       true,  UefiArm64, None,                 null },
        // The network boot program by architecture, whatever the firmware; an unserved architecture gets nothing.
        { BootAction.Nbp,        false, Bios,      Nbp,                  "undionly.kpxe" },
        { BootAction.Nbp,        false, UefiX64,   Nbp,                  "ipxe.efi" },
        { BootAction.Nbp,        false, UefiArm64, NoNbpForArchitecture, null },
        { BootAction.Nbp,        true,  Bios,      Nbp,                  "undionly.kpxe" },
        { BootAction.Nbp,        true,  UefiX64,   Nbp,                  "ipxe.efi" },
        { BootAction.Nbp,        true,  UefiArm64, NoNbpForArchitecture, null },
        // The machine's boot script, whatever the architecture.
        { BootAction.BootScript, false, Bios,      BootScript,           null },
        { BootAction.BootScript, false, UefiX64,   BootScript,           null },
        { BootAction.BootScript, false, UefiArm64, BootScript,           null },
        { BootAction.BootScript, true,  Bios,      BootScript,           null },
        { BootAction.BootScript, true,  UefiX64,   BootScript,           null },
        { BootAction.BootScript, true,  UefiArm64, BootScript,           null },
        // Installed: PXE firmware gets nothing and falls through to its disk; iPXE gets its script, which boots the disk.
        { BootAction.LocalDisk,  false, Bios,      None,                 null },
        { BootAction.LocalDisk,  false, UefiX64,   None,                 null },
        { BootAction.LocalDisk,  false, UefiArm64, None,                 null },
        { BootAction.LocalDisk,  true,  Bios,      BootScript,           null },
        { BootAction.LocalDisk,  true,  UefiX64,   BootScript,           null },
        { BootAction.LocalDisk,  true,  UefiArm64, BootScript,           null },
    };

    [Theory]
    [MemberData(nameof(DhcpTable))]
    public void Dhcp_names_the_nbp_the_boot_script_or_nothing(BootAction action, bool ipxe, int architecture, DhcpBootKind kind, string? name)
    {
        Assert.Equal(new DhcpBootFile(kind, name), BootRules.DhcpBoot(action, ipxe, architecture, BootFileTable.Default));
    }

    [Fact]
    public void Dhcp_table_covers_every_boot_action_and_firmware()
    {
        var rows = DhcpTable.Select(row => ((BootAction)row[0], (bool)row[1])).ToHashSet();

        Assert.All(Enum.GetValues<BootAction>(), a =>
        {
            Assert.Contains((a, false), rows);
            Assert.Contains((a, true), rows);
        });
    }

    [Fact]
    public void Nbp_comes_from_the_configured_table()
    {
        var files = BootFileTable.Default with { Arm64Uefi = "ipxe-arm64.efi", Bios = null };

        Assert.Equal(new DhcpBootFile(Nbp, "ipxe-arm64.efi"), BootRules.DhcpBoot(BootAction.Nbp, false, UefiArm64, files));
        Assert.Equal(new DhcpBootFile(NoNbpForArchitecture, null), BootRules.DhcpBoot(BootAction.Nbp, false, Bios, files));
    }

    /// <summary>
    /// UEFI HTTP-boot firmware (option 93 = 15, 16, 18, 19, 28) gets its CPU's NBP over HTTP: the PXE family's file
    /// (or a by-arch entry for the PXE value), unless by-arch names one for the HTTP value itself, a file or a URL.
    /// </summary>
    public static TheoryData<int, string, DhcpBootKind, string?> HttpBootTable { get; } = new()
    {
        { 16, "default",                    NbpOverHttp,          "ipxe.efi" },
        { 19, "default",                    NoNbpForArchitecture, null },
        { 19, "arm64 family",               NbpOverHttp,          "ipxe-arm64.efi" },
        { 15, "default",                    NoNbpForArchitecture, null },
        { 16, "by-arch 7 snponly",          NbpOverHttp,          "snponly.efi" },
        { 16, "by-arch 16 file",            NbpOverHttp,          "http-only.efi" },
        { 16, "by-arch 16 url",             NbpOverHttp,          "http://mirror.example/ipxe.efi" },
        { 16, "by-arch 16 none",            NoNbpForArchitecture, null },
        { 28, "by-arch 27 riscv",           NbpOverHttp,          "ipxe-riscv64.efi" },
        // PXE firmware of the same CPUs keeps TFTP.
        { 7,  "by-arch 16 file",            Nbp,                  "ipxe.efi" },
        { 11, "arm64 family",               Nbp,                  "ipxe-arm64.efi" },
    };

    private static BootFileTable Files(string configuration) => configuration switch
    {
        "default" => BootFileTable.Default,
        "arm64 family" => BootFileTable.Default with { Arm64Uefi = "ipxe-arm64.efi" },
        "by-arch 7 snponly" => ByArch(7, "snponly.efi"),
        "by-arch 16 file" => ByArch(16, "http-only.efi"),
        "by-arch 16 url" => ByArch(16, "http://mirror.example/ipxe.efi"),
        "by-arch 16 none" => ByArch(16, null),
        "by-arch 27 riscv" => ByArch(27, "ipxe-riscv64.efi"),
        _ => throw new ArgumentOutOfRangeException(nameof(configuration)),
    };

    private static BootFileTable ByArch(int architecture, string? file) =>
        BootFileTable.Default with { ByArchitecture = new Dictionary<int, string?> { [architecture] = file }.ToFrozenDictionary() };

    [Theory]
    [MemberData(nameof(HttpBootTable))]
    public void Uefi_http_boot_firmware_gets_its_cpus_nbp_over_http(int architecture, string configuration, DhcpBootKind kind, string? name)
    {
        Assert.Equal(new DhcpBootFile(kind, name), BootRules.DhcpBoot(BootAction.Nbp, false, architecture, Files(configuration)));
    }

    [Fact]
    public void Http_boot_firmware_gets_no_nbp_once_installed_or_a_script_url_when_it_is_ipxe()
    {
        Assert.Equal(default, BootRules.DhcpBoot(BootAction.LocalDisk, false, 16, BootFileTable.Default));
        Assert.Equal(new DhcpBootFile(BootScript, null), BootRules.DhcpBoot(BootAction.BootScript, false, 16, BootFileTable.Default));
    }

    [Fact]
    public void Http_boot_client_of_a_profile_naming_its_cpus_pxe_file_gets_that_file_over_http_and_its_own_mac_file_wins()
    {
        // boot-file.x64-uefi = snponly.efi in a profile stands for 7 and 9.
        var profile = LoadProfile() with { BootFiles = new Dictionary<int, string?> { [7] = "snponly.efi", [9] = "snponly.efi" }.ToFrozenDictionary() };

        Assert.Equal(new DhcpBootFile(NbpOverHttp, "snponly.efi"), BootRules.DhcpBoot(BootAction.Nbp, false, 16, BootFileTable.Default, profile));
        Assert.Equal(new DhcpBootFile(NbpOverHttp, "mine.efi"), BootRules.DhcpBoot(BootAction.Nbp, false, 16, BootFileTable.Default, profile, "mine.efi"));
        Assert.Equal(new DhcpBootFile(NoNbpForArchitecture, null), BootRules.DhcpBoot(BootAction.Nbp, false, 19, BootFileTable.Default, profile));
    }

    [Fact]
    public void Only_the_uefi_http_architectures_are_http_boot()
    {
        int[] http = [15, 16, 18, 19, 28];
        Assert.All(Enumerable.Range(0, 40), a => Assert.Equal(http.Contains(a), BootRules.IsHttpBoot(a)));
    }

    [Fact]
    public void Nbp_directory_holds_the_http_boot_files_named_by_name_but_not_by_url()
    {
        Assert.Equal(["undionly.kpxe", "ipxe.efi", "http-only.efi"], Files("by-arch 16 file").TftpFiles);
        Assert.Equal(["undionly.kpxe", "ipxe.efi"], Files("by-arch 16 url").TftpFiles);
    }

    /// <summary>Every stage → the script <c>/boot/&lt;mac&gt;.ipxe</c> serves.</summary>
    public static TheoryData<MachineStage, BootScriptKind> ScriptTable { get; } = new()
    {
        { MachineStage.New,              BootScriptKind.Install },
        { MachineStage.Discovered,       BootScriptKind.Install },
        { MachineStage.NbpServed,        BootScriptKind.Install },
        { MachineStage.KernelFetched,    BootScriptKind.Install },
        { MachineStage.KickstartFetched, BootScriptKind.Install },
        { MachineStage.Installed,        BootScriptKind.LocalDisk },
        { MachineStage.Rebooted,         BootScriptKind.LocalDisk },
        { MachineStage.Failed,           BootScriptKind.Failed },
    };

    [Theory]
    [MemberData(nameof(ScriptTable))]
    public void Installed_machines_boot_their_disk_failed_ones_stop_and_the_rest_install(MachineStage stage, BootScriptKind expected)
    {
        Assert.Equal(expected, BootRules.ScriptFor(stage));
    }

    [Fact]
    public void Script_table_covers_every_stage()
    {
        var rows = ScriptTable.Select(row => (MachineStage)row[0]).ToHashSet();

        Assert.All(Enum.GetValues<MachineStage>(), s => Assert.Contains(s, rows));
    }

    [Theory]
    [InlineData("os/vmlinuz", BootAssetKind.Kernel)]
    [InlineData("os/initrd.img", BootAssetKind.Initrd)]
    [InlineData("os/repodata/repomd.xml", BootAssetKind.None)]
    [InlineData("other/vmlinuz", BootAssetKind.None)]
    [InlineData("OS/vmlinuz", BootAssetKind.None)]
    [InlineData("/os/vmlinuz", BootAssetKind.None)]
    [InlineData("os/vmlinuz ", BootAssetKind.None)]
    [InlineData("", BootAssetKind.None)]
    public void Fetched_path_is_the_profiles_kernel_its_initrd_or_neither(string path, BootAssetKind expected)
    {
        Assert.Equal(expected, BootRules.FetchedAsset(LoadProfile(), path));
    }

    [Fact]
    public void Kernel_and_initrd_given_as_urls_are_never_an_asset_path()
    {
        var profile = LoadProfile() with { Kernel = "https://mirror.example/vmlinuz", Initrd = "https://mirror.example/initrd.img" };

        Assert.Equal(BootAssetKind.None, BootRules.FetchedAsset(profile, "https://mirror.example/vmlinuz"));
        Assert.Equal(BootAssetKind.None, BootRules.FetchedAsset(profile, "https://mirror.example/initrd.img"));
    }

    [Fact]
    public void A_url_kernel_leaves_a_local_initrd_reported()
    {
        var profile = LoadProfile() with { Kernel = "https://mirror.example/vmlinuz" };

        Assert.Equal(BootAssetKind.Initrd, BootRules.FetchedAsset(profile, "os/initrd.img"));
    }

    [Fact]
    public void A_path_that_is_both_kernel_and_initrd_counts_as_the_kernel()
    {
        var profile = LoadProfile() with { Initrd = "os/vmlinuz" };

        Assert.Equal(BootAssetKind.Kernel, BootRules.FetchedAsset(profile, "os/vmlinuz"));
    }

    /// <summary>A valid profile with kernel <c>os/vmlinuz</c> and initrd <c>os/initrd.img</c>.</summary>
    private static Profile LoadProfile()
    {
        using var dir = new ConfigDir().ValidProfile("p").Rules("default p");
        return ProfileCatalog.Load(dir.Path).Find("p")!;
    }
}
