using System.Net;
using Provisioner.Cluster.Tests.Support;
using Provisioner.Domain.Machines;
using Provisioner.Edge.Tests.Http;
using static Provisioner.Domain.Machines.MachineCommands;

namespace Provisioner.Edge.Tests.Outage;

/// <summary>The HTTP endpoints while no core answers: files and scripts are served, reports are queued and delivered afterwards.</summary>
public sealed class HttpReportsDuringOutageTests
{
    private static readonly MachineId Web01 = MachineId.Parse("aa:bb:cc:dd:ee:ff");

    [Theory]
    [InlineData("/phone-home/", "installed")]
    [InlineData("/booted/", "booted")]
    public async Task A_phone_home_during_an_outage_is_answered_202_queued_and_recorded_once_the_cores_are_back(string route, string what)
    {
        await using var http = await BootHttpFixture.StartAsync();
        http.Cores.CoresReachable = false;

        var response = await http.Client.PostAsync(route + http.Tokens.Issue(Web01), null);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal($"aa:bb:cc:dd:ee:ff {what}: queued\n", await response.Content.ReadAsStringAsync());
        Assert.Empty(http.Gateway.Commands);

        http.Cores.CoresReachable = true;
        var sent = await Eventually.Until(() => http.Gateway.Commands.Count, n => n > 0, "the queued phone-home delivered");
        Assert.Equal(1, sent);
    }

    [Fact]
    public async Task A_phone_home_whose_ask_times_out_while_cores_are_reachable_is_refused_503_for_the_installer_to_retry_not_held()
    {
        // A core failing over: its machines' asks time out for a few seconds while the cores are reachable. %post's curl
        // retries a 503; a report held here would be lost with this edge if it died too.
        await using var http = await BootHttpFixture.StartAsync();
        http.Gateway.FailExecute = true;

        var refused = await http.Client.GetAsync($"/phone-home/{http.Tokens.Issue(Web01)}");
        http.Gateway.FailExecute = false;
        var retried = await http.Client.GetAsync($"/phone-home/{http.Tokens.Issue(Web01)}");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal(HttpStatusCode.OK, retried.StatusCode);
        // Nothing was held for later: no second copy arrives from the outbox.
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.Single(http.Gateway.Sent<ReportInstalled>(Web01));
    }

    [Fact]
    public async Task A_boot_script_whose_state_this_node_does_not_hold_is_refused_at_once_during_an_outage_not_after_the_ask_timeout()
    {
        await using var http = await BootHttpFixture.StartAsync();
        http.Cores.CoresReachable = false;
        http.Gateway.HangReads = true;
        var started = System.Diagnostics.Stopwatch.StartNew();

        var response = await http.Client.GetAsync("/boot/aa:bb:cc:dd:ee:ff.ipxe");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(3), $"answered after {started.Elapsed}");
        Assert.Empty(http.Gateway.Commands);
    }

    [Fact]
    public async Task A_kickstart_and_a_boot_script_served_during_an_outage_have_their_reports_delivered_afterwards_in_order()
    {
        await using var http = await BootHttpFixture.StartAsync();
        http.Cores.CoresReachable = false;

        var script = await http.Client.GetAsync("/boot/aa:bb:cc:dd:ee:ff.ipxe");
        var kickstart = await http.Client.GetAsync($"/ks/{http.Tokens.Issue(Web01)}");

        Assert.Equal(HttpStatusCode.OK, script.StatusCode);
        Assert.Equal(HttpStatusCode.OK, kickstart.StatusCode);
        Assert.Empty(http.Gateway.Commands);

        http.Cores.CoresReachable = true;
        await Eventually.Until(() => http.Gateway.Commands.Count, n => n == 2, "both queued reports delivered");
        Assert.Equal(
            new[] { typeof(ReportBootScriptServed), typeof(ReportKickstartFetched) },
            http.Gateway.Commands.Where(c => c.Machine == Web01).Select(c => c.Command.GetType()));
    }
}
