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
}
