using System.Diagnostics;
using Provisioner.Lab.Tests.Support;
using Xunit.Abstractions;

namespace Provisioner.Lab.Tests.Boot;

/// <summary>
/// An ARM64 UEFI machine boots for real through `provisioner serve`: qemu-system-aarch64 (TCG, QEMU's virt board) with
/// Debian's ArmVirtQemu firmware (package qemu-efi-aarch64), whose own PXE sends option 93 = 11. Its profile is on the
/// GRUB chain (<c>boot-chain = grub</c>; Debian ships no ARM64 iPXE): DHCP names Debian's network GRUB
/// (<c>grubaa64.efi</c>), GRUB reads the grub.cfg rendered for it, then Debian's arm64 kernel and a busybox initrd built
/// for arm64 come over TFTP; the initrd fetches its kickstart and phones home over HTTP, reboots, and the firmware's
/// next PXE boot is sent to its local disk. The arm64 kernel, busybox and GRUB come from scripts/lab/fetch-arm64.sh
/// (run by scripts/setup.sh).
/// </summary>
[Collection(LabCollection.Name)]
public sealed class Arm64BootTests(ITestOutputHelper output)
{
    private static readonly TimeSpan BootTimeout = TimeSpan.FromSeconds(480);

    private const string Sysroot = "/var/cache/provisioner-lab/arm64";
    private const string Grub = Sysroot + "/usr/lib/grub/arm64-efi-signed/grubnetaa64.efi.signed";
    private const string Firmware = "/usr/share/qemu-efi-aarch64/QEMU_EFI.fd";

