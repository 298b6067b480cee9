using Provisioner.Domain.Boot;
using Provisioner.Domain.Machines;
using Provisioner.Domain.Profiles;
using Provisioner.Domain.Tests.Profiles;
using Provisioner.Protocols.Dhcp;
using static Provisioner.Domain.Boot.DhcpBootKind;

namespace Provisioner.Domain.Tests.Boot;

public sealed class GrubChainTests
{
    private static readonly MachineId Mac = MachineId.Parse("52:54:00:77:00:5b");

    /// <summary>The shim chain changes only what x64 UEFI PXE firmware told to load a boot program gets.</summary>
    public static TheoryData<BootAction, bool, int, DhcpBootKind, string?> ShimTable { get; } = new()
    {
        { BootAction.Nbp,        false, 7,  Nbp,                  "shimx64.efi" },
        { BootAction.Nbp,        false, 9,  Nbp,                  "shimx64.efi" },
        // BIOS cannot do Secure Boot; an architecture without a file still gets none.
        { BootAction.Nbp,        false, 0,  Nbp,                  "undionly.kpxe" },
        { BootAction.Nbp,        false, 11, NoNbpForArchitecture, null },
        // iPXE firmware (a chain the operator built) keeps its script; installed PXE firmware still gets nothing.
        { BootAction.Nbp,        true,  7,  Nbp,                  "ipxe.efi" },
        { BootAction.BootScript, true,  7,  BootScript,           null },
        { BootAction.LocalDisk,  false, 7,  None,                 null },
        { BootAction.LocalDisk,  true,  7,  BootScript,           null },
        { BootAction.None,       false, 7,  None,                 null },
    };

    [Theory]
    [MemberData(nameof(ShimTable))]
    public void Shim_chain_names_the_signed_shim_to_x64_uefi_pxe_firmware_only(BootAction action, bool ipxe, int architecture, DhcpBootKind kind, string? name)
    {
        Assert.Equal(new DhcpBootFile(kind, name), BootRules.DhcpBoot(action, ipxe, architecture, BootFileTable.Default, Profile() with { BootChain = BootChain.Shim }));
    }

    [Theory]
    [InlineData(7)]
    [InlineData(9)]
    [InlineData(0)]
    public void Ipxe_chain_answers_as_the_table_does(int architecture)
    {
        Assert.Equal(
            BootRules.DhcpBoot(BootAction.Nbp, false, architecture, BootFileTable.Default),
            BootRules.DhcpBoot(BootAction.Nbp, false, architecture, BootFileTable.Default, Profile() with { BootChain = BootChain.Ipxe }));
    }

    [Theory]
    [InlineData("grub/grub.cfg", TftpFetchKind.BootConfig)]
    [InlineData("assets/lab/vmlinuz", TftpFetchKind.Asset)]
    [InlineData("shimx64.efi", TftpFetchKind.BootProgram)]
    [InlineData("grubx64.efi", TftpFetchKind.BootProgram)]
    [InlineData("ipxe.efi", TftpFetchKind.BootProgram)]
    [InlineData("grub/x86_64-efi/command.lst", TftpFetchKind.BootProgram)]
    [InlineData("assetsx/vmlinuz", TftpFetchKind.BootProgram)]
    public void Tftp_fetch_is_the_config_an_asset_or_a_boot_program(string path, TftpFetchKind expected)
    {
        Assert.Equal(expected, GrubChain.Fetch(path));
    }

    [Fact]
    public void Install_config_boots_the_profiles_kernel_and_initrd_over_tftp_with_its_kickstart()
    {
        var target = new BootTarget(Mac, "node-52540077005b", IPv4Address.Parse("10.77.3.100"), "http://10.77.3.1:8080", "TOKEN-abc");

        var config = GrubChain.RenderInstall(Profile(), target);

        // Golden text: what the signed network GRUB reads from /grub/grub.cfg.
        Assert.Equal(
            "# Provisioner: profile lab for 52:54:00:77:00:5b (node-52540077005b), boot chain shim -> GRUB, all over TFTP\n" +
            "set timeout=0\n" +
            "echo 'Provisioner: installing lab on 52:54:00:77:00:5b'\n" +
            "linux /assets/lab/vmlinuz console=ttyS0 quiet panic=5 inst.repo=http://mirror.example/os ks=http://10.77.3.1:8080/ks/TOKEN-abc\n" +
            "initrd /assets/lab/initrd.img\n" +
            "boot\n",
            config);
    }

