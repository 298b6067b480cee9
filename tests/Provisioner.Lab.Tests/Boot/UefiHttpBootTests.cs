using System.Diagnostics;
using System.Globalization;
using Provisioner.Lab.Tests.Support;
using Xunit.Abstractions;

namespace Provisioner.Lab.Tests.Boot;

/// <summary>
/// UEFI HTTP Boot for real: OVMF (Debian's, 2022.11) with its PXE turned off through fw_cfg
/// (<c>opt/org.tianocore/IPv4PXESupport</c>, <c>IPv6PXESupport</c>, read by OvmfPkg's PxeBcPcdProducerLib), so its
/// only network boot options are HTTPv4/HTTPv6: firmware → NBP (ipxe.efi) over HTTP → iPXE → boot script → kernel +
/// initrd → kickstart → Installed → Rebooted, with the whole exchange captured by tcpdump in the lab namespace.
/// <para>
/// What the firmware really sends (tcpdump of this test, 2026-12-07): DHCPDISCOVER from 0.0.0.0:68 to
/// 255.255.255.255:67, broadcast flag set, no option 61, options in this order: 53, 57 (1472), 55 (27 codes, among
/// them 60, 67, 97 and 241), 97 (17 bytes: type 0 + a UUID, all zeros as qemu runs it without -uuid), 94 (UNDI 1.3.0),
/// 93 = 16 (x64 UEFI HTTP), 60 "HTTPClient:Arch:00016:UNDI:003000". It waits about 3.5 s collecting offers, then
/// REQUESTs (50 and 54 added, the rest as in the DISCOVER) only an OFFER that carries option 60 "HTTPClient".
/// Then on one TCP connection to the URL's port: <c>HEAD /nbp/ipxe.efi HTTP/1.1</c>, then <c>GET</c> of the same
/// path, each with only <c>Host: 10.77.x.1</c> (no port) and <c>User-Agent: UefiHttpBoot/1.0</c>; it reads the
/// size from the HEAD's Content-Length. No TFTP at all. After iPXE's reboot the firmware tries HTTPv4 again and
/// is offered no boot file (the machine is installed and so Rebooted), then falls through.
/// </para>
/// </para>
/// </summary>
[Collection(LabCollection.Name)]
public sealed class UefiHttpBootTests(ITestOutputHelper output)
{
    private static readonly TimeSpan BootTimeout = TimeSpan.FromSeconds(300);

    /// <summary>PXE off in OVMF: its boot manager then offers only the HTTP boot options of the NIC.</summary>
    private const string HttpBootOnly =
        "-fw_cfg name=opt/org.tianocore/IPv4PXESupport,string=n -fw_cfg name=opt/org.tianocore/IPv6PXESupport,string=n";

