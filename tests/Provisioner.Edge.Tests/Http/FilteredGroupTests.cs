using System.Net;
using System.Net.Http.Headers;
using Provisioner.Domain.Machines;
using static Provisioner.Domain.Machines.MachineCommands;

namespace Provisioner.Edge.Tests.Http;

/// <summary>The endpoints behave the same when mapped into a route group with an endpoint filter, as the host maps them.</summary>
public sealed class FilteredGroupTests
{
    private static readonly MachineId Mac = MachineId.Parse("aa:bb:cc:dd:ee:ff");

    [Fact]
    public async Task Script_asset_range_kickstart_and_phone_home_work_behind_an_endpoint_filter()
    {
        await using var http = await BootHttpFixture.StartAsync(filteredGroup: true);
        var token = http.Tokens.Issue(Mac);

        var script = await http.Client.GetStringAsync("/boot/aa:bb:cc:dd:ee:ff.ipxe");
        var kernel = await http.Client.GetByteArrayAsync("/assets/os/vmlinuz?mac=aa:bb:cc:dd:ee:ff");
        using var range = new HttpRequestMessage(HttpMethod.Get, "/assets/os/vmlinuz") { Headers = { Range = new RangeHeaderValue(0, 9) } };
        var partial = await http.Client.SendAsync(range);
        var ks = await http.Client.GetStringAsync($"/ks/{token}");
        var missing = await http.Client.GetAsync("/assets/os/missing");
        var home = await http.Client.PostAsync($"/phone-home/{token}", null);

        Assert.Contains("kernel ", script);
        Assert.Equal(http.Kernel, kernel);
        Assert.Equal(HttpStatusCode.PartialContent, partial.StatusCode);
        Assert.Equal(http.Kernel[..10], await partial.Content.ReadAsByteArrayAsync());
        Assert.Contains("url --url=", ks);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal(HttpStatusCode.OK, home.StatusCode);
        Assert.Single(await http.Gateway.SentEventuallyAsync<ReportKernelFetched>(Mac));
        Assert.Single(http.Gateway.Sent<ReportInstalled>(Mac));
    }
}