    [Fact]
    public void Words_grub_would_read_otherwise_are_single_quoted()
    {
        var profile = Profile() with { KernelArgs = "a=$x b=1;reboot c='q' d={e}" };
        var target = new BootTarget(Mac, "h", null, "http://10.0.0.1:8080", "t");

        var linux = GrubChain.RenderInstall(profile, target).Split('\n').Single(l => l.StartsWith("linux ", StringComparison.Ordinal));

        Assert.Equal("linux /assets/lab/vmlinuz 'a=$x' 'b=1;reboot' 'c='\\''q'\\''' 'd={e}' inst.repo=http://mirror.example/os ks=http://10.0.0.1:8080/ks/t", linux);
    }

    [Fact]
    public void A_control_character_is_refused_not_written()
    {
        Assert.Throws<TemplateRenderException>(() => GrubChain.Word("a\nboot"));
    }

    [Fact]
    public void Url_kernel_cannot_render_a_grub_config()
    {
        var profile = Profile() with { Kernel = "http://mirror.example/vmlinuz" };

        Assert.Throws<TemplateRenderException>(() => GrubChain.RenderInstall(profile, new BootTarget(Mac, "h", null, "http://10.0.0.1:8080", "t")));
    }

    [Fact]
    public void Installed_machine_config_returns_to_the_firmware_to_boot_its_disk()
    {
        Assert.Equal(
            "# Provisioner: 52:54:00:77:00:5b is installed, boot its local disk\n" +
            "echo 'Provisioner: 52:54:00:77:00:5b is installed, booting from its local disk'\n" +
            "exit\n",
            GrubChain.RenderLocalDisk(Mac));
    }

    [Fact]
    public void Failed_machine_config_says_why_and_waits()
    {
        Assert.Equal(
            "# Provisioner: the install of 52:54:00:77:00:5b failed\n" +
            "echo 'Provisioner: the install of 52:54:00:77:00:5b failed (disk'\\''s gone); an operator must reprovision it'\n" +
            "sleep 86400\n",
            GrubChain.RenderFailed(Mac, "disk's gone"));
    }

    [Fact]
    public void Profile_key_boot_chain_selects_the_shim_chain()
    {
        using var dir = new ConfigDir().ValidProfile("sb", "lab/vmlinuz", "lab/initrd.img").ValidProfile("plain").Rules("default sb");
        File.AppendAllLines(dir.ProfilePath("sb"), ["boot-chain = shim"]);

        var catalog = ProfileCatalog.Load(dir.Path);

        Assert.Equal(BootChain.Shim, catalog.Find("sb")!.BootChain);
        Assert.Equal(BootChain.Ipxe, catalog.Find("plain")!.BootChain);
    }

    [Theory]
    [InlineData("boot-chain = pxelinux", "'boot-chain': 'pxelinux' is not a boot chain (ipxe, shim, grub)")]
    [InlineData("boot-chain = shim", "with boot-chain = shim it must be a path under the assets directory")]
    [InlineData("boot-chain = grub", "with boot-chain = grub it must be a path under the assets directory")]
    public void Bad_boot_chain_or_a_url_kernel_on_the_shim_chain_fails_the_load(string line, string message)
    {
        using var dir = new ConfigDir().ValidProfile("sb", "http://mirror.example/vmlinuz").Rules("default sb");
        File.AppendAllLines(dir.ProfilePath("sb"), [line]);

        var e = Assert.Throws<ProfileConfigException>(() => ProfileCatalog.Load(dir.Path));

        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(BootChain.Grub, 7, "grubx64.efi")]
    [InlineData(BootChain.Grub, 9, "grubx64.efi")]
    [InlineData(BootChain.Grub, 11, "grubaa64.efi")]
    [InlineData(BootChain.Grub, 0, "undionly.kpxe")]
    [InlineData(BootChain.Shim, 11, null)]
    [InlineData(BootChain.Shim, 7, "shimx64.efi")]
    [InlineData(BootChain.Ipxe, 7, "ipxe.efi")]
    public void Grub_chain_names_the_network_grub_to_x64_and_arm64_uefi_and_leaves_the_rest_to_the_table(BootChain chain, int architecture, string? expected)
    {
        var profile = Profile() with { BootChain = chain };

        Assert.Equal(expected, BootRules.NbpFor(architecture, BootFileTable.Default, profile, null));
        // iPXE told to load a program keeps the table's; a machine's own file wins over the chain.
        Assert.Equal(BootFileTable.Default.For(architecture), BootRules.NbpFor(architecture, BootFileTable.Default, profile, null, firmwareIsIpxe: true));
        Assert.Equal("own.efi", BootRules.NbpFor(architecture, BootFileTable.Default, profile, "own.efi"));
    }

