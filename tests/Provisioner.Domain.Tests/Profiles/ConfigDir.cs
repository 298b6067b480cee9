namespace Provisioner.Domain.Tests.Profiles;

/// <summary>A throw-away config directory: rules.conf, profiles/*.profile and templates written by the test.</summary>
internal sealed class ConfigDir : IDisposable
{
    public const string Hash = "$6$salt$Gbr6Ap7Sp7mCq9kv9VnVVU3dExfYc1JrZ1rEnCrGkhkR5xbSYDmb3Dje4ROFQ6O9MDw0A6s4vhWQmh2Y5X0vS.";

    public const string Kickstart = """
        url --url={{repo_url}}
        network --hostname={{hostname}}
        rootpw --iscrypted {{root_password_hash}}
        %post
        curl -fsS {{phone_home_url}}
        %end
        """;

    public ConfigDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "prov-config-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(System.IO.Path.Combine(Path, "profiles"));
    }

    public string Path { get; }

    public string ProfilePath(string name) => System.IO.Path.Combine(Path, "profiles", name + ".profile");

    public string RulesPath => System.IO.Path.Combine(Path, "rules.conf");

    public ConfigDir Rules(params string[] lines)
    {
        File.WriteAllLines(RulesPath, lines);
        return this;
    }

    public ConfigDir Profile(string name, params string[] lines)
    {
        File.WriteAllLines(ProfilePath(name), lines);
        return this;
    }

    public ConfigDir Template(string file, string text)
    {
        File.WriteAllText(System.IO.Path.Combine(Path, "profiles", file), text);
        return this;
    }

    /// <summary>A complete, valid profile (with its kickstart template <c>&lt;name&gt;.ks</c>).</summary>
    public ConfigDir ValidProfile(string name, string kernel = "os/vmlinuz", string initrd = "os/initrd.img") =>
        Template(name + ".ks", Kickstart).Profile(
            name,
            $"kernel = {kernel}",
            $"initrd = {initrd}",
            "repo-url = http://mirror.example/os",
            $"kickstart = {name}.ks",
            $"root-password-hash = {Hash}");

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
