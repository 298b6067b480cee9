using System.Collections.Frozen;
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
    public void Nbp_over_http_is_named_by_its_url_on_this_edge_or_the_configured_url()
    {
        var byUrl = new BootPolicy(
            BootFileTable.Default with { ByArchitecture = new Dictionary<int, string?> { [19] = "https://mirror.example/arm64.efi" }.ToFrozenDictionary() },
            "http://10.0.0.2:8081");

        Assert.Equal(new DhcpBootFile(DhcpBootKind.NbpOverHttp, "http://10.0.0.2:8081/nbp/ipxe.efi"), Policy.DhcpBootFile(Mac, BootAction.Nbp, false, 16));
        Assert.Equal(new DhcpBootFile(DhcpBootKind.NoNbpForArchitecture, null), Policy.DhcpBootFile(Mac, BootAction.Nbp, false, 19));
        Assert.Equal(new DhcpBootFile(DhcpBootKind.NbpOverHttp, "https://mirror.example/arm64.efi"), byUrl.DhcpBootFile(Mac, BootAction.Nbp, false, 19));
    }

    [Fact]
    public void Network_boot_programs_are_the_configured_files()
    {
        var policy = new BootPolicy(BootFileTable.Default with { Arm64Uefi = "ipxe-arm64.efi" }, "http://10.0.0.2:8080");

        Assert.Equal(["undionly.kpxe", "ipxe.efi"], Policy.NetworkBootPrograms);
        Assert.Equal(["undionly.kpxe", "ipxe.efi", "ipxe-arm64.efi"], policy.NetworkBootPrograms);
    }

    [Fact]
    public void A_profiles_and_a_machines_boot_files_win_and_are_staged_and_a_subnet_rule_uses_the_offered_address()
    {
        var config = Path.Combine(Path.GetTempPath(), "prov-bootpolicy-" + Guid.NewGuid().ToString("N"));
        try
        {
            Directory.CreateDirectory(Path.Combine(config, "profiles"));
            foreach (var (name, extra) in new[] { ("lab", "boot-file.x64-uefi = lab/snponly.efi"), ("other", string.Empty) })
            {
                File.WriteAllText(Path.Combine(config, "profiles", name + ".ks"), "url --url={{repo_url}}\n");
                File.WriteAllLines(Path.Combine(config, "profiles", name + ".profile"),
                    ["kernel = os/vmlinuz", "initrd = os/initrd.img", "repo-url = http://mirror.example/os", $"kickstart = {name}.ks", "root-password-hash = $6$salt$abc", extra]);
            }

            File.WriteAllLines(Path.Combine(config, "rules.conf"), ["mac 52:54:00:dc:00:11 other boot-file=one/ipxe.efi", "subnet 10.0.0.0/24 lab", "default other"]);
            var policy = BootPolicy.For(new DhcpServerOptions { Address = IPv4Address.Parse("10.0.0.2"), HttpPort = 8081 }, Domain.Profiles.ProfileCatalog.Load(config));
            var another = MachineId.Parse("52:54:00:dc:00:99");

            Assert.Equal(new DhcpBootFile(DhcpBootKind.Nbp, "one/ipxe.efi"), policy.DhcpBootFile(Mac, BootAction.Nbp, false, 0));
            Assert.Equal(new DhcpBootFile(DhcpBootKind.Nbp, "lab/snponly.efi"), policy.DhcpBootFile(another, BootAction.Nbp, false, 7, IPv4Address.Parse("10.0.0.50")));
            Assert.Equal(new DhcpBootFile(DhcpBootKind.Nbp, "ipxe.efi"), policy.DhcpBootFile(another, BootAction.Nbp, false, 7, IPv4Address.Parse("10.9.0.50")));
            Assert.Equal(new DhcpBootFile(DhcpBootKind.Nbp, "ipxe.efi"), policy.DhcpBootFile(another, BootAction.Nbp, false, 7));
            Assert.Equal(["undionly.kpxe", "ipxe.efi", "lab/snponly.efi", "one/ipxe.efi"], policy.NetworkBootPrograms);
        }
        finally
        {
            Directory.Delete(config, recursive: true);
        }
    }

    [Fact]
    public void Shim_chain_machine_gets_the_signed_shim_for_x64_uefi_pxe_only_and_a_machines_own_file_wins()
    {
        var config = Path.Combine(Path.GetTempPath(), "prov-bootpolicy-" + Guid.NewGuid().ToString("N"));
        try
        {
            Directory.CreateDirectory(Path.Combine(config, "profiles"));
            File.WriteAllText(Path.Combine(config, "profiles", "sb.ks"), "url --url={{repo_url}}\n");
            File.WriteAllLines(Path.Combine(config, "profiles", "sb.profile"),
                ["kernel = os/vmlinuz", "initrd = os/initrd.img", "repo-url = http://mirror.example/os", "kickstart = sb.ks", "root-password-hash = $6$salt$abc", "boot-chain = shim"]);
            File.WriteAllLines(Path.Combine(config, "rules.conf"), ["mac 52:54:00:dc:00:99 sb boot-file=own.efi", "default sb"]);
            var policy = BootPolicy.For(new DhcpServerOptions { Address = IPv4Address.Parse("10.0.0.2"), HttpPort = 8081 }, Domain.Profiles.ProfileCatalog.Load(config));
            var granted = IPv4Address.Parse("10.0.0.100");

            Assert.Equal(new DhcpBootFile(DhcpBootKind.Nbp, "shimx64.efi"), policy.DhcpBootFile(Mac, BootAction.Nbp, false, 7, granted));
            Assert.Equal(new DhcpBootFile(DhcpBootKind.Nbp, "shimx64.efi"), policy.DhcpBootFile(Mac, BootAction.Nbp, false, 9, granted));
            Assert.Equal(new DhcpBootFile(DhcpBootKind.Nbp, "undionly.kpxe"), policy.DhcpBootFile(Mac, BootAction.Nbp, false, 0, granted));
            Assert.Equal(default, policy.DhcpBootFile(Mac, BootAction.LocalDisk, false, 7, granted));
            Assert.Equal(DhcpBootKind.BootScript, policy.DhcpBootFile(Mac, BootAction.BootScript, true, 7, granted).Kind);
            Assert.Equal(new DhcpBootFile(DhcpBootKind.Nbp, "own.efi"), policy.DhcpBootFile(MachineId.Parse("52:54:00:dc:00:99"), BootAction.Nbp, false, 7, granted));
        }
        finally
        {
            Directory.Delete(config, recursive: true);
        }
    }

    [Fact]
    public void Tftp_fetches_are_classified_by_the_domain_rule()
    {
        Assert.Equal(TftpFetchKind.BootConfig, Policy.TftpFetch("grub/grub.cfg"));
        Assert.Equal(TftpFetchKind.Asset, Policy.TftpFetch("assets/lab/vmlinuz"));
        Assert.Equal(TftpFetchKind.BootProgram, Policy.TftpFetch("shimx64.efi"));
    }
}
