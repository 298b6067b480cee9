using System.Diagnostics;
using Provisioner.Lab.Tests.Support;
using Xunit.Abstractions;

namespace Provisioner.Lab.Tests.Boot;

/// <summary>
/// A virtual machine boots for real through `provisioner serve`: qemu (TCG) on a tap device on the lab bridge,
/// taken from power-on through DHCP, (TFTP,) HTTP boot script, kernel + initrd, kickstart, phone-home, reboot,
/// and sent to its local disk on the next PXE boot.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class VirtualMachineBootTests(ITestOutputHelper output)
{
    private static readonly TimeSpan BootTimeout = TimeSpan.FromSeconds(240);

    [Fact]
    public Task Bios_vm_with_qemus_ipxe_rom_is_installed_rebooted_and_sent_to_its_local_disk() =>
        BootAsync("52:54:00:77:00:01", uefi: false, expectTftp: false);

    [Fact]
    public Task Uefi_vm_with_edk2s_own_pxe_goes_through_tftp_then_ipxe_and_is_installed() =>
        BootAsync("52:54:00:77:00:02", uefi: true, expectTftp: true);

    private async Task BootAsync(string mac, bool uefi, bool expectTftp)
    {
        await using var lab = await LabNetwork.CreateAsync(clients: 0);
        using var dir = new LabDirectory();
        await LabProfiles.WriteAsync(dir.Path, lab);
        await using var node = await ProvisionerNode.StartAsync(lab, dir.Path);

        var started = Stopwatch.StartNew();
        var vm = await StartVmAsync(lab, dir.Path, mac, uefi);
        try
        {
            var machine = await node.WaitForMachineAsync(mac, m => m.Stage.ToString() == "Rebooted", BootTimeout);
            output.WriteLine($"{(uefi ? "UEFI" : "BIOS")} power-on → Rebooted: {started.Elapsed.TotalSeconds:0.0} s");

            string[] journey = expectTftp
                ? ["Discovered", "NbpServed", "BootScriptServed", "KernelFetched", "InitrdFetched", "KickstartFetched", "Installed", "Rebooted"]
                : ["Discovered", "BootScriptServed", "KernelFetched", "InitrdFetched", "KickstartFetched", "Installed", "Rebooted"];
            Journey.AssertInOrder(machine, journey);

            Assert.Equal("via local-boot", machine.Events.Last(e => e.Type == "Rebooted").Detail);
            Assert.Equal("lab", machine.Profile);
            Assert.StartsWith($"10.77.{lab.Subnet}.", machine.Address);

            var show = await node.Cli($"machine show {mac}");
            output.WriteLine(show.Output);
            Assert.Equal(0, show.ExitCode);
            Assert.Contains("Stage        : Rebooted", show.Output);
            Assert.Contains("Reached via  : local segment", show.Output);
            foreach (var step in journey)
            {
                Assert.Contains(step, show.Output);
            }

            // A clean stop with every edge service on (the RS responder once crashed the node on shutdown).
            Assert.Equal(0, await node.StopAsync());
            Assert.DoesNotContain("Unhandled exception", node.Log, StringComparison.Ordinal);
        }
        finally
        {
            await StopVmAsync(vm, dir.Path, output);
        }
    }

    /// <summary>
    /// Powers on a qemu (TCG) VM on a tap device on the lab bridge, booting from the network: BIOS with QEMU's iPXE ROM,
    /// or UEFI with OVMF's own PXE (no option ROM). Its serial console goes to <c>serial.log</c> in <paramref name="directory"/>.
    /// With <paramref name="secureBoot"/> (UEFI only): q35 with SMM and OVMF's Secure Boot build
    /// (<see cref="SecureBootCode"/>) over a copy of the variables with Microsoft's keys enrolled (<see cref="SecureBootVars"/>),
    /// so the firmware verifies every image it starts.
    /// </summary>
    /// <param name="ns">The namespace whose bridge <c>br0</c> the VM's tap joins (default: the lab's server namespace).</param>
    /// <param name="extraArgs">More qemu arguments, e.g. <c>-fw_cfg</c> switches for OVMF.</param>
    internal static async Task<LabProcess> StartVmAsync(LabNetwork lab, string directory, string mac, bool uefi, string? ns = null, bool secureBoot = false, string extraArgs = "")
    {
        ns ??= lab.Server;
        if (secureBoot && !uefi)
        {
            throw new ArgumentException("Secure Boot needs UEFI", nameof(secureBoot));
        }

        var tap = $"t{lab.Id}";
        await lab.RunAsync(ns, $"ip tuntap add dev {tap} mode tap");
        await lab.RunAsync(ns, $"ip link set {tap} master br0 up");

        var serial = Path.Combine(directory, "serial.log");
        var sercon = Path.Combine(directory, "sercon-port");
        await File.WriteAllBytesAsync(sercon, BitConverter.GetBytes((long)0x3f8));
        string machine = "accel=tcg", firmware;
        if (secureBoot)
        {
            // The variables are written by the firmware: each VM gets its own copy of the enrolled template.
            var vars = Path.Combine(directory, "OVMF_VARS.secboot.fd");
            File.Copy(SecureBootVars, vars, overwrite: true);
            machine = "q35,smm=on,accel=tcg";
            firmware = "-global driver=cfi.pflash01,property=secure,value=on " +
                $"-drive if=pflash,format=raw,unit=0,readonly=on,file={SecureBootCode} -drive if=pflash,format=raw,unit=1,file={vars} " +
                $"-device virtio-net-pci,netdev=n0,mac={mac},romfile=";
        }
        else
        {
            firmware = uefi
                ? $"-bios /usr/share/ovmf/OVMF.fd -device virtio-net-pci,netdev=n0,mac={mac},romfile="
                : $"-device virtio-net-pci,netdev=n0,mac={mac} -fw_cfg name=etc/sercon-port,file={sercon}";
        }

        return lab.Start(ns,
            $"qemu-system-x86_64 -machine {machine} -m 768 -display none -monitor none -serial file:{serial} " +
            $"-netdev tap,id=n0,ifname={tap},script=no,downscript=no {firmware} -boot n {extraArgs}");
    }

    /// <summary>OVMF built with Secure Boot and SMM (package ovmf).</summary>
    internal const string SecureBootCode = "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd";

    /// <summary>OVMF variables with Microsoft's KEK and db enrolled and Secure Boot on: Debian's shim is signed by Microsoft's UEFI CA.</summary>
    internal const string SecureBootVars = "/usr/share/OVMF/OVMF_VARS_4M.ms.fd";

    /// <summary>Prints the end of the VM's serial console and kills it (by PID) if it still runs.</summary>
    internal static async Task StopVmAsync(LabProcess vm, string directory, ITestOutputHelper output)
    {
        var serial = Path.Combine(directory, "serial.log");
        if (File.Exists(serial))
        {
            var text = await File.ReadAllTextAsync(serial);
            output.WriteLine("--- serial (last 3000 chars) ---");
            output.WriteLine(text.Length > 3000 ? text[^3000..] : text);
        }

        if (!vm.Process.HasExited)
        {
            vm.Process.Kill(entireProcessTree: true);
        }
    }
}
