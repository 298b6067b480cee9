using Akka.Configuration;
using Provisioner.Edge.Http;

namespace Provisioner.Edge.Tests.Http;

public sealed class BootHttpOptionsTests
{
    private static Config Edge(string address = "10.33.1.1", string listen = "http://0.0.0.0:8080") => ConfigurationFactory.ParseString($$"""
        address = "{{address}}"
        config-dir = "/etc/provisioner"
        http {
          listen = "{{listen}}"
          assets = "/var/lib/provisioner/assets"
          cache-bytes = 128M
          cache-max-file-bytes = 16M
        }
        """);

    [Fact]
    public void Binds_address_port_assets_and_config_dir()
    {
        var options = BootHttpOptions.FromConfig(Edge(), "/var/lib/provisioner");

        Assert.Equal("http://10.33.1.1:8080", options.BaseUrl);
        Assert.Equal("/var/lib/provisioner/assets", options.AssetsDirectory);
        Assert.Equal("/etc/provisioner", options.ConfigDirectory);
        Assert.Equal("/var/lib/provisioner/token.key", options.TokenKeyPath);
        Assert.Equal(128L * 1024 * 1024, options.CacheBytes);
        Assert.Equal(16L * 1024 * 1024, options.CacheMaxFileBytes);
    }

    [Fact]
    public void Shipped_defaults_bind()
    {
        var defaults = ConfigurationFactory.ParseString(File.ReadAllText(Path.Combine(RepoRoot(), "hocon", "defaults.conf")));

        var options = BootHttpOptions.FromConfig(defaults.GetConfig("provisioner.edge"), "/var/lib/provisioner");

        Assert.Equal(8080, options.Port);
        Assert.Equal(100_000, options.StateCacheMachines);
        Assert.True(options.SendFile);
    }

    [Theory]
    [InlineData("off", false)]
    [InlineData("on", true)]
    public void Sendfile_binds(string value, bool expected)
    {
        var options = BootHttpOptions.FromConfig(Edge().WithFallback(ConfigurationFactory.ParseString($"http.sendfile = {value}")), "/tmp");

        Assert.Equal(expected, options.SendFile);
    }

    [Fact]
    public void Bad_sendfile_fails_naming_the_key()
    {
        var e = Assert.Throws<ConfigurationException>(() =>
            BootHttpOptions.FromConfig(Edge().WithFallback(ConfigurationFactory.ParseString("http.sendfile = sometimes")), "/tmp"));

        Assert.StartsWith("provisioner.edge.http.sendfile:", e.Message);
    }

    [Theory]
    [InlineData("0", 0)]
    [InlineData("250", 250)]
    public void State_cache_size_binds_and_zero_turns_it_off(string value, int expected)
    {
        var options = BootHttpOptions.FromConfig(Edge().WithFallback(ConfigurationFactory.ParseString($"http.state-cache-machines = {value}")), "/tmp");

        Assert.Equal(expected, options.StateCacheMachines);
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("many")]
    public void Bad_state_cache_size_fails_naming_the_key(string value)
    {
        var e = Assert.Throws<ConfigurationException>(() =>
            BootHttpOptions.FromConfig(Edge().WithFallback(ConfigurationFactory.ParseString($"http.state-cache-machines = {value}")), "/tmp"));

        Assert.StartsWith("provisioner.edge.http.state-cache-machines:", e.Message);
    }

    [Theory]
    [InlineData("0.0.0.0", "http://0.0.0.0:8080", "provisioner.edge.address")]
    [InlineData("edge.example", "http://0.0.0.0:8080", "provisioner.edge.address")]
    [InlineData("10.33.1.1", "https://0.0.0.0:8443", "provisioner.edge.http.listen")]
    [InlineData("10.33.1.1", "0.0.0.0:8080", "provisioner.edge.http.listen")]
    public void Bad_keys_fail_naming_the_key(string address, string listen, string key)
    {
        var e = Assert.Throws<ConfigurationException>(() => BootHttpOptions.FromConfig(Edge(address, listen), "/tmp"));

        Assert.StartsWith(key + ":", e.Message);
    }

    [Fact]
    public void Token_key_is_created_once_with_mode_0600_and_read_back()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var dir = Path.Combine(Path.GetTempPath(), "prov-key-" + Guid.NewGuid().ToString("N"));
        var path = Path.Combine(dir, "token.key");
        try
        {
            var first = TokenSecret.LoadOrCreate(path);
            var second = TokenSecret.LoadOrCreate(path);

            Assert.Equal(32, first.Length);
            Assert.Equal(first, second);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));

            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
            Assert.Throws<InvalidOperationException>(() => TokenSecret.LoadOrCreate(path));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static string RepoRoot([System.Runtime.CompilerServices.CallerFilePath] string sourceFile = "")
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

        throw new InvalidOperationException("Provisioner.sln not found");
    }
}
