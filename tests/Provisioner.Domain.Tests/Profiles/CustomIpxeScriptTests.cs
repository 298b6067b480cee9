using Provisioner.Domain.Machines;
using Provisioner.Domain.Profiles;

namespace Provisioner.Domain.Tests.Profiles;

public sealed class CustomIpxeScriptTests
{
    private static readonly MachineId Mac = MachineId.Parse("aa:bb:cc:dd:ee:ff");

    [Fact]
    public void Profile_may_name_its_own_ipxe_script_template()
    {
        using var dir = new ConfigDir().ValidProfile("c").Rules("default c")
            .Template("c.ipxe", "#!ipxe\nchain {{kernel_url}} {{kernel_args}} ks={{kickstart_url}}\n");
        File.AppendAllLines(dir.ProfilePath("c"), ["ipxe-script = c.ipxe", "kernel-args = console=ttyS0"]);

        var profile = ProfileCatalog.Load(dir.Path).Find("c")!;
        var script = profile.RenderBootScript(new BootTarget(Mac, "h", null, "http://10.0.0.1:8080", "tok"));

        Assert.Equal("#!ipxe\nchain http://10.0.0.1:8080/assets/os/vmlinuz?mac=aa:bb:cc:dd:ee:ff console=ttyS0 ks=http://10.0.0.1:8080/ks/tok\n", script);
    }

    [Fact]
    public void Absolute_kernel_and_initrd_urls_are_passed_through_without_the_mac()
    {
        using var dir = new ConfigDir().ValidProfile("c", kernel: "https://mirror.example/os/images/pxeboot/vmlinuz", initrd: "https://mirror.example/os/images/pxeboot/initrd.img").Rules("default c");

        var catalog = ProfileCatalog.Load(dir.Path);
        var script = catalog.Find("c")!.RenderBootScript(new BootTarget(Mac, "h", null, "http://10.0.0.1:8080", "tok"));

        Assert.Contains("kernel https://mirror.example/os/images/pxeboot/vmlinuz initrd=initrd.img ", script);
        Assert.Contains("initrd --name initrd.img https://mirror.example/os/images/pxeboot/initrd.img\n", script);
        Assert.False(catalog.IsBootAsset("https://mirror.example/os/images/pxeboot/vmlinuz"));
    }

    [Fact]
    public void Kernel_args_with_a_newline_cannot_reach_an_ipxe_script()
    {
        using var dir = new ConfigDir().ValidProfile("c").Rules("default c");
        var profile = ProfileCatalog.Load(dir.Path).Find("c")! with { KernelArgs = "quiet\nshell" };

        Assert.Throws<TemplateRenderException>(() => profile.RenderBootScript(new BootTarget(Mac, "h", null, "http://10.0.0.1:8080", "tok")));
    }
}
