using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Provisioner.Cluster.Hosting;
using Provisioner.Cluster.Leases;
using Provisioner.Edge.Dhcp;
using Xunit.Abstractions;

namespace Provisioner.Edge.Tests.Dhcp;

/// <summary>
/// perfdhcp (Kea) against the server on loopback with a real single node (SQLite). perfdhcp -4 always acts as a relay
/// agent: it sends from its own port with giaddr = its address and expects replies at giaddr:port, so it runs on
/// 127.0.0.2 with the server's port, and option 118 picks the subnet. Runs only with PROVISIONER_BENCH=1 (it takes
/// ~20 s and prints figures; it asserts only that leases were granted).
/// </summary>
public sealed class DhcpPerfdhcpBenchmark(ITestOutputHelper output)
{
    private static string HoconDirectory([CallerFilePath] string source = "")
    {
        for (var dir = new DirectoryInfo(Path.GetDirectoryName(source)!); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "hocon", "defaults.conf")))
            {
                return Path.Combine(dir.FullName, "hocon");
            }
        }

        throw new DirectoryNotFoundException("hocon/ not found");
    }

    [Fact]
    public async Task Perfdhcp_dora_rate_through_the_cluster()
    {
        if (Environment.GetEnvironmentVariable("PROVISIONER_BENCH") != "1" || !File.Exists("/usr/sbin/perfdhcp"))
        {
            return;
        }

        var rate = Environment.GetEnvironmentVariable("PROVISIONER_BENCH_RATE") ?? "1000";
        var data = Path.Combine(Path.GetTempPath(), "provisioner-perfdhcp-" + Guid.NewGuid().ToString("N"));
        int port;
        using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
        {
            probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            port = ((IPEndPoint)probe.LocalEndPoint!).Port;
        }

        var config = ProvisionerConfig.Load(HoconDirectory(), "single-node", $$"""
            provisioner.persistence.data-dir = {{ProvisionerConfig.Quote(data)}}
            provisioner.node.port = 0
            provisioner.edge {
              address = "10.0.0.2"
              dhcp {
                port = {{port}}
                per-mac-rate = 100
                subnets = [ { id = bench, network = "10.20.0.0/16", pool-start = "10.20.0.10", pool-end = "10.20.255.250", lease-time = 1h } ]
              }
            }
            akka.loglevel = WARNING
            """);
        var settings = ProvisionerSettings.FromConfig(config);
        var host = new HostBuilder().ConfigureServices(s => s.AddAkka(ProvisionerAkka.ActorSystemName, (b, _) => b.AddProvisioner(settings))).Build();
        await host.StartAsync();
        try
        {
            var machines = new ClusterMachineGateway(host.Services.GetRequiredService<IRequiredActor<MachineRegion>>(), settings.AskTimeout);
            var leases = new ClusterLeaseGateway(host.Services.GetRequiredService<IRequiredActor<SubnetLeaseRegion>>(), settings.AskTimeout);
            var options = DhcpServerOptions.FromConfig(config.GetConfig("provisioner.edge"));
            var handler = new DhcpHandler(options, leases, machines, TimeProvider.System, NullLogger<DhcpHandler>.Instance);
            await using var server = new DhcpServer(options, handler, NullLogger<DhcpServer>.Instance, bindAddress: IPAddress.Loopback, maxConcurrency: 512);
            server.Start();

            var perfdhcp = Process.Start(new ProcessStartInfo("/usr/sbin/perfdhcp")
            {
                ArgumentList = { "-4", "-l", "127.0.0.2", "-L", port.ToString(), "-N", port.ToString(), "-r", rate, "-R", "20000", "-p", "15", "-o", "118,0A140000", "127.0.0.1" },
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            })!;
            var stdout = perfdhcp.StandardOutput.ReadToEndAsync();
            var stderr = perfdhcp.StandardError.ReadToEndAsync();
            await perfdhcp.WaitForExitAsync();
            output.WriteLine(await stdout);
            output.WriteLine(await stderr);
            var c = server.Counters;
            output.WriteLine($"server: received {c.Received} replied {c.Replied} silent {c.Silent} failed {c.Failed} malformed {c.Malformed} rate-limited {c.RateLimited}");
            Assert.True(c.Replied > 0);
        }
        finally
        {
            await host.StopAsync();
            host.Dispose();
            try
            {
                Directory.Delete(data, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
