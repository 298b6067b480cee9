using Provisioner.Domain.Profiles;

namespace Provisioner.Domain.Tests.Profiles;

public sealed class ProfileCatalogLoadTests
{
    private static ProfileConfigException LoadFails(ConfigDir dir) =>
        Assert.Throws<ProfileConfigException>(() => ProfileCatalog.Load(dir.Path));

    [Fact]
    public void Valid_directory_loads_profiles_and_rules_with_defaults()
    {
        using var dir = new ConfigDir().ValidProfile("centos").Rules("# comment", "", "default centos");

        var catalog = ProfileCatalog.Load(dir.Path);

        var profile = Assert.Single(catalog.Profiles);
        Assert.Equal("centos", profile.Name);
        Assert.Equal("os/vmlinuz", profile.Kernel);
        Assert.Equal("autopart --type=lvm", profile.DiskLayout);
        Assert.Equal("Etc/UTC", profile.Timezone);
        Assert.Equal("initrd.img", profile.InitrdName);
        Assert.IsType<DefaultRule>(Assert.Single(catalog.Rules));
        Assert.True(catalog.IsBootAsset("os/vmlinuz"));
        Assert.False(catalog.IsBootAsset("os/other"));
    }

    [Fact]
    public void Unknown_key_names_file_line_and_key()
    {
        using var dir = new ConfigDir().ValidProfile("centos").Rules("default centos");
        File.AppendAllLines(dir.ProfilePath("centos"), ["kernal-args = quiet"]);

        var problem = Assert.Single(LoadFails(dir).Problems);

        Assert.Equal(dir.ProfilePath("centos"), problem.File);
        Assert.Equal(6, problem.Line);
        Assert.Contains("unknown key 'kernal-args'", problem.Reason);
    }

    [Fact]
    public void Missing_required_key_names_the_file_and_key()
    {
        using var dir = new ConfigDir().Template("c.ks", "text").Rules("default c")
            .Profile("c", "kernel = k", "initrd = i", "kickstart = c.ks", $"root-password-hash = {ConfigDir.Hash}");

        var problem = Assert.Single(LoadFails(dir).Problems);

        Assert.Equal(dir.ProfilePath("c"), problem.File);
        Assert.Contains("missing required key 'repo-url'", problem.Reason);
    }

    [Fact]
    public void Rule_naming_an_unknown_profile_names_rules_file_and_line()
    {
        using var dir = new ConfigDir().ValidProfile("centos").Rules("mac aa:bb:cc:dd:ee:ff centos", "default rocky");

        var problem = Assert.Single(LoadFails(dir).Problems);

        Assert.Equal(dir.RulesPath, problem.File);
        Assert.Equal(2, problem.Line);
        Assert.Contains("unknown profile 'rocky'", problem.Reason);
    }

    [Theory]
    [InlineData("mac aa:bb:cc:dd:ee centos", "is not a MAC address")]
    [InlineData("subnet 10.0.0.0/33 centos", "is not a CIDR network")]
    [InlineData("subnet 10.0.0.0 centos", "is not a CIDR network")]
    [InlineData("subnet 10.0.0.5/24 centos", "host bits set (did you mean 10.0.0.0/24?)")]
    [InlineData("host aa:bb:cc:dd:ee:ff centos", "unknown rule 'host'")]
    [InlineData("mac aa:bb:cc:dd:ee:ff", "expected 'mac <mac> <profile> [boot-file=<file>]'")]
    [InlineData("default centos extra", "expected 'default <profile>'")]
    public void Bad_rule_names_rules_file_line_and_reason(string rule, string reason)
    {
        using var dir = new ConfigDir().ValidProfile("centos").Rules("# rules", rule);

        var problem = Assert.Single(LoadFails(dir).Problems);

        Assert.Equal((dir.RulesPath, 2), (problem.File, problem.Line));
        Assert.Contains(reason, problem.Reason);
    }

    [Fact]
    public void Rule_after_default_is_reported_as_never_reached()
    {
        using var dir = new ConfigDir().ValidProfile("centos").Rules("default centos", "mac aa:bb:cc:dd:ee:ff centos");

        var problem = Assert.Single(LoadFails(dir).Problems);

        Assert.Equal(2, problem.Line);
        Assert.Contains("never reached", problem.Reason);
    }

    [Fact]
    public void Missing_template_file_names_profile_line_and_path()
    {
        using var dir = new ConfigDir().Rules("default c")
            .Profile("c", "kernel = k", "initrd = i", "repo-url = http://m/os", "kickstart = nope.ks", $"root-password-hash = {ConfigDir.Hash}");

        var problem = Assert.Single(LoadFails(dir).Problems);

        Assert.Equal((dir.ProfilePath("c"), 4), (problem.File, problem.Line));
        Assert.Contains("nope.ks not found", problem.Reason);
    }

