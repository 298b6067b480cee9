using Provisioner.Domain.Boot;
using Provisioner.Domain.Machines;
using Provisioner.Edge.Dhcp;
using Provisioner.Protocols.Dhcp;

namespace Provisioner.Edge.Tests;

public sealed class BootPolicyTests
{
    private static readonly MachineId Mac = MachineId.Parse("52:54:00:dc:00:11");

    private static readonly BootPolicy Policy = BootPolicy.For(new DhcpServerOptions { Address = IPv4Address.Parse("10.0.0.2"), HttpPort = 8081 });

    [Fact]
    public void Boot_script_answer_names_the_machines_script_on_this_edge()
    {
        Assert.Equal(new DhcpBootFile(DhcpBootKind.BootScript, "http://10.0.0.2:8081/boot/52:54:00:dc:00:11.ipxe"), Policy.DhcpBootFile(Mac, BootAction.BootScript, true, 7));
        Assert.Equal(new DhcpBootFile(DhcpBootKind.BootScript, "http://10.0.0.2:8081/boot/52:54:00:dc:00:11.ipxe"), Policy.DhcpBootFile(Mac, BootAction.LocalDisk, true, 0));
    }

    [Fact]
    public void Other_answers_are_the_domain_rules_unchanged()
    {
        Assert.Equal(new DhcpBootFile(DhcpBootKind.Nbp, "ipxe.efi"), Policy.DhcpBootFile(Mac, BootAction.Nbp, false, 7));
        Assert.Equal(new DhcpBootFile(DhcpBootKind.NoNbpForArchitecture, null), Policy.DhcpBootFile(Mac, BootAction.Nbp, false, 11));
        Assert.Equal(default, Policy.DhcpBootFile(Mac, BootAction.LocalDisk, false, 7));
        Assert.Equal(BootScriptKind.LocalDisk, Policy.BootScriptFor(MachineStage.Installed));
    }

    [Fact]
    public void Network_boot_programs_are_the_configured_files()
    {
        var policy = new BootPolicy(BootFileTable.Default with { Arm64Uefi = "ipxe-arm64.efi" }, "http://10.0.0.2:8080");

        Assert.Equal(["undionly.kpxe", "ipxe.efi"], Policy.NetworkBootPrograms);
        Assert.Equal(["undionly.kpxe", "ipxe.efi", "ipxe-arm64.efi"], policy.NetworkBootPrograms);
    }

    [Fact]
    public void Shim_chain_machine_gets_the_signed_shim_and_the_profile_is_asked_only_for_x64_uefi_pxe()
    {
        var asked = new List<(MachineId, IPv4Address?)>();
        var policy = BootPolicy.For(
            new DhcpServerOptions { Address = IPv4Address.Parse("10.0.0.2"), HttpPort = 8081 },
            (mac, address) =>
            {
                asked.Add((mac, address));
                return Provisioner.Domain.Profiles.BootChain.Shim;
            });
        var granted = IPv4Address.Parse("10.0.0.100");

        Assert.Equal(new DhcpBootFile(DhcpBootKind.Nbp, "shimx64.efi"), policy.DhcpBootFile(Mac, BootAction.Nbp, false, 7, granted));
        Assert.Equal(new DhcpBootFile(DhcpBootKind.Nbp, "undionly.kpxe"), policy.DhcpBootFile(Mac, BootAction.Nbp, false, 0, granted));
        Assert.Equal(default, policy.DhcpBootFile(Mac, BootAction.LocalDisk, false, 7, granted));
        Assert.Equal(DhcpBootKind.BootScript, policy.DhcpBootFile(Mac, BootAction.BootScript, true, 7, granted).Kind);

        Assert.Equal([(Mac, (IPv4Address?)granted)], asked);
    }

    [Fact]
    public void Tftp_fetches_are_classified_by_the_domain_rule()
    {
        Assert.Equal(TftpFetchKind.BootConfig, Policy.TftpFetch("grub/grub.cfg"));
        Assert.Equal(TftpFetchKind.Asset, Policy.TftpFetch("assets/lab/vmlinuz"));
        Assert.Equal(TftpFetchKind.BootProgram, Policy.TftpFetch("shimx64.efi"));
    }
}
