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

        // The same profile scripts/demo.sh uses (scripts/lab/config, copied to the test output).
        var config = Path.Combine(directory, "config");
        foreach (var file in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "lab", "config"), "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(config, Path.GetRelativePath(Path.Combine(AppContext.BaseDirectory, "lab", "config"), file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target, overwrite: true);
        }
    }
}
