using System.Net;
using System.Net.Http.Headers;
using Provisioner.Domain.Boot;
using Provisioner.Domain.Machines;
using Provisioner.Edge.Http;
using static Provisioner.Domain.Machines.MachineCommands;

namespace Provisioner.Edge.Tests.Http;

public sealed class AssetEndpointTests
{
    private static readonly MachineId Mac = MachineId.Parse("aa:bb:cc:dd:ee:ff");

    [Fact]
    public async Task Range_request_gets_206_with_exactly_those_bytes()
    {
        await using var http = await BootHttpFixture.StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/assets/os/vmlinuz");
        request.Headers.Range = new RangeHeaderValue(100, 199);

        var response = await http.Client.SendAsync(request);
        var body = await response.Content.ReadAsByteArrayAsync();

        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal(http.Kernel[100..200], body);
        Assert.Equal(100, response.Content.Headers.ContentLength);
        Assert.Equal("bytes 100-199/1000", response.Content.Headers.ContentRange?.ToString());
    }

    [Fact]
    public async Task Whole_asset_has_its_length_etag_and_last_modified_and_revalidates()
    {
        await using var http = await BootHttpFixture.StartAsync();

        var response = await http.Client.GetAsync("/assets/os/vmlinuz");
        var body = await response.Content.ReadAsByteArrayAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(http.Kernel, body);
        Assert.Equal(1000, response.Content.Headers.ContentLength);
        Assert.NotNull(response.Headers.ETag);
        Assert.NotNull(response.Content.Headers.LastModified);
        Assert.Contains("bytes", response.Headers.AcceptRanges);

        using var again = new HttpRequestMessage(HttpMethod.Get, "/assets/os/vmlinuz");
        again.Headers.IfNoneMatch.Add(response.Headers.ETag!);
        Assert.Equal(HttpStatusCode.NotModified, (await http.Client.SendAsync(again)).StatusCode);
    }

    [Fact]
    public async Task Replaced_asset_is_served_new_at_once_and_a_removed_one_is_gone()
    {
        await using var http = await BootHttpFixture.StartAsync();
        Assert.Equal(http.Kernel, await http.Client.GetByteArrayAsync("/assets/os/vmlinuz")); // now cached
        var path = Path.Combine(http.AssetsDir, "os", "vmlinuz");
        var replacement = Enumerable.Range(0, 1234).Select(i => (byte)(i % 13)).ToArray();
        File.WriteAllBytes(path, replacement);
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddSeconds(10));

        Assert.Equal(replacement, await http.Client.GetByteArrayAsync("/assets/os/vmlinuz"));

