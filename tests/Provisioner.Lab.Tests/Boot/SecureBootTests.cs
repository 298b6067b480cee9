using System.Buffers.Binary;
using System.Diagnostics;
using Provisioner.Lab.Tests.Support;
using Xunit.Abstractions;

namespace Provisioner.Lab.Tests.Boot;

/// <summary>
/// A Secure Boot machine boots the signed chain through `provisioner serve`: OVMF with Secure Boot on and Microsoft's
/// keys enrolled (it refuses the unsigned ipxe.efi) loads Debian's signed shim, shim the signed network GRUB, GRUB its
/// grub.cfg rendered for it, then Debian's signed kernel and the lab's busybox initrd, all over TFTP; the initrd fetches
/// its kickstart and phones home over HTTP, reboots, and is sent to its local disk.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class SecureBootTests(ITestOutputHelper output)
{
    private static readonly TimeSpan BootTimeout = TimeSpan.FromSeconds(300);

    /// <summary>Where scripts/setup.sh unpacks shim-signed and grub-efi-amd64-signed (not installed: see setup.sh).</summary>
    private const string SignedBinaries = "/opt/provisioner/secureboot";
    private const string Shim = SignedBinaries + "/usr/lib/shim/shimx64.efi.signed";
    private const string Grub = SignedBinaries + "/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed";

    [Fact]
    public async Task Secure_boot_vm_boots_shim_grub_and_the_signed_kernel_over_tftp_and_is_installed_and_rebooted()
    {
        Assert.True(File.Exists(Shim) && File.Exists(Grub), $"{Shim} or {Grub} missing: run scripts/setup.sh");
        Assert.True(File.Exists(VirtualMachineBootTests.SecureBootCode) && File.Exists(VirtualMachineBootTests.SecureBootVars), "OVMF's Secure Boot build missing: run scripts/setup.sh (package ovmf)");

        const string mac = "52:54:00:77:00:5b";
        await using var lab = await LabNetwork.CreateAsync(clients: 0);
        using var dir = new LabDirectory();
        await LabProfiles.WriteAsync(dir.Path, lab);

        // The firmware runs only signed images: the lab's kernel must be Debian's signed one.
        var kernel = Path.Combine(dir.Path, "assets", "lab", "vmlinuz");
        Assert.True(HasAuthenticodeSignature(kernel), $"{kernel} carries no Authenticode signature (build-test-initrd.sh must copy Debian's signed /boot/vmlinuz-*)");

        // The lab profile on the shim chain, without "quiet" so the kernel says whether Secure Boot is on.
        var profile = Path.Combine(dir.Path, "config", "profiles", "lab.profile");
        var text = await File.ReadAllTextAsync(profile);
        text = text.Replace("kernel-args = console=ttyS0 quiet panic=5", "kernel-args = console=ttyS0 panic=5", StringComparison.Ordinal);
        await File.WriteAllTextAsync(profile, text + "boot-chain = shim\n");

        await using var node = await ProvisionerNode.StartAsync(lab, dir.Path, $$"""
            provisioner.edge.tftp.secure-boot { shim = "{{Shim}}", grub = "{{Grub}}" }
            """);
        Assert.True(File.Exists(Path.Combine(dir.Path, "tftp", "shimx64.efi")), "shimx64.efi was not staged into the TFTP root:\n" + node.Log);
        Assert.True(File.Exists(Path.Combine(dir.Path, "tftp", "grubx64.efi")), "grubx64.efi was not staged into the TFTP root:\n" + node.Log);

        // What the firmware and GRUB send: DHCP options and TFTP read requests.
        var capture = lab.Start(lab.Server, "tcpdump -i br0 -n -vvv -l -s 0 udp port 67 or udp port 68 or udp port 69");
        var started = Stopwatch.StartNew();
        var vm = await VirtualMachineBootTests.StartVmAsync(lab, dir.Path, mac, uefi: true, secureBoot: true);
        try
        {
            var machine = await node.WaitForMachineAsync(mac, m => m.Stage.ToString() == "Rebooted", BootTimeout);
            output.WriteLine($"Secure Boot UEFI power-on → Rebooted: {started.Elapsed.TotalSeconds:0.0} s");
            Journey.Print(machine, output);

            var types = machine.Events.Select(e => e.Type).ToList();
            string[] journey = ["Discovered", "NbpServed", "BootConfigServed", "KernelFetched", "InitrdFetched", "KickstartFetched", "Installed", "Rebooted"];
            Journey.AssertInOrder(machine, journey);

            Assert.DoesNotContain("BootScriptServed", types);
            Assert.Contains("arch=efi-x64 (7) firmware=pxe profile=lab", machine.Events.First(e => e.Type == "Discovered").Detail, StringComparison.Ordinal);
            Assert.Equal("shimx64.efi", machine.Events.First(e => e.Type == "NbpServed").Detail);
            Assert.Equal("grub.cfg", machine.Events.First(e => e.Type == "BootConfigServed").Detail);
            Assert.Equal("lab/vmlinuz", machine.Events.First(e => e.Type == "KernelFetched").Detail);
            Assert.Equal("lab/initrd.img", machine.Events.First(e => e.Type == "InitrdFetched").Detail);
            Assert.Equal("via local-boot", machine.Events.Last(e => e.Type == "Rebooted").Detail);
            Assert.Equal("lab", machine.Profile);

            // Shim loaded GRUB from beside itself, GRUB read its config, and no iPXE was ever offered.
            Assert.Contains("grubx64.efi", node.Log, StringComparison.Ordinal);
            Assert.Contains($"machine {mac} (NbpServed): grub.cfg rendered over TFTP: install, profile lab", node.Log, StringComparison.Ordinal);
            Assert.DoesNotContain("ipxe.efi", capture.Output, StringComparison.Ordinal);

            // The kernel ran under Secure Boot (it reads the firmware's SecureBoot variable at start).
            var serial = await File.ReadAllTextAsync(Path.Combine(dir.Path, "serial.log"));
            Assert.Contains("Secure boot enabled", serial, StringComparison.Ordinal);

            var show = await node.Cli($"machine show {mac}");
            output.WriteLine(show.Output);
            Assert.Equal(0, show.ExitCode);
            Assert.Contains("Stage        : Rebooted", show.Output, StringComparison.Ordinal);
            Assert.Contains("BootConfigServed", show.Output, StringComparison.Ordinal);

            Assert.Equal(0, await node.StopAsync());
            Assert.DoesNotContain("Unhandled exception", node.Log, StringComparison.Ordinal);
        }
        finally
        {
            if (!capture.Process.HasExited)
            {
                capture.Process.Kill(entireProcessTree: true);
            }

            output.WriteLine("--- DHCP / TFTP requests seen on br0 ---");
            output.WriteLine(capture.Output.Length > 12000 ? capture.Output[..12000] : capture.Output);
            output.WriteLine("--- node log (TFTP, grub, DHCP lines) ---");
            foreach (var line in node.Log.Split('\n').Where(l => l.Contains("tftp", StringComparison.OrdinalIgnoreCase) || l.Contains("grub", StringComparison.Ordinal) || l.Contains("DHCP", StringComparison.Ordinal)).Take(80))
            {
                output.WriteLine(line);
            }

            await VirtualMachineBootTests.StopVmAsync(vm, dir.Path, output);
        }
    }

    /// <summary>
    /// True when the PE image carries an Authenticode signature: a non-empty certificate table (data directory 4 of the
    /// PE32+ optional header, PE/COFF specification §3.4.3), which is where sbsign puts it.
    /// </summary>
    private static bool HasAuthenticodeSignature(string path)
    {
        var image = File.ReadAllBytes(path);
        var pe = BinaryPrimitives.ReadInt32LittleEndian(image.AsSpan(0x3c));
        if (pe <= 0 || pe + 24 + 152 > image.Length || BinaryPrimitives.ReadUInt32LittleEndian(image.AsSpan(pe)) != 0x00004550)
        {
            return false;
        }

        var optional = pe + 24;
        const ushort Pe32Plus = 0x20b;
        if (BinaryPrimitives.ReadUInt16LittleEndian(image.AsSpan(optional)) != Pe32Plus)
        {
            return false;
        }

        var certificateTable = optional + 112 + (4 * 8);
        return BinaryPrimitives.ReadUInt32LittleEndian(image.AsSpan(certificateTable + 4)) > 0;
    }
}