    [Fact]
    public async Task Arm64_uefi_vm_boots_grub_and_an_arm64_kernel_over_tftp_and_is_installed_and_rebooted()
    {
        Assert.True(File.Exists(Grub) && File.Exists(Path.Combine(Sysroot, ".complete")), $"{Grub} missing: run scripts/setup.sh (scripts/lab/fetch-arm64.sh)");
        Assert.True(File.Exists(Firmware), $"{Firmware} missing: run scripts/setup.sh (package qemu-efi-aarch64)");

        const string mac = "52:54:00:77:00:a4";
        await using var lab = await LabNetwork.CreateAsync(clients: 0);
        using var dir = new LabDirectory();
        await LabProfiles.WriteAsync(dir.Path, lab);

        // The arm64 installer: the same busybox init as the lab's, from the arm64 sysroot.
        var assets = Path.Combine(dir.Path, "assets", "arm64");
        var build = await LabNetwork.Exec("bash", $"{Path.Combine(AppContext.BaseDirectory, "lab", "build-test-initrd.sh")} {assets} {Sysroot}", TimeSpan.FromSeconds(180));
        Assert.True(build.ExitCode == 0, build.Output + build.Error);

        var profiles = Path.Combine(dir.Path, "config", "profiles");
        File.Copy(Path.Combine(profiles, "lab.ks"), Path.Combine(profiles, "arm64.ks"), overwrite: true);
        var lab64 = (await File.ReadAllTextAsync(Path.Combine(profiles, "lab.profile")))
            .Replace("kernel = lab/vmlinuz", "kernel = arm64/vmlinuz", StringComparison.Ordinal)
            .Replace("initrd = lab/initrd.img", "initrd = arm64/initrd.img", StringComparison.Ordinal)
            .Replace("kernel-args = console=ttyS0 quiet panic=5", "kernel-args = console=ttyAMA0 panic=5", StringComparison.Ordinal)
            .Replace("kickstart = lab.ks", "kickstart = arm64.ks", StringComparison.Ordinal);
        Assert.Contains("arm64/vmlinuz", lab64, StringComparison.Ordinal);
        await File.WriteAllTextAsync(Path.Combine(profiles, "arm64.profile"), lab64 + "boot-chain = grub\n");
        await File.WriteAllTextAsync(Path.Combine(dir.Path, "config", "rules.conf"), $"mac {mac} arm64\ndefault lab\n");

        await using var node = await ProvisionerNode.StartAsync(lab, dir.Path, $$"""
            provisioner.edge.tftp.secure-boot {
              shim = "/opt/provisioner/secureboot/usr/lib/shim/shimx64.efi.signed"
              grub = "/opt/provisioner/secureboot/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed"
              grub-arm64 = "{{Grub}}"
            }
            """);
        Assert.True(File.Exists(Path.Combine(dir.Path, "tftp", "grubaa64.efi")), "grubaa64.efi was not staged into the TFTP root:\n" + node.Log);

        var capture = lab.Start(lab.Server, "tcpdump -i br0 -n -vvv -l -s 0 udp port 67 or udp port 68 or udp port 69");
        var started = Stopwatch.StartNew();
        var vm = await StartArm64VmAsync(lab, dir.Path, mac);
        try
        {
            var machine = await node.WaitForMachineAsync(mac, m => m.Stage.ToString() == "Rebooted", BootTimeout);
            output.WriteLine($"ARM64 UEFI power-on → Rebooted: {started.Elapsed.TotalSeconds:0.0} s");
            Journey.Print(machine, output);

            string[] journey = ["Discovered", "NbpServed", "BootConfigServed", "KernelFetched", "InitrdFetched", "KickstartFetched", "Installed", "Rebooted"];
            Journey.AssertInOrder(machine, journey);

            var discovered = machine.Events.First(e => e.Type == "Discovered").Detail;
            Assert.Contains("(11)", discovered, StringComparison.Ordinal);
            Assert.Contains("profile=arm64", discovered, StringComparison.Ordinal);
            Assert.Equal("grubaa64.efi", machine.Events.First(e => e.Type == "NbpServed").Detail);
            Assert.Equal("grub.cfg", machine.Events.First(e => e.Type == "BootConfigServed").Detail);
            Assert.Equal("arm64/vmlinuz", machine.Events.First(e => e.Type == "KernelFetched").Detail);
            Assert.Equal("arm64/initrd.img", machine.Events.First(e => e.Type == "InitrdFetched").Detail);
            Assert.Equal("via local-boot", machine.Events.Last(e => e.Type == "Rebooted").Detail);
            Assert.Equal("arm64", machine.Profile);
            Assert.Contains("PXEClient:Arch:00011", capture.Output, StringComparison.Ordinal);

            // The kernel served is an arm64 Image (magic "ARM\x64" at 0x38, Documentation/arch/arm64/booting.rst), and the
            // installer it started ran to its end on the aarch64 machine.
            var image = await File.ReadAllBytesAsync(Path.Combine(assets, "vmlinuz"));
            Assert.Equal("ARMd"u8.ToArray(), image.AsSpan(0x38, 4).ToArray());
            var serial = await File.ReadAllTextAsync(Path.Combine(dir.Path, "serial.log"));
            Assert.Contains("lab-installer: started, cmdline: BOOT_IMAGE=/assets/arm64/vmlinuz", serial, StringComparison.Ordinal);
            Assert.Contains("lab-installer: INSTALLED", serial, StringComparison.Ordinal);

            Assert.Equal(0, await node.StopAsync());
            Assert.DoesNotContain("Unhandled exception", node.Log, StringComparison.Ordinal);
        }
        finally
        {
            if (!capture.Process.HasExited)
            {
                capture.Process.Kill(entireProcessTree: true);
            }

            output.WriteLine("--- DHCP / TFTP requests seen on br0 (first 8000 chars) ---");
            output.WriteLine(capture.Output.Length > 8000 ? capture.Output[..8000] : capture.Output);
            await VirtualMachineBootTests.StopVmAsync(vm, dir.Path, output);
        }
    }

    /// <summary>Powers on a qemu-system-aarch64 (TCG) virt machine with ArmVirtQemu's own PXE on a tap on the lab bridge; serial console to <c>serial.log</c>.</summary>
    private static async Task<LabProcess> StartArm64VmAsync(LabNetwork lab, string directory, string mac)
    {
        var tap = $"t{lab.Id}";
        await lab.RunAsync(lab.Server, $"ip tuntap add dev {tap} mode tap");
        await lab.RunAsync(lab.Server, $"ip link set {tap} master br0 up");
        var serial = Path.Combine(directory, "serial.log");
        return lab.Start(lab.Server,
            $"qemu-system-aarch64 -machine virt,accel=tcg -cpu cortex-a57 -m 768 -display none -monitor none -serial file:{serial} " +
            $"-bios {Firmware} -netdev tap,id=n0,ifname={tap},script=no,downscript=no -device virtio-net-pci,netdev=n0,mac={mac},romfile=");
    }
}
