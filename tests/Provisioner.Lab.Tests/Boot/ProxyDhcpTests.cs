using System.Diagnostics;
using System.Text.Json;
using Provisioner.Host.Admin;
using Provisioner.Lab.Tests.Support;
using Xunit.Abstractions;

namespace Provisioner.Lab.Tests.Boot;

/// <summary>
/// proxyDHCP beside a site's own DHCP server: dnsmasq (no PXE options at all) leases every address on the segment from
/// a namespace of its own, and `provisioner serve` with <c>dhcp.mode = proxy</c> only tells the PXE firmware what to
/// boot. A qemu VM boots end to end as in <see cref="VirtualMachineBootTests"/>: BIOS with QEMU's iPXE ROM (which boots
/// the proxy OFFER's URL) and UEFI with EDK2's own PXE (which asks the boot file of the proxy's port 4011, then TFTP,
/// then iPXE). The lease must come from dnsmasq, and Provisioner must lease nothing.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class ProxyDhcpTests(ITestOutputHelper output)
{
    private static readonly TimeSpan BootTimeout = TimeSpan.FromSeconds(240);

    [Fact]
    public Task Bios_vm_with_qemus_ipxe_rom_boots_through_proxy_dhcp_beside_dnsmasq_and_is_rebooted() =>
        BootAsync("52:54:00:77:01:01", uefi: false);

    [Fact]
    public Task Uefi_vm_with_edk2s_own_pxe_asks_the_proxy_on_port_4011_and_is_rebooted() =>
        BootAsync("52:54:00:77:01:02", uefi: true);

    private async Task BootAsync(string mac, bool uefi)
    {
        await using var lab = await LabNetwork.CreateAsync(clients: 0);
        using var dir = new LabDirectory();
        await LabProfiles.WriteAsync(dir.Path, lab);

        // The site's DHCP server: dnsmasq on its own host on the segment, its range away from every other address here.
        var net = $"10.77.{lab.Subnet}";
        var siteDhcp = await lab.AddHostAsync($"{net}.2");
        var leases = Path.Combine(dir.Path, "dnsmasq.leases");
        var dnsmasq = lab.Start(siteDhcp,
            $"dnsmasq --no-daemon --conf-file=/dev/null --user=root --port=0 --interface=eth0 --bind-interfaces --no-ping " +
            $"--pid-file={Path.Combine(dir.Path, "dnsmasq.pid")} --dhcp-leasefile={leases} --log-facility=- --log-dhcp " +
            $"--dhcp-range={net}.50,{net}.90,255.255.255.0,1h --dhcp-option=option:router,{net}.1");
        Assert.True(await dnsmasq.WaitForOutputAsync("DHCP, IP range", TimeSpan.FromSeconds(10)), "dnsmasq did not start:\n" + dnsmasq.Output);

        // Provisioner on the same segment, leasing nothing: its subnet only says which network it serves.
        await using var node = await ProvisionerNode.StartAsync(lab, dir.Path, $$"""
            provisioner.edge.dhcp {
              mode = proxy
              subnets = [ { id = lab, network = "{{lab.Network}}" } ]
            }
            """);

        var started = Stopwatch.StartNew();
        var vm = await VirtualMachineBootTests.StartVmAsync(lab, dir.Path, mac, uefi);
        try
        {
            var machine = await node.WaitForMachineAsync(mac, m => m.Stage.ToString() == "Rebooted", BootTimeout);
            output.WriteLine($"{(uefi ? "UEFI" : "BIOS")} power-on → Rebooted through proxyDHCP: {started.Elapsed.TotalSeconds:0.0} s");

            // What the firmware sent, and what the proxy answered (port 67 and 4011), from the node's log.
            foreach (var line in node.Log.Split('\n').Where(l => l.Contains("proxyDHCP", StringComparison.Ordinal)))
            {
                output.WriteLine(line.Trim());
            }

            var types = machine.Events.Select(e => e.Type).ToList();
            string[] journey = uefi
                ? ["Discovered", "NbpServed", "BootScriptServed", "KernelFetched", "InitrdFetched", "KickstartFetched", "Installed", "Rebooted"]
                : ["Discovered", "BootScriptServed", "KernelFetched", "InitrdFetched", "KickstartFetched", "Installed", "Rebooted"];
            Journey.AssertInOrder(machine, journey);

            Assert.Equal("via local-boot", machine.Events.Last(e => e.Type == "Rebooted").Detail);
            Assert.Equal("lab", machine.Profile);
            Assert.Equal("proxy", machine.Path?.Via);
            Assert.Contains("via=proxy", machine.Events.First(e => e.Type == "Discovered").Detail, StringComparison.Ordinal);

            // The proxy answered this machine's DISCOVERs; EDK2 took the boot file from port 4011, iPXE from the OFFER.
            Assert.Contains($"proxyDHCP {mac} DISCOVER", node.Log, StringComparison.Ordinal);
            if (uefi)
            {
                Assert.Contains($"proxyDHCP {mac} boot-server REQUEST", node.Log, StringComparison.Ordinal);
            }
            else
            {
                Assert.DoesNotContain($"proxyDHCP {mac} boot-server REQUEST", node.Log, StringComparison.Ordinal);
            }

            // The lease came from dnsmasq: its lease file names the VM, with an address from its range.
            var leaseLine = (await File.ReadAllLinesAsync(leases)).SingleOrDefault(l => l.Contains(mac, StringComparison.OrdinalIgnoreCase));
            Assert.True(leaseLine is not null, $"dnsmasq leased nothing to {mac}:\n{await File.ReadAllTextAsync(leases)}\n{dnsmasq.Output}");
            output.WriteLine($"dnsmasq lease: {leaseLine}");
            var leased = leaseLine.Split(' ')[2];
            Assert.StartsWith($"{net}.", leased);
            var host = int.Parse(leased[(net.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture);
            Assert.InRange(host, 50, 90);

            // And Provisioner leased nothing: no lease on the machine, no subnet lease actor ever started.
            Assert.Null(machine.Address);
            Assert.DoesNotContain("LeaseRecorded", types);
            var shards = await lab.RunAsync(lab.Server, $"curl -fsS -m 5 {node.AdminUrl}/api/v1/cluster/shards", TimeSpan.FromSeconds(8));
            Assert.Equal(0, shards.ExitCode);
            var regions = JsonSerializer.Deserialize<ShardsDto>(shards.Output, AdminJson.Options)!.Regions;
            Assert.Equal(0, regions.Single(r => r.Type == "subnet").Entities);

            var dnsmasqClient = dnsmasq.Output.Split('\n').Where(l => l.Contains("vendor class", StringComparison.Ordinal) || l.Contains("user class", StringComparison.Ordinal) || l.Contains("client provides name", StringComparison.Ordinal));
            foreach (var line in dnsmasqClient.Distinct().Take(12))
            {
                output.WriteLine("dnsmasq: " + line.Trim());
            }

            Assert.Equal(0, await node.StopAsync());
            Assert.DoesNotContain("Unhandled exception", node.Log, StringComparison.Ordinal);
        }
        finally
        {
            await VirtualMachineBootTests.StopVmAsync(vm, dir.Path, output);
        }
    }
}
