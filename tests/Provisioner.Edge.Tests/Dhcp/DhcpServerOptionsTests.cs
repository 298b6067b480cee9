using Akka.Configuration;
using Provisioner.Domain.Boot;
using Provisioner.Domain.Machines;
using Provisioner.Domain.Profiles;
using Provisioner.Edge.Dhcp;
using Provisioner.Protocols.Dhcp;

namespace Provisioner.Edge.Tests.Dhcp;

public sealed class DhcpServerOptionsTests
{
    /// <summary>The repository's hocon/defaults.conf, found from this source file (the test project does not copy hocon/).</summary>
    private static string DefaultsConf([System.Runtime.CompilerServices.CallerFilePath] string source = "")
    {
        foreach (var start in new[] { Path.GetDirectoryName(source)!, AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
                var path = Path.Combine(dir.FullName, "hocon", "defaults.conf");
                if (File.Exists(path))
                {
                    return File.ReadAllText(path);
                }
            }
        }

        throw new FileNotFoundException("hocon/defaults.conf not found above " + AppContext.BaseDirectory);
    }

    private static DhcpServerOptions Bind(string extra) =>
        DhcpServerOptions.FromConfig(ConfigurationFactory.ParseString(DefaultsConf() + "\n" + extra).GetConfig("provisioner.edge"));

    [Fact]
    public void Shipped_defaults_bind_to_a_disabled_server_with_no_subnets()
    {
        var options = Bind("");

        Assert.False(options.Enabled);
        Assert.Equal("", options.Interface);
        Assert.Equal(IPv4Address.Parse("127.0.0.1"), options.Address);
        Assert.Equal((67, 68), (options.Port, options.ClientPort));
        Assert.Equal(NonPxeClientPolicy.PlainDhcp, options.NonPxeClients);
        Assert.Equal(20, options.PerMacRate);
        Assert.True(options.FirstBootOnLease);
        Assert.Empty(options.Subnets);
        Assert.Equal(8080, options.HttpPort);
        Assert.Equal(BootFileTable.Default, options.BootFiles);
        Assert.Equal(100_000, options.RememberedLeases);
    }

    [Fact]
    public void Every_key_binds()
    {
        var options = Bind("""
            provisioner.edge {
              interface = "pxe0"
              address = "10.0.0.2"
              http.listen = "http://0.0.0.0:8081"
              dhcp {
                enabled = on
                port = 1067
                client-port = 1068
                non-pxe-clients = ignore
                per-mac-rate = 5
                first-boot-on-lease = off
                warm-up = 0
                boot-files { x86-uefi = "ipxe-i386.efi", arm64-uefi = "ipxe-arm64.efi" }
                subnets = [ { id = lab, network = "10.0.0.0/24", pool-start = "10.0.0.10", pool-end = "10.0.0.99" } ]
              }
            }
            """);

        Assert.True(options.Enabled);
        Assert.Equal("pxe0", options.Interface);
        Assert.Equal(IPv4Address.Parse("10.0.0.2"), options.Address);
        Assert.Equal((1067, 1068), (options.Port, options.ClientPort));
        Assert.Equal(NonPxeClientPolicy.Ignore, options.NonPxeClients);
        Assert.Equal(5, options.PerMacRate);
        Assert.False(options.FirstBootOnLease);
        Assert.Equal(0, options.WarmUpExchanges);
        Assert.Equal("lab", Assert.Single(options.Subnets).Id);
        Assert.Equal("http://10.0.0.2:8081/boot/aa:bb:cc:dd:ee:ff.ipxe", BootUrls.BootScript(options.EdgeBaseUrl, MachineId.Parse("aa:bb:cc:dd:ee:ff")));
        Assert.Equal(new BootFileTable("undionly.kpxe", "ipxe-i386.efi", "ipxe.efi", "ipxe-arm64.efi"), options.BootFiles);
    }

    [Fact]
    public void Boot_files_by_architecture_number_bind_and_win_over_the_named_keys()
    {
        var options = Bind("""
            provisioner.edge.dhcp.boot-files {
              bios = "undionly.kpxe"
              by-arch { 7 = "snponly.efi", 10 = "ipxe-arm32.efi", 0 = "" }
            }
            """);

        Assert.Equal(
            [(0, null), (7, "snponly.efi"), (9, "ipxe.efi"), (10, "ipxe-arm32.efi"), (11, null)],
            new[] { 0, 7, 9, 10, 11 }.Select(a => (a, options.BootFiles.For(a))));
        Assert.Equal(["snponly.efi", "ipxe.efi", "ipxe-arm32.efi"], options.BootFiles.TftpFiles);
    }

