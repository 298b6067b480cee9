using Provisioner.Domain.Boot;
using Provisioner.Domain.Machines;
using Provisioner.Domain.Profiles;
using Provisioner.Protocols.Dhcp;

namespace Provisioner.Domain.Tests.Profiles;

/// <summary>The architecture table, overridden per profile (<c>boot-file.*</c>) and per machine (<c>boot-file=</c> on its rule).</summary>
public sealed class BootFileOverrideTests : IDisposable
{
    private static readonly MachineId Special = MachineId.Parse("00:0c:29:24:d9:8f");
    private static readonly MachineId Other = MachineId.Parse("52:54:00:12:34:56");

    private readonly ConfigDir dir = new();

    public void Dispose() => dir.Dispose();

    private ConfigDir WithBootFiles(string name, params string[] lines)
    {
        dir.ValidProfile(name);
        File.AppendAllLines(dir.ProfilePath(name), lines);
        return dir;
    }

    [Fact]
    public void A_profile_names_files_by_family_and_by_number_and_a_number_wins_over_its_family()
    {
        WithBootFiles("arm", "boot-file.x64-uefi = snponly.efi", "boot-file.9 = ebc.efi", "boot-file.arm64-uefi = arm64/grubaa64.efi", "boot-file.bios =").Rules("default arm");

        var profile = ProfileCatalog.Load(dir.Path).Find("arm")!;

        Assert.Equal("snponly.efi", profile.BootFiles[7]);
        Assert.Equal("ebc.efi", profile.BootFiles[9]);
        Assert.Equal("arm64/grubaa64.efi", profile.BootFiles[11]);
        Assert.True(profile.BootFiles.ContainsKey(0));
        Assert.Null(profile.BootFiles[0]);
        Assert.False(profile.BootFiles.ContainsKey(6));
    }

    [Fact]
    public void Machine_file_wins_then_the_profiles_then_the_edges()
    {
        WithBootFiles("arm", "boot-file.arm64-uefi = arm64/grubaa64.efi", "boot-file.bios =").Rules("mac 00:0c:29:24:d9:8f arm boot-file=special/ipxe.efi", "default arm");
        var catalog = ProfileCatalog.Load(dir.Path);
        var edge = BootFileTable.Default;

        string? For(MachineId mac, int architecture)
        {
            var rule = catalog.Match(mac, null)!;
            return BootRules.NbpFor(architecture, edge, catalog.Find(rule.Profile), (rule as MacRule)?.BootFile);
        }

        Assert.Equal("special/ipxe.efi", For(Special, 0));
        Assert.Equal("special/ipxe.efi", For(Special, 11));
        Assert.Equal("arm64/grubaa64.efi", For(Other, 11));
        Assert.Null(For(Other, 0)); // the profile says none for BIOS, though the edge has undionly.kpxe
        Assert.Equal("ipxe.efi", For(Other, 7)); // not in the profile: the edge's
        Assert.Equal(["arm64/grubaa64.efi", "special/ipxe.efi"], catalog.BootFiles);
        Assert.True(catalog.HasBootFileOverrides);
        Assert.Equal("mac 00:0c:29:24:d9:8f arm boot-file=special/ipxe.efi", catalog.Rules[0].Describe());
    }

    [Fact]
    public void Dhcp_boot_names_the_override_only_for_a_network_boot_program()
    {
        WithBootFiles("arm", "boot-file.x64-uefi = snponly.efi").Rules("default arm");
        var profile = ProfileCatalog.Load(dir.Path).Find("arm");

        Assert.Equal(new DhcpBootFile(DhcpBootKind.Nbp, "snponly.efi"), BootRules.DhcpBoot(BootAction.Nbp, false, 7, BootFileTable.Default, profile));
        Assert.Equal(new DhcpBootFile(DhcpBootKind.BootScript, null), BootRules.DhcpBoot(BootAction.BootScript, true, 7, BootFileTable.Default, profile, "x.efi"));
        Assert.Equal(default, BootRules.DhcpBoot(BootAction.LocalDisk, false, 7, BootFileTable.Default, profile, "x.efi"));
    }

    [Fact]
    public void Without_overrides_the_catalog_says_so_and_names_no_files()
    {
        dir.ValidProfile("plain").Rules("mac 52:54:00:12:34:56 plain", "default plain");

        var catalog = ProfileCatalog.Load(dir.Path);

        Assert.False(catalog.HasBootFileOverrides);
        Assert.Empty(catalog.BootFiles);
        Assert.Same(catalog.Rules[0], catalog.Match(Other, IPv4Address.Parse("10.0.0.5")));
    }

    [Theory]
    [InlineData("boot-file.x64 = a.efi", "'boot-file.x64': 'x64' is neither a family")]
    [InlineData("boot-file.70000 = a.efi", "'boot-file.70000': '70000' is neither a family")]
    [InlineData("boot-file.bios = ../etc/passwd", "contains an empty, '.' or '..' segment")]
    [InlineData("boot-file.bios = /abs.efi", "must be relative")]
    [InlineData("boot-file.bios = ftp://x/a.efi", "is neither an http(s) URL nor a path under the TFTP root")]
    public void A_bad_boot_file_key_or_value_is_refused_with_its_line(string line, string expected)
    {
        WithBootFiles("bad", line).Rules("default bad");

        var error = Assert.Throws<ProfileConfigException>(() => ProfileCatalog.Load(dir.Path));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.Contains("bad.profile:6", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_same_boot_file_key_twice_is_refused()
    {
        WithBootFiles("twice", "boot-file.bios = a.kpxe", "boot-file.bios = b.kpxe").Rules("default twice");

        var error = Assert.Throws<ProfileConfigException>(() => ProfileCatalog.Load(dir.Path));

        Assert.Contains("'boot-file.bios' is already set on line 6", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("mac 00:0c:29:24:d9:8f plain boot-file=", "'boot-file=': names no file")]
    [InlineData("mac 00:0c:29:24:d9:8f plain boot-file=../x.efi", "contains an empty, '.' or '..' segment")]
    [InlineData("mac 00:0c:29:24:d9:8f plain bootfile=x.efi", "expected 'mac <mac> <profile> [boot-file=<file>]'")]
    [InlineData("subnet 10.0.0.0/8 plain boot-file=x.efi", "expected 'subnet <cidr> <profile>'")]
    public void A_bad_machine_boot_file_is_refused_with_its_line(string rule, string expected)
    {
        dir.ValidProfile("plain").Rules(rule);

        var error = Assert.Throws<ProfileConfigException>(() => ProfileCatalog.Load(dir.Path));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.Contains("rules.conf:1", error.Message, StringComparison.Ordinal);
    }
}
