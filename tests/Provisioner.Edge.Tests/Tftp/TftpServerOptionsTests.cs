using System.Net;
using Akka.Configuration;
using Provisioner.Edge.Tftp;

namespace Provisioner.Edge.Tests.Tftp;

public sealed class TftpServerOptionsTests
{
    private static Config Edge(string overrides = "")
    {
        var defaults = ConfigurationFactory.ParseString(File.ReadAllText(FindDefaults()));
        var config = string.IsNullOrEmpty(overrides) ? defaults : ConfigurationFactory.ParseString(overrides).WithFallback(defaults);
        return config.GetConfig("provisioner.edge");
    }

    private static string FindDefaults()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "hocon", "defaults.conf")))
        {
            dir = dir.Parent;
        }

        return Path.Combine(dir?.FullName ?? "/work/main", "hocon", "defaults.conf");
    }

    [Fact]
    public void Shipped_defaults_bind()
    {
        var options = TftpServerOptions.FromConfig(Edge());

        Assert.False(options.Enabled);
        Assert.Equal(69, options.Port);
        Assert.Equal(IPAddress.Loopback, options.BindAddress);
        Assert.Equal(string.Empty, options.Interface);
        Assert.Equal("/var/lib/provisioner/tftp", options.Root);
        Assert.Equal(1468, options.MaxBlockSize);
        Assert.Equal(64, options.MaxWindowSize);
        Assert.Equal(TimeSpan.FromSeconds(1), options.Timeout);
        Assert.Equal(5, options.Retries);
        Assert.Equal(268435456, options.CacheBytes);
        Assert.Equal(string.Empty, options.WriteDirectory);
        Assert.Equal(2048, options.MaxTransfers);
        Assert.Equal(8, options.MaxTransfersPerClient);
        Assert.Equal(10, options.RefusalRate);
        Assert.Equal(20, options.RefusalBurst);
        Assert.Equal(4096, options.RefusalClients);
        Assert.Equal(256, options.DedicatedThreads);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1024)]
    public void Dedicated_threads_bind(int threads)
    {
        Assert.Equal(threads, TftpServerOptions.FromConfig(Edge($"provisioner.edge.tftp.dedicated-threads = {threads}")).DedicatedThreads);
    }

    [Fact]
    public void Caps_and_refusal_limits_bind()
    {
        var options = TftpServerOptions.FromConfig(Edge(
            "provisioner.edge.tftp { max-transfers = 100, max-transfers-per-client = 3, refusal-rate = 0.5, refusal-burst = 4, refusal-clients = 16 }"));

        Assert.Equal(100, options.MaxTransfers);
        Assert.Equal(3, options.MaxTransfersPerClient);
        Assert.Equal(0.5, options.RefusalRate);
        Assert.Equal(4, options.RefusalBurst);
        Assert.Equal(16, options.RefusalClients);
    }

    [Fact]
    public void Overrides_bind()
    {
        var options = TftpServerOptions.FromConfig(Edge(
            "provisioner.edge { interface = br0, address = \"10.77.1.1\", tftp { enabled = on, port = 1069, root = \"/srv/tftp\", max-block-size = 8192, max-window-size = 16, timeout = 2500ms, retries = 3, cache-bytes = 64m } }"));

        Assert.True(options.Enabled);
        Assert.Equal(IPAddress.Parse("10.77.1.1"), options.BindAddress);
        Assert.Equal("br0", options.Interface);
        Assert.Equal(1069, options.Port);
        Assert.Equal("/srv/tftp", options.Root);
        Assert.Equal(8192, options.MaxBlockSize);
        Assert.Equal(16, options.MaxWindowSize);
        Assert.Equal(TimeSpan.FromMilliseconds(2500), options.Timeout);
        Assert.Equal(3, options.Retries);
        Assert.Equal(64L * 1024 * 1024, options.CacheBytes);
    }

    [Theory]
    [InlineData("tftp.max-block-size = 7", "provisioner.edge.tftp.max-block-size")]
    [InlineData("tftp.max-block-size = 65465", "provisioner.edge.tftp.max-block-size")]
    [InlineData("tftp.max-block-size = big", "provisioner.edge.tftp.max-block-size")]
    [InlineData("tftp.max-window-size = 0", "provisioner.edge.tftp.max-window-size")]
    [InlineData("tftp.port = 70000", "provisioner.edge.tftp.port")]
    [InlineData("tftp.timeout = 0s", "provisioner.edge.tftp.timeout")]
    [InlineData("tftp.timeout = soon", "provisioner.edge.tftp.timeout")]
    [InlineData("tftp.retries = -1", "provisioner.edge.tftp.retries")]
    [InlineData("tftp.cache-bytes = lots", "provisioner.edge.tftp.cache-bytes")]
    [InlineData("tftp.root = \"\"", "provisioner.edge.tftp.root")]
    [InlineData("tftp.enabled = maybe", "provisioner.edge.tftp.enabled")]
    [InlineData("address = \"not-an-ip\"", "provisioner.edge.address")]
    [InlineData("tftp.max-transfers = 0", "provisioner.edge.tftp.max-transfers")]
    [InlineData("tftp.max-transfers = many", "provisioner.edge.tftp.max-transfers")]
    [InlineData("tftp.max-transfers-per-client = 0", "provisioner.edge.tftp.max-transfers-per-client")]
    [InlineData("tftp.max-transfers-per-client = 4096", "provisioner.edge.tftp.max-transfers-per-client")]
    [InlineData("tftp.refusal-rate = 0", "provisioner.edge.tftp.refusal-rate")]
    [InlineData("tftp.refusal-burst = 0", "provisioner.edge.tftp.refusal-burst")]
    [InlineData("tftp.refusal-clients = none", "provisioner.edge.tftp.refusal-clients")]
    [InlineData("tftp.dedicated-threads = -1", "provisioner.edge.tftp.dedicated-threads")]
    [InlineData("tftp.dedicated-threads = 1025", "provisioner.edge.tftp.dedicated-threads")]
    public void Bad_values_fail_naming_the_full_key(string setting, string key)
    {
        var e = Assert.Throws<ConfigurationException>(() => TftpServerOptions.FromConfig(Edge("provisioner.edge." + setting)));

        Assert.StartsWith(key + ":", e.Message);
    }
}