        File.Delete(path);
        Assert.Equal(HttpStatusCode.NotFound, (await http.Client.GetAsync("/assets/os/vmlinuz")).StatusCode);
    }

    [Fact]
    public async Task Asset_over_the_cache_limit_is_streamed_from_disk_with_ranges_and_etag()
    {
        await using var http = await BootHttpFixture.StartWithCacheLimitAsync(500); // the 1000-byte kernel is not cached

        var whole = await http.Client.GetAsync("/assets/os/vmlinuz");
        using var request = new HttpRequestMessage(HttpMethod.Get, "/assets/os/vmlinuz");
        request.Headers.Range = new RangeHeaderValue(900, null);
        var tail = await http.Client.SendAsync(request);

        Assert.Equal(http.Kernel, await whole.Content.ReadAsByteArrayAsync());
        Assert.NotNull(whole.Headers.ETag);
        Assert.Equal(HttpStatusCode.PartialContent, tail.StatusCode);
        Assert.Equal(http.Kernel[900..], await tail.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Head_gives_the_length_without_a_body_and_reports_nothing()
    {
        await using var http = await BootHttpFixture.StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Head, "/assets/os/vmlinuz?mac=aa:bb:cc:dd:ee:ff");

        var response = await http.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1000, response.Content.Headers.ContentLength);
        Assert.Empty(http.Gateway.Commands);
    }

    [Theory]
    [InlineData("/assets/escape/secret.txt")]
    [InlineData("/assets/..%2Fsecret.txt")]
    [InlineData("/assets/os/..%2F..%2Fsecret.txt")]
    [InlineData("/assets/%2e%2e/secret.txt")]
    [InlineData("/assets/os")]
    [InlineData("/assets/os/missing")]
    public async Task Paths_outside_the_assets_directory_or_missing_are_404(string path)
    {
        await using var http = await BootHttpFixture.StartAsync();
        File.WriteAllText(Path.Combine(http.Root, "secret.txt"), "secret");
        Directory.CreateSymbolicLink(Path.Combine(http.AssetsDir, "escape"), http.Root);

        var response = await http.Client.GetAsync(path);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.DoesNotContain("secret", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_fetch_is_reported_as_what_the_boot_policy_says_it_is()
    {
        await using var http = await BootHttpFixture.StartAsync();
        await http.Client.GetStringAsync("/boot/aa:bb:cc:dd:ee:ff.ipxe"); // builds the handler, and with it the policy
        http.Policy!.AssetAnswer = BootAssetKind.Initrd;

        await http.Client.GetByteArrayAsync("/assets/os/vmlinuz?mac=aa:bb:cc:dd:ee:ff");

        Assert.Equal("os/vmlinuz", Assert.Single(await http.Gateway.SentEventuallyAsync<ReportInitrdFetched>(Mac)).Path);
        Assert.Empty(http.Gateway.Sent<ReportKernelFetched>(Mac));
    }

    [Fact]
    public async Task Kernel_and_initrd_fetches_with_the_mac_are_reported_to_that_machine()
    {
        await using var http = await BootHttpFixture.StartAsync();

        await http.Client.GetByteArrayAsync("/assets/os/vmlinuz?mac=aa:bb:cc:dd:ee:ff");
        await http.Client.GetByteArrayAsync("/assets/os/initrd.img?mac=aa:bb:cc:dd:ee:ff");

        Assert.Equal("os/vmlinuz", Assert.Single(await http.Gateway.SentEventuallyAsync<ReportKernelFetched>(Mac)).Path);
        Assert.Equal("os/initrd.img", Assert.Single(await http.Gateway.SentEventuallyAsync<ReportInitrdFetched>(Mac)).Path);
    }

    [Theory]
    [InlineData("/assets/os/vmlinuz")]
    [InlineData("/assets/os/vmlinuz?mac=garbage")]
    [InlineData("/assets/os/readme.txt?mac=aa:bb:cc:dd:ee:ff")]
    public async Task Fetches_without_a_valid_mac_or_of_other_files_report_nothing(string path)
    {
        await using var http = await BootHttpFixture.StartAsync();

        var response = await http.Client.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty(http.Gateway.Commands);
    }

    [Fact]
    public void Resolver_refuses_dot_segments_absolute_paths_and_symlinks_out_of_the_root()
    {
        var root = Path.Combine(Path.GetTempPath(), "prov-assets-" + Guid.NewGuid().ToString("N"));
        var assets = Path.Combine(root, "assets");
        Directory.CreateDirectory(Path.Combine(assets, "os"));
        File.WriteAllText(Path.Combine(assets, "os", "vmlinuz"), "k");
        File.WriteAllText(Path.Combine(root, "outside"), "x");
        File.CreateSymbolicLink(Path.Combine(assets, "out-link"), Path.Combine(root, "outside"));
        File.CreateSymbolicLink(Path.Combine(assets, "in-link"), Path.Combine("os", "vmlinuz"));
        Directory.CreateSymbolicLink(Path.Combine(assets, "alias"), Path.Combine(assets, "os"));
        try
        {
            Assert.Equal(Path.Combine(assets, "os", "vmlinuz"), AssetPathResolver.Resolve(assets, "os/vmlinuz"));
            Assert.Equal(Path.Combine(assets, "os", "vmlinuz"), AssetPathResolver.Resolve(assets, "in-link"));
            Assert.Equal(Path.Combine(assets, "os", "vmlinuz"), AssetPathResolver.Resolve(assets, "alias/vmlinuz"));
            Assert.Null(AssetPathResolver.Resolve(assets, "out-link"));
            Assert.Null(AssetPathResolver.Resolve(assets, "../outside"));
            Assert.Null(AssetPathResolver.Resolve(assets, "os/../../outside"));
            Assert.Null(AssetPathResolver.Resolve(assets, "/etc/passwd"));
            Assert.Null(AssetPathResolver.Resolve(assets, "os//vmlinuz"));
            Assert.Null(AssetPathResolver.Resolve(assets, "os\\vmlinuz"));
            Assert.Null(AssetPathResolver.Resolve(assets, "os"));
            Assert.Null(AssetPathResolver.Resolve(assets, ""));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