    [Theory]
    [InlineData("provisioner.edge.dhcp.boot-files.by-arch { x64 = \"ipxe.efi\" }", "provisioner.edge.dhcp.boot-files.by-arch.x64")]
    [InlineData("provisioner.edge.dhcp.boot-files.by-arch { 65536 = \"ipxe.efi\" }", "provisioner.edge.dhcp.boot-files.by-arch.65536")]
    [InlineData("provisioner.edge.dhcp.boot-files.by-arch { 7 = [ \"ipxe.efi\" ] }", "provisioner.edge.dhcp.boot-files.by-arch.7")]
    [InlineData("provisioner.edge.dhcp.boot-files.by-arch = \"ipxe.efi\"", "provisioner.edge.dhcp.boot-files.by-arch")]
    public void Bad_boot_files_by_architecture_fail_fast_naming_the_key(string hocon, string key)
    {
        var error = Assert.Throws<ConfigurationException>(() => Bind(hocon));

        Assert.StartsWith(key + ":", error.Message);
    }

    [Theory]
    [InlineData("provisioner.edge.address = \"nowhere\"", "provisioner.edge.address")]
    [InlineData("provisioner.edge.dhcp.port = 70000", "provisioner.edge.dhcp.port")]
    [InlineData("provisioner.edge.dhcp.client-port = x", "provisioner.edge.dhcp.client-port")]
    [InlineData("provisioner.edge.dhcp.non-pxe-clients = maybe", "provisioner.edge.dhcp.non-pxe-clients")]
    [InlineData("provisioner.edge.dhcp.per-mac-rate = 0", "provisioner.edge.dhcp.per-mac-rate")]
    [InlineData("provisioner.edge.dhcp.queue-capacity = 0", "provisioner.edge.dhcp.queue-capacity")]
    [InlineData("provisioner.edge.dhcp.remembered-leases = 0", "provisioner.edge.dhcp.remembered-leases")]
    [InlineData("provisioner.edge.dhcp.warm-up = -1", "provisioner.edge.dhcp.warm-up")]
    [InlineData("provisioner.edge.dhcp.max-discover-wait = 0s", "provisioner.edge.dhcp.max-discover-wait")]
    [InlineData("provisioner.edge.dhcp.max-request-wait = soon", "provisioner.edge.dhcp.max-request-wait")]
    [InlineData("provisioner.edge.http.listen = \"ftp://x\"", "provisioner.edge.http.listen")]
    [InlineData("provisioner.edge.dhcp.mode = relay", "provisioner.edge.dhcp.mode")]
    [InlineData("provisioner.edge.dhcp.proxy-port = 0", "provisioner.edge.dhcp.proxy-port")]
    [InlineData("provisioner.edge.dhcp.subnets = [ { id = a, network = \"10.0.0.0/24\" } ]", "provisioner.edge.dhcp.subnets.0.pool-start")]
    [InlineData("provisioner.edge.dhcp.subnets = [ { id = a, network = \"10.0.0.0/24\", pool-start = \"10.0.0.10\", pool-end = \"10.0.7.1\" } ]", "provisioner.edge.dhcp.subnets.0.pool-end")]
    public void Bad_values_fail_fast_naming_the_key(string hocon, string key)
    {
        var error = Assert.Throws<ConfigurationException>(() => Bind(hocon));

        Assert.StartsWith(key + ":", error.Message);
    }

    [Fact]
    public void Proxy_mode_needs_no_pool_and_turns_off_what_only_leasing_needs()
    {
        var options = Bind("""
            provisioner.edge {
              interface = "pxe0"
              address = "10.0.0.2"
              dhcp {
                enabled = on
                mode = proxy
                subnets = [ { id = site, network = "10.0.0.0/24" } ]
              }
            }
            """);

        Assert.Equal(DhcpMode.Proxy, options.Mode);
        Assert.Equal(4011, options.ProxyPort);
        var subnet = Assert.Single(options.Subnets);
        Assert.True(subnet.Contains(IPv4Address.Parse("10.0.0.57")));
        Assert.False(options.FirstBootOnLease);
        Assert.Equal(0, options.WarmUpExchanges);
    }

    [Fact]
    public void Server_mode_is_the_default()
    {
        var options = Bind("");

        Assert.Equal(DhcpMode.Server, options.Mode);
        Assert.Equal(4011, options.ProxyPort);
    }
}
