using Provisioner.Domain.Machines;
using Provisioner.Domain.Profiles;
using Provisioner.Protocols.Dhcp;

namespace Provisioner.Domain.Tests.Profiles;

/// <summary>The example configuration in deploy/config loads and renders what the classic CentOS 7.9 setup did.</summary>
public sealed class ShippedConfigTests
{
    private static readonly MachineId Mac = MachineId.Parse("00:0c:29:24:d9:8f");

    /// <summary>
    /// The repository root: the first directory holding Provisioner.sln above the test output, or (when the build
    /// puts its output elsewhere, e.g. --artifacts-path /tmp/…) above this source file.
    /// </summary>
    internal static string RepoRoot([System.Runtime.CompilerServices.CallerFilePath] string sourceFile = "")
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Path.GetDirectoryName(sourceFile) ?? string.Empty })
        {
            for (var dir = new DirectoryInfo(start); dir is not null && start.Length > 0; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Provisioner.sln")))
                {
                    return dir.FullName;
                }
            }
        }

        throw new InvalidOperationException("Provisioner.sln not found above " + AppContext.BaseDirectory + " or " + sourceFile);
    }

    private static ProfileCatalog Shipped() => ProfileCatalog.Load(Path.Combine(RepoRoot(), "deploy", "config"));

    private static BootTarget Target => new(Mac, "web01", IPv4Address.Parse("10.33.1.150"), "http://10.33.1.1:8080", KickstartTokens.FromSecret(new byte[32]).Issue(Mac));

    [Fact]
    public void Shipped_config_loads_and_sends_every_machine_to_centos7()
    {
        var catalog = Shipped();

        var resolution = catalog.Resolve(Mac, null);

        Assert.Equal("centos7", resolution.Profile?.Name);
    }

    [Fact]
    public void Shipped_kickstart_installs_from_the_network_unattended_and_phones_home()
    {
        var profile = Shipped().Find("centos7")!;

        var ks = profile.RenderKickstart(Target);
        var lines = ks.Split('\n').Select(l => l.TrimEnd('\r')).ToArray();

        Assert.Contains("url --url=http://10.33.1.1:8080/assets/centos7.9", lines);
        Assert.Contains("text", lines);
        Assert.Contains("clearpart --all --initlabel", lines);
        Assert.Contains("reboot", lines);
        Assert.Contains("%packages", lines);
        Assert.Contains("@core", lines);
        Assert.Contains("network --hostname=web01", lines);
        Assert.Contains("timezone Asia/Shanghai --isUtc", lines);
        Assert.Contains(lines, l => l.StartsWith("rootpw --iscrypted $6$", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("logvol / --fstype=xfs", StringComparison.Ordinal));
        Assert.Contains($"curl -fsS --retry 5 --retry-delay 3 http://10.33.1.1:8080/phone-home/{Target.Token}", lines);
        Assert.Contains($"http://10.33.1.1:8080/booted/{Target.Token}", ks);
        Assert.DoesNotContain("{{", ks);
        Assert.DoesNotContain("cdrom\n", ks);
    }

    [Fact]
    public void Shipped_boot_script_is_the_classic_one_with_per_machine_urls()
    {
        var profile = Shipped().Find("centos7")!;

        var script = profile.RenderBootScript(Target);
        var lines = script.Split('\n');

        Assert.Equal("#!ipxe", lines[0]);
        Assert.Contains(
            $"kernel http://10.33.1.1:8080/assets/centos7.9/images/pxeboot/vmlinuz?mac={Mac} initrd=initrd.img ip=dhcp inst.repo=http://10.33.1.1:8080/assets/centos7.9 ks=http://10.33.1.1:8080/ks/{Target.Token}",
            lines);
        Assert.Contains($"initrd --name initrd.img http://10.33.1.1:8080/assets/centos7.9/images/pxeboot/initrd.img?mac={Mac}", lines);
        Assert.Contains("boot", lines);
    }
}
