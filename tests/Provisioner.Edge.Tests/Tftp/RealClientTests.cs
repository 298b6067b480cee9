using System.Diagnostics;
using System.Security.Cryptography;
using Xunit.Abstractions;

namespace Provisioner.Edge.Tests.Tftp;

/// <summary>
/// One server on 127.0.0.1 (never another address) over a root holding a 70 KB and a 30 MB random file,
/// shared by the real-client tests.
/// </summary>
public sealed class RealClientFixture : IAsyncLifetime
{
    public const int SmallLength = 70 * 1024;
    public const int BigLength = 30 * 1024 * 1024;

    public ServerScope Scope { get; private set; } = null!;

    public Dictionary<string, string> Sha256 { get; } = [];

    public async Task InitializeAsync()
    {
        Scope = await ServerScope.StartAsync(o => o with { Timeout = TimeSpan.FromSeconds(1), MaxWindowSize = 64 });
        foreach (var (name, length, seed) in new[] { ("small.bin", SmallLength, 70), ("big.bin", BigLength, 30) })
        {
            var content = ServerScope.RandomBytes(length, seed);
            Scope.Write(name, content);
            Sha256[name] = Convert.ToHexString(SHA256.HashData(content));
        }
    }

    public async Task DisposeAsync() => await Scope.DisposeAsync();
}

/// <summary>
/// tftp-hpa, atftp and curl against the server over loopback. A missing client fails the test: these are
/// installed by scripts/setup.sh and CI must notice when they are not.
/// </summary>
public sealed class RealClientTests(RealClientFixture fixture, ITestOutputHelper output) : IClassFixture<RealClientFixture>, IDisposable
{
    private static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(90);

    private readonly string _work = Directory.CreateTempSubdirectory("tftp-real-").FullName;

    private int Port => fixture.Scope.EndPoint.Port;

    public void Dispose() => Directory.Delete(_work, recursive: true);

    [Theory]
    [InlineData("small.bin")]
    [InlineData("big.bin")]
    public async Task Tftp_hpa_downloads_byte_identical(string file)
    {
        var dest = Path.Combine(_work, file);
        var run = await RunAsync("tftp", "127.0.0.1", Port.ToString(), "-m", "binary", "-c", "get", file, dest);

        Assert.DoesNotContain("Error", run.Output);
        await AssertDownloadedAsync(file, dest);
    }

    [Theory]
    [InlineData("small.bin", new string[0])]
    [InlineData("big.bin", new string[0])]
    [InlineData("small.bin", new[] { "blksize 1468", "windowsize 8", "tsize 0" })]
    [InlineData("big.bin", new[] { "blksize 1468", "windowsize 8", "tsize 0" })]
    [InlineData("big.bin", new[] { "blksize 1468", "windowsize 32" })]
    [InlineData("big.bin", new[] { "blksize 512", "windowsize 4", "timeout 2" })]
    public async Task Atftp_downloads_byte_identical(string file, string[] options)
    {
        var dest = Path.Combine(_work, file);
        var args = options.SelectMany(o => new[] { "--option", o }).Concat(["-g", "-r", file, "-l", dest, "127.0.0.1", Port.ToString()]).ToArray();
        var run = await RunAsync("atftp", args);

        Assert.Equal(0, run.ExitCode);
        await AssertDownloadedAsync(file, dest);
    }

    [Theory]
    [InlineData("small.bin", null)]
    [InlineData("big.bin", null)]
    [InlineData("small.bin", 1468)]
    [InlineData("big.bin", 1468)]
    public async Task Curl_downloads_byte_identical(string file, int? blockSize)
    {
        var dest = Path.Combine(_work, file);
        string[] args = blockSize is { } b
            ? ["-sS", $"tftp://127.0.0.1:{Port}/{file}", "--tftp-blksize", b.ToString(), "-o", dest]
            : ["-sS", $"tftp://127.0.0.1:{Port}/{file}", "-o", dest];
        var run = await RunAsync("curl", args);

        Assert.Equal(0, run.ExitCode);
        await AssertDownloadedAsync(file, dest);
    }

    [Fact]
    public async Task Tftp_hpa_path_escape_is_refused()
    {
        var dest = Path.Combine(_work, "passwd");
        var run = await RunAsync("tftp", "127.0.0.1", Port.ToString(), "-m", "binary", "-c", "get", "../../../../etc/passwd", dest);

        Assert.Contains("Error code 2", run.Output); // tftp-hpa exits 0 even on an ERROR; it prints it
        Assert.True(!File.Exists(dest) || new FileInfo(dest).Length == 0);
    }

    [Fact]
    public async Task Atftp_path_escape_is_refused()
    {
        var dest = Path.Combine(_work, "passwd");
        var run = await RunAsync("atftp", "-g", "-r", "a/../../etc/passwd", "-l", dest, "127.0.0.1", Port.ToString());

        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("Access violation", run.Output);
        Assert.True(!File.Exists(dest) || new FileInfo(dest).Length == 0);
    }

