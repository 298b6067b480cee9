namespace Provisioner.Lab.Tests.Boot;

/// <summary>
/// The lab's config directory: one profile whose "installer" is the tiny busybox initrd built by
/// scripts/lab/build-test-initrd.sh (takes a lease, fetches its kickstart, phones home, reboots).
/// </summary>
public static class LabProfiles
{
    public static async Task WriteAsync(string directory, Support.LabNetwork lab)
    {
        var assets = Path.Combine(directory, "assets", "lab");
        var build = await Support.LabNetwork.Exec("bash", $"{Path.Combine(AppContext.BaseDirectory, "lab", "build-test-initrd.sh")} {assets}", TimeSpan.FromSeconds(120));
        Assert.True(build.ExitCode == 0, build.Output + build.Error);

        var config = Path.Combine(directory, "config");
        Directory.CreateDirectory(Path.Combine(config, "profiles"));
        await File.WriteAllTextAsync(Path.Combine(config, "profiles", "lab.profile"), """
            # The lab installer: Debian's kernel + a busybox initrd standing in for anaconda.
            description = lab installer (busybox)
            kernel = lab/vmlinuz
            initrd = lab/initrd.img
            kernel-args = console=ttyS0 quiet panic=5
            repo-url = http://example.invalid/centos/7.9/os/x86_64
            kickstart = lab.ks
            root-password-hash = $6$lab$C9.3HzYDgSIw0hSVe5l2vOv2RdHcwJpR8HbtGxuhcVZU3xuxDxh5TrCpZuJ.r4o4kR0FqHmZGpH3RCWSL3sGo.
            """);
        await File.WriteAllTextAsync(Path.Combine(config, "profiles", "lab.ks"), """
            # rendered for {{mac}} ({{hostname}})
            text
            url --url={{repo_url}}
            %post
            curl -fsS {{phone_home_url}}
            %end
            reboot
            """);
        await File.WriteAllTextAsync(Path.Combine(config, "rules.conf"), "default lab\n");
    }
}
