using Provisioner.Host.Simulate;

namespace Provisioner.Host.Tests.Simulate;

public sealed class BootScriptReaderTests
{
    private static readonly Uri ScriptUrl = new("http://10.77.0.1:8080/boot/52:54:01:00:00:01.ipxe");

    [Fact]
    public void Default_install_script_gives_the_kernel_initrd_and_kickstart_urls()
    {
        // What Profile.DefaultBootScript renders.
        const string script = """
            #!ipxe
            # Provisioner: profile sim for 52:54:01:00:00:01 (node-52-54-01-00-00-01)
            kernel http://10.77.0.1:8080/assets/sim/vmlinuz?mac=52:54:01:00:00:01 initrd=initrd.img  inst.repo=http://example.invalid/os ks=http://10.77.0.1:8080/ks/abc.def
            initrd --name initrd.img http://10.77.0.1:8080/assets/sim/initrd.img?mac=52:54:01:00:00:01
            boot
            """;

        var files = BootScriptReader.Read(script, ScriptUrl, out var problem);

        Assert.Null(problem);
        Assert.Equal(new InstallFiles(
            new Uri("http://10.77.0.1:8080/assets/sim/vmlinuz?mac=52:54:01:00:00:01"),
            new Uri("http://10.77.0.1:8080/assets/sim/initrd.img?mac=52:54:01:00:00:01"),
            new Uri("http://10.77.0.1:8080/ks/abc.def")), files);
    }

    [Fact]
    public void Relative_urls_resolve_against_the_script_and_image_options_are_skipped()
    {
        const string script = "#!ipxe\r\nkernel --name k ../assets/vmlinuz inst.ks=/ks/t\r\nmodule --timeout 5000 initrd.img\nboot\n";

        var files = BootScriptReader.Read(script, ScriptUrl, out _)!;

        Assert.Equal("http://10.77.0.1:8080/assets/vmlinuz", files.Kernel.ToString());
        Assert.Equal("http://10.77.0.1:8080/boot/initrd.img", files.Initrd.ToString());
        Assert.Equal("http://10.77.0.1:8080/ks/t", files.Kickstart.ToString());
    }

    [Fact]
    public void Local_disk_script_is_no_install_and_says_what_the_edge_said_without_the_mac()
    {
        const string script = """
            #!ipxe
            # Provisioner: 52:54:01:00:00:01 is installed; booting its local disk.
            echo Provisioner: 52:54:01:00:00:01 is installed, booting the local disk
            sanboot --no-describe --drive 0x80 || exit
            """;

        Assert.Null(BootScriptReader.Read(script, ScriptUrl, out var problem));
        Assert.Equal("the boot script loads no kernel (Provisioner: <mac> is installed, booting the local disk)", problem);
    }

    [Theory]
    [InlineData("kernel http://e/k ks=http://e/ks\nboot", "the boot script does not start with #!ipxe")]
    [InlineData("#!ipxe\nkernel http://e/k ks=http://e/ks\nboot", "the boot script loads no initrd")]
    [InlineData("#!ipxe\nkernel http://e/k\ninitrd http://e/i\nboot", "the kernel line has no ks= (kickstart URL)")]
    [InlineData("#!ipxe\nkernel tftp://e/k ks=http://e/ks\ninitrd http://e/i\n", "the boot script loads no kernel")]
    public void Scripts_without_what_an_install_needs_say_what_is_missing(string script, string expected)
    {
        Assert.Null(BootScriptReader.Read(script, ScriptUrl, out var problem));
        Assert.Equal(expected, problem);
    }

    [Fact]
    public void Phone_home_is_the_first_url_with_phone_home_in_its_path()
    {
        const string kickstart = """
            url --url=http://10.77.0.1:8080/assets/os
            %post
            ExecStart=/usr/bin/curl -fsS --retry 10 http://10.77.0.1:8080/booted/tok
            curl -fsS --retry 5 --retry-delay 3 http://10.77.0.1:8080/phone-home/tok.en
            %end
            """;

        Assert.Equal(new Uri("http://10.77.0.1:8080/phone-home/tok.en"), BootScriptReader.PhoneHome(kickstart));
        Assert.Null(BootScriptReader.PhoneHome("%post\ncurl http://10.77.0.1/booted/x\n%end"));
    }
}