    [Fact]
    public async Task Curl_path_escape_is_refused()
    {
        var dest = Path.Combine(_work, "passwd");
        var run = await RunAsync("curl", "-sS", "--path-as-is", $"tftp://127.0.0.1:{Port}/../../etc/passwd", "-o", dest);

        Assert.Equal(69, run.ExitCode); // CURLE_TFTP_PERM: the server answered ERROR 2
        Assert.True(!File.Exists(dest) || new FileInfo(dest).Length == 0);
    }

    // Refusals come from the listening port (no transfer socket is opened for them): each client must still
    // take the ERROR as the answer to its request and report it.
    [Fact]
    public async Task Tftp_hpa_reports_file_not_found_sent_from_the_listening_port()
    {
        var dest = Path.Combine(_work, "missing.efi");
        var run = await RunAsync("tftp", "127.0.0.1", Port.ToString(), "-m", "binary", "-c", "get", "missing.efi", dest);

        Assert.Contains("Error code 1", run.Output);
        Assert.True(!File.Exists(dest) || new FileInfo(dest).Length == 0);
    }

    [Fact]
    public async Task Tftp_hpa_put_reports_access_violation_sent_from_the_listening_port()
    {
        var source = Path.Combine(_work, "upload.bin");
        await File.WriteAllBytesAsync(source, [1, 2, 3]);
        var run = await RunAsync("tftp", "127.0.0.1", Port.ToString(), "-m", "binary", "-c", "put", source, "upload.bin");

        Assert.Contains("Error code 2", run.Output);
        Assert.False(File.Exists(Path.Combine(fixture.Scope.Root, "upload.bin")));
    }

    [Fact]
    public async Task Atftp_reports_file_not_found_sent_from_the_listening_port()
    {
        var dest = Path.Combine(_work, "missing.efi");
        var run = await RunAsync("atftp", "-g", "-r", "missing.efi", "-l", dest, "127.0.0.1", Port.ToString());

        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("File not found", run.Output);
    }

    [Fact]
    public async Task Atftp_put_reports_access_violation_sent_from_the_listening_port()
    {
        var source = Path.Combine(_work, "upload.bin");
        await File.WriteAllBytesAsync(source, [1, 2, 3]);
        var run = await RunAsync("atftp", "-p", "-l", source, "-r", "upload.bin", "127.0.0.1", Port.ToString());

        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("Access violation", run.Output);
        Assert.False(File.Exists(Path.Combine(fixture.Scope.Root, "upload.bin")));
    }

    [Fact]
    public async Task Curl_reports_file_not_found_sent_from_the_listening_port()
    {
        var dest = Path.Combine(_work, "missing.efi");
        var run = await RunAsync("curl", "-sS", $"tftp://127.0.0.1:{Port}/missing.efi", "-o", dest);

        Assert.Equal(68, run.ExitCode); // CURLE_TFTP_NOTFOUND: the server answered ERROR 1
    }

    [Fact]
    public async Task Curl_upload_reports_access_violation_sent_from_the_listening_port()
    {
        var source = Path.Combine(_work, "upload.bin");
        await File.WriteAllBytesAsync(source, [1, 2, 3]);
        var run = await RunAsync("curl", "-sS", "-T", source, $"tftp://127.0.0.1:{Port}/upload.bin");

        Assert.Equal(69, run.ExitCode); // CURLE_TFTP_PERM: the server answered ERROR 2
        Assert.False(File.Exists(Path.Combine(fixture.Scope.Root, "upload.bin")));
    }

    private async Task AssertDownloadedAsync(string file, string dest)
    {
        Assert.True(File.Exists(dest), $"{dest} was not written");
        await using var stream = File.OpenRead(dest);
        Assert.Equal(fixture.Sha256[file], Convert.ToHexString(await SHA256.HashDataAsync(stream)));
        await fixture.Scope.DrainAsync();
        var expected = file == "big.bin" ? RealClientFixture.BigLength : RealClientFixture.SmallLength;
        Assert.Contains(fixture.Scope.Observer.Completed, r => r.RequestedFileName.TrimStart('/') == file && r.BytesSent == expected);
    }

    private sealed record Run(int ExitCode, string Output);

    private async Task<Run> RunAsync(string tool, params string[] args)
    {
        var path = FindTool(tool);
        Assert.True(path is not null, $"'{tool}' is not installed (scripts/setup.sh installs tftp-hpa, atftp and curl); this test must not be skipped");
        var start = new ProcessStartInfo(path!)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = _work,
        };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        var watch = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(ClientTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{tool} {string.Join(' ', args)} did not finish within {ClientTimeout}");
        }

        var text = await stdout + await stderr;
        output.WriteLine($"{tool} {string.Join(' ', args)} -> exit {process.ExitCode} in {watch.ElapsedMilliseconds} ms\n{text}");
        return new Run(process.ExitCode, text);
    }

    private static string? FindTool(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin")
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, tool))
            .FirstOrDefault(File.Exists);
}
