using System.Net;
using Microsoft.Extensions.Logging;
using Provisioner.Domain.Machines;
using static Provisioner.Domain.Machines.MachineCommands;

namespace Provisioner.Edge.Tests.Http;

public sealed class KickstartEndpointTests
{
    private static readonly MachineId Web01 = MachineId.Parse("aa:bb:cc:dd:ee:ff");
    private static readonly MachineId Other = MachineId.Parse("52:54:00:12:34:56");

    [Fact]
    public async Task Kickstart_is_rendered_for_the_machine_the_token_names()
    {
        await using var http = await BootHttpFixture.StartAsync();
        http.Hostnames.Names[Web01] = "web01";
        var token = http.Tokens.Issue(Web01);

        var response = await http.Client.GetAsync($"/ks/{token}");
        var ks = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("# web01 aa:bb:cc:dd:ee:ff\n", ks);
        Assert.Contains("network --hostname=web01\n", ks);
        Assert.Contains($"url --url={http.BaseUrl}/assets/os\n", ks);
        Assert.Contains($"rootpw --iscrypted {BootHttpFixture.Hash}\n", ks);
        Assert.Contains($"curl -fsS {http.BaseUrl}/phone-home/{token}\n", ks);
        Assert.Single(http.Gateway.Sent<ReportKickstartFetched>(Web01));
    }

    [Fact]
    public async Task Machine_without_a_reservation_is_named_after_its_mac()
    {
        await using var http = await BootHttpFixture.StartAsync();

        var ks = await http.Client.GetStringAsync($"/ks/{http.Tokens.Issue(Other)}");

        Assert.Contains("network --hostname=node-525400123456\n", ks);
    }

    [Fact]
    public async Task Invalid_reservation_hostname_falls_back_to_the_mac_name()
    {
        await using var http = await BootHttpFixture.StartAsync();
        http.Hostnames.Names[Other] = "bad name\n%post";

        var ks = await http.Client.GetStringAsync($"/ks/{http.Tokens.Issue(Other)}");

        Assert.Contains("network --hostname=node-525400123456\n", ks);
        Assert.DoesNotContain("bad name", ks);
    }

    [Theory]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaa")]
    [InlineData("nope")]
    [InlineData("aa:bb:cc:dd:ee:ff")]
    public async Task Wrong_token_is_an_empty_404_and_the_log_does_not_print_it(string token)
    {
        await using var http = await BootHttpFixture.StartAsync();

        var response = await http.Client.GetAsync($"/ks/{token}");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
        Assert.Empty(http.Gateway.Commands);
        var warning = Assert.Single(http.Logs.Entries, e => e.Level == LogLevel.Warning);
        Assert.DoesNotContain(token, warning.Message);
        Assert.Contains("token", warning.Message);
    }

    [Fact]
    public async Task Another_machines_token_reads_only_that_machines_kickstart()
    {
        await using var http = await BootHttpFixture.StartAsync();
        http.Hostnames.Names[Web01] = "web01";
        var otherToken = http.Tokens.Issue(Other);

        var ks = await http.Client.GetStringAsync($"/ks/{otherToken}");
        // Splicing web01's MAC into the other machine's token does not authenticate.
        var forged = http.Tokens.Issue(Web01)[..9] + otherToken[9..];
        var forgedResponse = await http.Client.GetAsync($"/ks/{forged}");

        Assert.DoesNotContain("web01", ks);
        Assert.DoesNotContain("aa:bb:cc:dd:ee:ff", ks);
        Assert.DoesNotContain(http.Tokens.Issue(Web01), ks);
        Assert.Equal(HttpStatusCode.NotFound, forgedResponse.StatusCode);
        Assert.Empty(http.Gateway.Sent<ReportKickstartFetched>(Web01));
        Assert.Single(http.Gateway.Sent<ReportKickstartFetched>(Other));
    }

    [Fact]
    public async Task Phone_home_reports_installed_by_get_and_by_post()
    {
        await using var http = await BootHttpFixture.StartAsync();
        var token = http.Tokens.Issue(Web01);

        var get = await http.Client.GetAsync($"/phone-home/{token}");
        var post = await http.Client.PostAsync($"/phone-home/{token}", null);

        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Equal(HttpStatusCode.OK, post.StatusCode);
        Assert.Equal("aa:bb:cc:dd:ee:ff installed\n", await get.Content.ReadAsStringAsync());
        Assert.Equal(2, http.Gateway.Sent<ReportInstalled>(Web01).Length);
    }

    [Fact]
    public async Task Booted_reports_the_first_boot_of_the_installed_system()
    {
        await using var http = await BootHttpFixture.StartAsync();

        var response = await http.Client.GetAsync($"/booted/{http.Tokens.Issue(Web01)}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Single(http.Gateway.Sent<ReportBooted>(Web01));
    }

    [Fact]
    public async Task Phone_home_with_a_wrong_token_is_an_empty_404_and_reports_nothing()
    {
        await using var http = await BootHttpFixture.StartAsync();

        var response = await http.Client.PostAsync("/phone-home/aaaaaaaaaaaaaaaaaaaaaaaaaa", null);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
        Assert.Empty(http.Gateway.Commands);
    }

    [Fact]
    public async Task Phone_home_the_machine_rejects_is_a_409_so_curl_f_fails()
    {
        await using var http = await BootHttpFixture.StartAsync();
        http.Gateway.RejectWith = "no install is under way for this machine";

        var response = await http.Client.GetAsync($"/phone-home/{http.Tokens.Issue(Web01)}");

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Contains("no install is under way", await response.Content.ReadAsStringAsync());
    }
}