    [Fact]
    public void Unknown_placeholder_names_template_file_and_its_line()
    {
        using var dir = new ConfigDir().ValidProfile("c").Rules("default c")
            .Template("c.ks", "text\nurl --url={{repo_url}}\nnetwork --hostname={{host_name}}\n");

        var problem = Assert.Single(LoadFails(dir).Problems);

        Assert.EndsWith("c.ks", problem.File);
        Assert.Equal(3, problem.Line);
        Assert.Contains("unknown placeholder '{{host_name}}'", problem.Reason);
    }

    [Fact]
    public void Unclosed_placeholder_is_a_load_error()
    {
        using var dir = new ConfigDir().ValidProfile("c").Rules("default c").Template("c.ks", "url --url={{repo_url\n");

        var problem = Assert.Single(LoadFails(dir).Problems);

        Assert.Equal(1, problem.Line);
        Assert.Contains("not closed", problem.Reason);
    }

    [Theory]
    [InlineData("root-password-hash", "root-password-hash = secret", "plain passwords are refused")]
    [InlineData("kernel", "kernel = /srv/boot/vmlinuz", "must be relative")]
    [InlineData("kernel", "kernel = os/../../etc/passwd", "'..' segment")]
    [InlineData("kernel", "kernel = ftp://host/vmlinuz", "neither an http(s) URL")]
    [InlineData(null, "disk-layout = raid-ish", "unknown layout 'raid-ish'")]
    [InlineData(null, "disk-layout = mkfs.xfs /dev/sda", "not a kickstart partitioning command")]
    [InlineData(null, "timezone = Asia/Shang hai", "not a time zone name")]
    [InlineData(null, "kernel = k2", "'kernel' is already set on line 1")]
    [InlineData(null, "no equals sign here", "expected 'key = value'")]
    public void Bad_value_names_profile_file_line_and_reason(string? replacedKey, string line, string reason)
    {
        using var dir = new ConfigDir().Template("c.ks", "text").Rules("default c");
        var lines = new List<string> { "kernel = k", "initrd = i", "repo-url = http://m/os", "kickstart = c.ks", $"root-password-hash = {ConfigDir.Hash}" };
        lines.RemoveAll(l => replacedKey is not null && l.StartsWith(replacedKey + " ", StringComparison.Ordinal));
        lines.Add(line);
        dir.Profile("c", [.. lines]);

        var problem = Assert.Single(LoadFails(dir).Problems);

        Assert.Equal((dir.ProfilePath("c"), lines.Count), (problem.File, problem.Line));
        Assert.Contains(reason, problem.Reason);
    }

    [Fact]
    public void Every_problem_is_listed_not_just_the_first()
    {
        using var dir = new ConfigDir().ValidProfile("a").Rules("mac zz a", "subnet 1.2.3.4/40 a", "default missing");
        File.AppendAllLines(dir.ProfilePath("a"), ["colour = blue"]);

        var e = LoadFails(dir);

        Assert.Equal(4, e.Problems.Count);
        Assert.All(e.Problems, p => Assert.Contains(p.ToString(), e.Message));
        Assert.Contains(e.Problems, p => p.File == dir.ProfilePath("a") && p.Line == 6);
        Assert.Contains(e.Problems, p => p.File == dir.RulesPath && p.Line == 1);
        Assert.Contains(e.Problems, p => p.File == dir.RulesPath && p.Line == 2);
        Assert.Contains(e.Problems, p => p.File == dir.RulesPath && p.Line == 3);
    }

    [Fact]
    public void Missing_rules_file_and_profiles_directory_are_reported()
    {
        var path = Path.Combine(Path.GetTempPath(), "prov-empty-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        try
        {
            var e = Assert.Throws<ProfileConfigException>(() => ProfileCatalog.Load(path));

            Assert.Contains(e.Problems, p => p.File.EndsWith("profiles", StringComparison.Ordinal) && p.Reason.Contains("not found"));
            Assert.Contains(e.Problems, p => p.File.EndsWith("rules.conf", StringComparison.Ordinal) && p.Reason.Contains("not found"));
        }
        finally
        {
            Directory.Delete(path, true);
        }
    }

    [Fact]
    public void Repeated_disk_layout_lines_become_the_layout_in_order()
    {
        using var dir = new ConfigDir().ValidProfile("c").Rules("default c");
        File.AppendAllLines(dir.ProfilePath("c"), ["disk-layout = part /boot --fstype=xfs --size=1024", "disk-layout = part / --fstype=xfs --size=1 --grow"]);

        var profile = ProfileCatalog.Load(dir.Path).Profiles[0];

        Assert.Equal("part /boot --fstype=xfs --size=1024\npart / --fstype=xfs --size=1 --grow", profile.DiskLayout);
    }
}