    [Fact]
    public void Profile_key_boot_chain_grub_is_read()
    {
        using var dir = new ConfigDir().ValidProfile("arm", "arm64/vmlinuz", "arm64/initrd.img").Rules("default arm");
        File.AppendAllLines(dir.ProfilePath("arm"), ["boot-chain = grub"]);

        var catalog = ProfileCatalog.Load(dir.Path);

        Assert.Equal(BootChain.Grub, catalog.Find("arm")!.BootChain);
        Assert.True(catalog.HasBootFileOverrides);
    }

    private static Profile Profile()
    {
        using var dir = new ConfigDir().ValidProfile("lab", "lab/vmlinuz", "lab/initrd.img").Rules("default lab");
        File.AppendAllLines(dir.ProfilePath("lab"), ["kernel-args = console=ttyS0 quiet panic=5", "boot-chain = shim"]);
        return ProfileCatalog.Load(dir.Path).Find("lab")!;
    }
}

public sealed class BootConfigServedTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 7, 9, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Grub_config_served_after_shim_is_recorded_once_with_its_name_and_counts_as_the_boot_script()
    {
        var state = Machine.Replay("52:54:00:77:00:5b",
        [
            new MachineEvents.Discovered(T0, 7, false, "lab", 1),
            new MachineEvents.NbpServed(T0.AddSeconds(4), "shimx64.efi"),
        ]);

        var first = Machine.Decide(state, new MachineCommands.ReportBootScriptServed(T0.AddSeconds(6), "grub.cfg"), MachinePolicy.Default);
        Assert.Equal(DecisionOutcome.Accepted, first.Outcome);
        Assert.Equal([new MachineEvents.BootConfigServed(T0.AddSeconds(6), "grub.cfg")], first.Events);

        var after = first.Events.Aggregate(state, Machine.Apply);
        Assert.True(after.BootScriptServed);
        Assert.Equal(MachineStage.NbpServed, after.Stage);
        Assert.Equal(DecisionOutcome.Unchanged, Machine.Decide(after, new MachineCommands.ReportBootScriptServed(T0.AddSeconds(7), "grub.cfg"), MachinePolicy.Default).Outcome);

        // Kernel and initrd over TFTP then move the journey as over HTTP.
        var kernel = Machine.Decide(after, new MachineCommands.ReportKernelFetched(T0.AddSeconds(9), "lab/vmlinuz"), MachinePolicy.Default);
        Assert.Equal([new MachineEvents.KernelFetched(T0.AddSeconds(9), "lab/vmlinuz")], kernel.Events);
    }

    [Fact]
    public void Ipxe_script_report_without_a_config_name_stays_boot_script_served()
    {
        var state = Machine.Replay("52:54:00:77:00:5c", [new MachineEvents.Discovered(T0, 7, true, "lab", 1)]);

        var decision = Machine.Decide(state, new MachineCommands.ReportBootScriptServed(T0.AddSeconds(1)), MachinePolicy.Default);

        Assert.Equal([new MachineEvents.BootScriptServed(T0.AddSeconds(1))], decision.Events);
    }
}
