using System.Net;
using Microsoft.Extensions.Logging;
using Provisioner.Domain.Boot;
using Provisioner.Domain.Machines;
using static Provisioner.Domain.Machines.MachineCommands;

namespace Provisioner.Edge.Tests.Http;

public sealed class BootScriptEndpointTests
{
    private static readonly MachineId Mac = MachineId.Parse("aa:bb:cc:dd:ee:ff");

    [Fact]
    public async Task Script_for_a_new_machine_boots_the_profile_kernel_initrd_and_kickstart()
    {
        await using var http = await BootHttpFixture.StartAsync();

        var response = await http.Client.GetAsync("/boot/aa:bb:cc:dd:ee:ff.ipxe");
        var script = await response.Content.ReadAsStringAsync();
        var lines = script.Split('\n');

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("#!ipxe", lines[0]);
        var token = http.Tokens.Issue(Mac);
        Assert.Contains(
            $"kernel {http.BaseUrl}/assets/os/vmlinuz?mac=aa:bb:cc:dd:ee:ff initrd=initrd.img ip=dhcp inst.repo={http.BaseUrl}/assets/os ks={http.BaseUrl}/ks/{token}",
            lines);
        Assert.Contains($"initrd --name initrd.img {http.BaseUrl}/assets/os/initrd.img?mac=aa:bb:cc:dd:ee:ff", lines);
        Assert.Equal("boot", lines.Last(l => l.Length > 0));
        Assert.Single(http.Gateway.Sent<ReportBootScriptServed>(Mac));
    }

    [Theory]
    [InlineData(BootScriptKind.LocalDisk, "sanboot --no-describe --drive 0x80 || exit")]
    [InlineData(BootScriptKind.Failed, "echo Provisioner: an operator must run 'provisioner machine reprovision aa:bb:cc:dd:ee:ff' to try again")]
    public async Task Script_is_the_one_the_boot_policy_names_for_the_stage(BootScriptKind kind, string line)
    {
        await using var http = await BootHttpFixture.StartAsync();
        await http.Client.GetStringAsync("/boot/aa:bb:cc:dd:ee:ff.ipxe"); // builds the handler, and with it the policy
        http.Policy!.ScriptAnswer = kind;

        var script = await http.Client.GetStringAsync("/boot/aa:bb:cc:dd:ee:ff.ipxe");

        Assert.Contains(line, script.Split('\n'));
    }

    [Fact]
    public async Task An_ipxe_client_gets_its_script_on_a_closing_connection_and_other_clients_keep_theirs()
    {
        await using var http = await BootHttpFixture.StartAsync();
        using var ipxe = new HttpRequestMessage(HttpMethod.Get, "/boot/aa:bb:cc:dd:ee:ff.ipxe");
        ipxe.Headers.UserAgent.ParseAdd("iPXE/1.21.1+");

        var fromIpxe = await http.Client.SendAsync(ipxe);
        var fromCurl = await http.Client.GetAsync("/boot/aa:bb:cc:dd:ee:ff.ipxe");

        Assert.Equal(HttpStatusCode.OK, fromIpxe.StatusCode);
        Assert.True(fromIpxe.Headers.ConnectionClose); // its kernel download opens a new one, which sendfile may take
        Assert.NotEqual(true, fromCurl.Headers.ConnectionClose);
    }

    [Fact]
    public async Task Boot_script_is_news_once_and_its_repeats_are_neither_reported_nor_logged_at_info()
    {
        await using var http = await BootHttpFixture.StartAsync();
        await http.Client.GetStringAsync("/boot/aa:bb:cc:dd:ee:ff.ipxe");
        // what the machine actor now holds
        http.Gateway.States[Mac] = MachineState.Empty(Mac.Value) with { Stage = MachineStage.Discovered, BootScriptServed = true };

        await http.Client.GetStringAsync("/boot/aa:bb:cc:dd:ee:ff.ipxe");
        await http.Client.GetStringAsync("/boot/aa:bb:cc:dd:ee:ff.ipxe");

        Assert.Single(http.Gateway.Sent<ReportBootScriptServed>(Mac));
        var served = http.Logs.Entries.Where(e => e.Message.StartsWith("HTTP boot script for aa:bb:cc:dd:ee:ff", StringComparison.Ordinal)).ToArray();
        Assert.Equal(3, served.Length);
        Assert.Single(served, e => e.Level == LogLevel.Information);
        Assert.Equal(2, served.Count(e => e.Level == LogLevel.Debug && e.Message.Contains("nothing new")));
    }

    [Fact]
    public async Task Machine_that_never_booted_from_us_gets_its_script_without_a_report()
    {
        await using var http = await BootHttpFixture.StartAsync();
        http.Gateway.Set(Mac, MachineStage.New); // e.g. chainloaded by another DHCP server

        var script = await http.Client.GetStringAsync("/boot/aa:bb:cc:dd:ee:ff.ipxe");

        Assert.StartsWith("#!ipxe", script, StringComparison.Ordinal);
        Assert.Empty(http.Gateway.Sent<ReportBootScriptServed>(Mac));
    }

    [Fact]
    public async Task Any_mac_spelling_is_normalised()
    {
        await using var http = await BootHttpFixture.StartAsync();

        var script = await http.Client.GetStringAsync("/boot/AA-BB-CC-DD-EE-FF.ipxe");

        Assert.Contains("?mac=aa:bb:cc:dd:ee:ff ", script);
        Assert.Single(http.Gateway.Sent<ReportBootScriptServed>(Mac));
    }

