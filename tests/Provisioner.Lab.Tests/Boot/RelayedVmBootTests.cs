using System.Diagnostics;
using System.Globalization;
using Provisioner.Domain.Machines;
using Provisioner.Lab.Tests.Support;
using Xunit.Abstractions;

namespace Provisioner.Lab.Tests.Boot;

/// <summary>
/// A virtual machine on a segment that Provisioner does not sit on boots for real through a router running ISC
/// <c>dhcrelay</c>:
/// <code>
///   server ns: br0 10.77.N.1 ── provisioner serve (subnets "lab" 10.77.N.0/24 and "far" 10.77.N → 10.78.N.0/24)
///                │
///   router ns:  eth0 10.77.N.254   dhcrelay -iu eth0 -id down0 -a   (ip_forward on)
///               down0 10.78.N.1
///                │
///   segment ns: up0 ─ br0 ─ tap ── qemu VM (no address of its own until DHCP)
/// </code>
/// The relay forwards the VM's broadcasts with giaddr 10.78.N.1 and option 82; the server answers the far subnet's
/// pool to the relay's port 67, and the VM fetches its script, kernel, initrd and kickstart across the router.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class RelayedVmBootTests(ITestOutputHelper output)
{
    private static readonly TimeSpan BootTimeout = TimeSpan.FromSeconds(240);

    [Fact]
    public Task Bios_vm_behind_a_dhcrelay_router_gets_a_far_pool_address_installs_and_records_the_relay() =>
        BootAsync("52:54:00:78:00:01", uefi: false, expectTftp: false, firmware: BootPath.Ipxe, firmwareText: "iPXE BIOS (arch 0)");

    [Fact]
    public Task Uefi_vm_behind_a_dhcrelay_router_fetches_its_nbp_over_tftp_across_the_router_and_installs() =>
        // The Discovered is EDK2's own PXE (option 60 PXEClient, 93 = 7): the ipxe.efi it chains to DHCPs again, which
        // continues the same attempt and records nothing new.
        BootAsync("52:54:00:78:00:02", uefi: true, expectTftp: true, firmware: BootPath.Pxe, firmwareText: "PXE x64 UEFI (arch 7)");

    private async Task BootAsync(string mac, bool uefi, bool expectTftp, string firmware, string firmwareText)
    {
        await using var lab = await LabNetwork.CreateAsync(clients: 0);
        var n = lab.Subnet;
        var routerUp = $"10.77.{n}.254";
        var relay = $"10.78.{n}.1";
        var router = await lab.AddHostAsync(routerUp);
        var segment = await lab.AddRoutedSegmentAsync(router, "down0", relay);
        await Must(lab, router, "sysctl -qw net.ipv4.ip_forward=1");
        await Must(lab, lab.Server, $"ip route add 10.78.{n}.0/24 via {routerUp}");

        using var dir = new LabDirectory();
        await LabProfiles.WriteAsync(dir.Path, lab);
        var far = string.Create(CultureInfo.InvariantCulture, $$"""
            {
              id = far
              network = "10.78.{{n}}.0/24"
              pool-start = "10.78.{{n}}.100"
              pool-end = "10.78.{{n}}.199"
              router = "{{relay}}"
              dns = ["{{lab.ServerAddress}}"]
              lease-time = 1h
            }
            """);
        await using var node = await ProvisionerNode.StartAsync(lab, dir.Path, extraSubnets: far);

        // The relay in the foreground, by PID (killed with the lab): -a adds option 82 and drops replies whose 82 is not its own.
        var relayAgent = lab.Start(router, $"dhcrelay -4 -d --no-pid -a -iu eth0 -id down0 {lab.ServerAddress}");
        Assert.True(await relayAgent.WaitForOutputAsync("Sending on", TimeSpan.FromSeconds(10)), "dhcrelay did not start:\n" + relayAgent.Output);
        // What the firmware and the installer send, as the relay hands it upstream (for the record; bounded by count and time).
        var capture = Path.Combine(dir.Path, "relay.pcap");
        var tcpdump = lab.Start(router, $"timeout {BootTimeout.TotalSeconds:0} tcpdump -i eth0 -n -s 0 -c 40 -U -w {capture} udp port 67");

        var started = Stopwatch.StartNew();
        var vm = await VirtualMachineBootTests.StartVmAsync(lab, dir.Path, mac, uefi, segment);
        try
        {
            var machine = await node.WaitForMachineAsync(mac, m => m.Stage.ToString() == "Rebooted", BootTimeout);
            output.WriteLine($"{(uefi ? "UEFI" : "BIOS")} behind dhcrelay, power-on → Rebooted: {started.Elapsed.TotalSeconds:0.0} s");

            string[] journey = expectTftp
                ? ["Discovered", "NbpServed", "BootScriptServed", "KernelFetched", "InitrdFetched", "KickstartFetched", "Installed", "Rebooted"]
                : ["Discovered", "BootScriptServed", "KernelFetched", "InitrdFetched", "KickstartFetched", "Installed", "Rebooted"];
            Journey.AssertInOrder(machine, journey);

            Assert.Equal("via local-boot", machine.Events.Last(e => e.Type == "Rebooted").Detail);
            // An address of the far segment's pool, leased by the far subnet.
            Assert.Equal("far", machine.Subnet);
            Assert.StartsWith($"10.78.{n}.", machine.Address);
            var host = int.Parse(machine.Address!.Split('.')[3], CultureInfo.InvariantCulture);
            Assert.InRange(host, 100, 199);
            // What the machine recorded about its path: the relay's giaddr, and the firmware that asked last.
            Assert.Equal(new BootPath(BootPath.Relayed, relay, firmware), machine.Path);
            Assert.Equal(firmwareText, machine.Firmware);

            var show = await node.Cli($"machine show {mac}");
            output.WriteLine(show.Output);
            Assert.Equal(0, show.ExitCode);
            Assert.Contains("Stage        : Rebooted", show.Output);
            Assert.Contains($"Reached via  : relay {relay}", show.Output);
            Assert.Contains($"Firmware     : {firmwareText}", show.Output);

            // The relay did forward both ways (its own log, not ours).
            Assert.Contains($"Forwarded BOOTREQUEST for {mac} to {lab.ServerAddress}", relayAgent.Output);
            Assert.Contains($"Forwarded BOOTREPLY for {mac} to", relayAgent.Output);

            Assert.Equal(0, await node.StopAsync());
            Assert.DoesNotContain("Unhandled exception", node.Log, StringComparison.Ordinal);
        }
        finally
        {
            await VirtualMachineBootTests.StopVmAsync(vm, dir.Path, output);
            if (!tcpdump.Process.HasExited)
            {
                tcpdump.Process.Kill(entireProcessTree: true);
                await tcpdump.Process.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(10)).Token);
            }

            if (File.Exists(capture))
            {
                var decoded = await LabNetwork.Exec("tcpdump", $"-r {capture} -n -vv", TimeSpan.FromSeconds(20));
                output.WriteLine("--- DHCP as the relay forwarded it (router eth0) ---");
                output.WriteLine(decoded.Output.Length > 12000 ? decoded.Output[..12000] : decoded.Output);
            }

            output.WriteLine("--- dhcrelay ---");
            output.WriteLine(relayAgent.Output);
        }
    }

    private static async Task Must(LabNetwork lab, string ns, string command)
    {
        var result = await lab.RunAsync(ns, command, TimeSpan.FromSeconds(20));
        Assert.True(result.ExitCode == 0, $"{command} in {ns}: {result.Output}{result.Error}");
    }
}