    [Fact]
    public async Task Uefi_vm_with_pxe_off_boots_ipxe_efi_over_http_and_is_installed_and_rebooted()
    {
        const string mac = "52:54:00:77:00:03";
        await using var lab = await LabNetwork.CreateAsync(clients: 0);
        using var dir = new LabDirectory();
        await LabProfiles.WriteAsync(dir.Path, lab);
        await using var node = await ProvisionerNode.StartAsync(lab, dir.Path);

        // -U: each packet written at once, so the capture is complete when tcpdump is interrupted.
        var pcap = Path.Combine(dir.Path, "boot.pcap");
        var capture = lab.Start(lab.Server, $"tcpdump -i br0 -n -U -s 0 -w {pcap} udp port 67 or udp port 68 or udp port 69 or tcp port 8080");
        Assert.True(await capture.WaitForOutputAsync("listening on", TimeSpan.FromSeconds(10)), capture.Output);

        var started = Stopwatch.StartNew();
        var poweredOn = DateTimeOffset.UtcNow;
        var vm = await VirtualMachineBootTests.StartVmAsync(lab, dir.Path, mac, uefi: true, extraArgs: HttpBootOnly);
        try
        {
            var machine = await node.WaitForMachineAsync(mac, m => m.Stage.ToString() == "Rebooted", BootTimeout);
            output.WriteLine($"UEFI HTTP boot power-on → Rebooted: {started.Elapsed.TotalSeconds:0.0} s");
            foreach (var e in machine.Events)
            {
                output.WriteLine($"  +{(e.At - poweredOn).TotalSeconds,5:0.0} s  {e.Type} {e.Detail}");
            }

            string[] journey = ["Discovered", "NbpServed", "BootScriptServed", "KernelFetched", "InitrdFetched", "KickstartFetched", "Installed", "Rebooted"];
            Journey.AssertInOrder(machine, journey);

            Assert.Equal("ipxe.efi", machine.Events.First(e => e.Type == "NbpServed").Detail);
            Assert.Equal("via local-boot", machine.Events.Last(e => e.Type == "Rebooted").Detail);
            Assert.Equal("lab", machine.Profile);
            Assert.StartsWith($"10.77.{lab.Subnet}.", machine.Address);
            // The NBP came over HTTP: the edge's /nbp/ route reported it, and nothing was asked of TFTP.
            Assert.Contains($"HTTP NBP ipxe.efi to {mac}", node.Log, StringComparison.Ordinal);
            Assert.Contains("UefiHttpBoot/1.0", node.Log, StringComparison.Ordinal);

            await Interrupt(capture);
            var dhcp = await lab.RunAsync(lab.Server, $"tcpdump -r {pcap} -n -vvv udp port 67 or udp port 68", TimeSpan.FromSeconds(30));
            var http = await lab.RunAsync(lab.Server, $"tcpdump -r {pcap} -n -A tcp port 8080", TimeSpan.FromSeconds(30));
            var tftp = await lab.RunAsync(lab.Server, $"tcpdump -r {pcap} -n udp port 69", TimeSpan.FromSeconds(30));
            output.WriteLine("--- firmware's DHCP (first DISCOVER and REQUEST) ---");
            output.WriteLine(FirstExchange(dhcp.Output));
            output.WriteLine("--- HTTP request lines and headers from the VM ---");
            output.WriteLine(string.Join('\n', http.Output.Split('\n').Where(l =>
                l.Contains("HTTP/1.1", StringComparison.Ordinal) || l.StartsWith("Host:", StringComparison.Ordinal)
                || l.StartsWith("User-Agent:", StringComparison.Ordinal) || l.StartsWith("Content-Length:", StringComparison.Ordinal)).Take(30)));

            // The firmware's own DHCP: HTTPClient with arch 16, and our reply carrying HTTPClient and the URL.
            Assert.Contains("\"HTTPClient:Arch:00016:UNDI:003000\"", dhcp.Output, StringComparison.Ordinal);
            Assert.Contains("Vendor-Class (60), length 10: \"HTTPClient\"", dhcp.Output, StringComparison.Ordinal);
            Assert.Contains($"http://{lab.ServerAddress}:8080/nbp/ipxe.efi", dhcp.Output, StringComparison.Ordinal);
            Assert.Contains("HEAD /nbp/ipxe.efi HTTP/1.1", http.Output, StringComparison.Ordinal);
            Assert.Contains("GET /nbp/ipxe.efi HTTP/1.1", http.Output, StringComparison.Ordinal);
            Assert.Contains("User-Agent: UefiHttpBoot/1.0", http.Output, StringComparison.Ordinal);
            Assert.Equal(string.Empty, tftp.Output.Trim());

            Assert.Equal(0, await node.StopAsync());
            Assert.DoesNotContain("Unhandled exception", node.Log, StringComparison.Ordinal);
        }
        finally
        {
            await VirtualMachineBootTests.StopVmAsync(vm, dir.Path, output);
            await Interrupt(capture);
        }
    }

    /// <summary>SIGINT, so tcpdump closes its file (the process <c>ip netns exec</c> started is tcpdump itself).</summary>
    private static async Task Interrupt(LabProcess capture)
    {
        if (capture.Process.HasExited)
        {
            return;
        }

        await LabNetwork.Exec("kill", $"-INT {capture.Process.Id.ToString(CultureInfo.InvariantCulture)}", TimeSpan.FromSeconds(5));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await capture.Process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            capture.Process.Kill();
        }
    }

    /// <summary>The decoded packets up to the firmware's first ACK (DISCOVER, OFFER, REQUEST, ACK).</summary>
    private static string FirstExchange(string decoded)
    {
        var end = decoded.IndexOf("DHCP-Message (53), length 1: ACK", StringComparison.Ordinal);
        var text = end < 0 ? decoded : decoded[..end];
        return text.Length > 6000 ? text[..6000] : text;
    }
}