    [Theory]
    [InlineData(MachineStage.Installed)]
    [InlineData(MachineStage.Rebooted)]
    public async Task Installed_machine_boots_its_local_disk_never_a_reinstall(MachineStage stage)
    {
        await using var http = await BootHttpFixture.StartAsync();
        http.Gateway.Set(Mac, stage);

        var script = await http.Client.GetStringAsync("/boot/aa:bb:cc:dd:ee:ff.ipxe");

        Assert.StartsWith("#!ipxe\n", script);
        Assert.Contains("sanboot --no-describe --drive 0x80 || exit\n", script);
        Assert.DoesNotContain("kernel ", script);
        Assert.Empty(http.Gateway.Commands);
    }

    [Fact]
    public async Task Failed_machine_is_told_why_and_exits()
    {
        await using var http = await BootHttpFixture.StartAsync();
        http.Gateway.Set(Mac, MachineStage.Failed, failure: "3 missed deadlines, the last in KernelFetched\necho $(evil)");

        var script = await http.Client.GetStringAsync("/boot/aa:bb:cc:dd:ee:ff.ipxe");
        var lines = script.Split('\n');

        Assert.Equal("#!ipxe", lines[0]);
        Assert.Contains(lines, l => l.StartsWith("echo ", StringComparison.Ordinal) && l.Contains("3 missed deadlines, the last in KernelFetched?echo ?(evil)"));
        Assert.Contains("exit", lines);
        Assert.DoesNotContain("kernel ", script);
        Assert.DoesNotContain("$", script);
    }

    [Theory]
    [InlineData("/boot/not-a-mac.ipxe")]
    [InlineData("/boot/aa:bb:cc:dd:ee.ipxe")]
    [InlineData("/boot/aa:bb:cc:dd:ee:zz.ipxe")]
    public async Task Bad_mac_is_a_400(string path)
    {
        await using var http = await BootHttpFixture.StartAsync();

        var response = await http.Client.GetAsync(path);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Empty(http.Gateway.Commands);
    }

    [Fact]
    public async Task Machine_without_a_profile_gets_a_script_that_says_so_and_a_warning_is_logged()
    {
        await using var http = await BootHttpFixture.StartAsync("mac 00:11:22:33:44:55 lab");

        var script = await http.Client.GetStringAsync("/boot/aa:bb:cc:dd:ee:ff.ipxe");

        Assert.StartsWith("#!ipxe\n", script);
        Assert.Contains("no install profile for aa:bb:cc:dd:ee:ff", script);
        Assert.Contains("exit", script);
        Assert.Empty(http.Gateway.Commands);
        Assert.Contains(http.Logs.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("aa:bb:cc:dd:ee:ff") && e.Message.Contains("no profile"));
    }

    [Fact]
    public async Task Subnet_rule_matches_the_leased_address_kept_in_the_machine_state()
    {
        await using var http = await BootHttpFixture.StartAsync("subnet 10.33.0.0/16 lab");
        http.Gateway.Set(Mac, MachineStage.NbpServed, address: "10.33.1.150");

        var script = await http.Client.GetStringAsync("/boot/aa:bb:cc:dd:ee:ff.ipxe");

        Assert.Contains("kernel ", script);
    }

    [Fact]
    public async Task A_script_rendered_once_per_state_follows_every_change_of_that_state()
    {
        // The handler keeps the last script per machine while the gateway hands out the same state object; each new
        // state (or, without a lease, another client address) must render again.
        await using var http = await BootHttpFixture.StartAsync("subnet 10.33.0.0/16 lab");
        http.Gateway.Set(Mac, MachineStage.NbpServed, address: "10.33.1.150");
        var leased = await http.Client.GetStringAsync("/boot/aa:bb:cc:dd:ee:ff.ipxe");
        Assert.Equal(leased, await http.Client.GetStringAsync("/boot/aa:bb:cc:dd:ee:ff.ipxe"));
        Assert.Contains("kernel ", leased);

        http.Gateway.Set(Mac, MachineStage.NbpServed); // no lease: matched on 127.0.0.1, outside the subnet
        Assert.Contains("no install profile for aa:bb:cc:dd:ee:ff", await http.Client.GetStringAsync("/boot/aa:bb:cc:dd:ee:ff.ipxe"));

        http.Gateway.Set(Mac, MachineStage.NbpServed, address: "10.33.1.150");
        Assert.Equal(leased, await http.Client.GetStringAsync("/boot/aa:bb:cc:dd:ee:ff.ipxe"));

        http.Gateway.Set(Mac, MachineStage.Installed, address: "10.33.1.150");
        Assert.Contains("sanboot", await http.Client.GetStringAsync("/boot/aa:bb:cc:dd:ee:ff.ipxe"));
    }

    [Fact]
    public async Task A_failing_report_does_not_fail_the_script()
    {
        await using var http = await BootHttpFixture.StartAsync();
        http.Gateway.FailExecute = true;

        var response = await http.Client.GetAsync("/boot/aa:bb:cc:dd:ee:ff.ipxe");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("kernel ", await response.Content.ReadAsStringAsync());
        // The ask timed out: the report waits in the outbox for the machine to answer again.
        Assert.Contains(http.Logs.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("being queued, first ReportBootScriptServed"));
    }
}
