using System.Diagnostics;
using Provisioner.Domain.Machines;
using static Provisioner.Domain.Machines.MachineCommands;

namespace Provisioner.Edge.Tests.Http;

/// <summary>The endpoints as a real client sees them: curl (installed by scripts/setup.sh), as %post and iPXE-like fetchers use it.</summary>
public sealed class CurlPeerTests
{
    private static readonly MachineId Mac = MachineId.Parse("aa:bb:cc:dd:ee:ff");

    private static async Task<(int Exit, byte[] Output)> CurlAsync(params string[] args)
    {
        var start = new ProcessStartInfo("curl") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        using var output = new MemoryStream();
        var copy = process.StandardOutput.BaseStream.CopyToAsync(output);
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
        await copy;
        await error;
        return (process.ExitCode, output.ToArray());
    }

    [Fact]
    public async Task Curl_range_download_gets_exactly_the_requested_bytes()
    {
        await using var http = await BootHttpFixture.StartAsync();

        var (exit, bytes) = await CurlAsync("-fsS", "-r", "100-199", $"{http.BaseUrl}/assets/os/vmlinuz");

        Assert.Equal(0, exit);
        Assert.Equal(http.Kernel[100..200], bytes);
    }

    [Fact]
    public async Task Curl_resumes_a_partial_download()
    {
        await using var http = await BootHttpFixture.StartAsync();
        var file = Path.Combine(http.Root, "partial");
        await File.WriteAllBytesAsync(file, http.Kernel[..400]);

        var (exit, _) = await CurlAsync("-fsS", "-C", "-", "-o", file, $"{http.BaseUrl}/assets/os/vmlinuz");

        Assert.Equal(0, exit);
        Assert.Equal(http.Kernel, await File.ReadAllBytesAsync(file));
    }

    [Fact]
    public async Task Percent_post_phone_home_with_curl_fail_flag_succeeds_and_a_wrong_token_fails_it()
    {
        await using var http = await BootHttpFixture.StartAsync();

        var (ok, body) = await CurlAsync("-fsS", $"{http.BaseUrl}/phone-home/{http.Tokens.Issue(Mac)}");
        var (bad, _) = await CurlAsync("-fsS", $"{http.BaseUrl}/phone-home/aaaaaaaaaaaaaaaaaaaaaaaaaa");

        Assert.Equal(0, ok);
        Assert.Equal("aa:bb:cc:dd:ee:ff installed\n", System.Text.Encoding.UTF8.GetString(body));
        Assert.Equal(22, bad);
        Assert.Single(http.Gateway.Sent<ReportInstalled>(Mac));
    }
}
