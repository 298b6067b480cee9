using Provisioner.Cluster.Tests.Machines;
using System.Text.Json;
using Provisioner.Domain.Machines;
using Provisioner.Host.Admin;
using Provisioner.Host.Cli;
using static Provisioner.Domain.Machines.MachineCommands;

namespace Provisioner.Host.Tests.Cli;

public sealed class MachineCliTests
{
    private const string Bios = "52:54:00:aa:00:01";
    private const string Uefi = "52:54:00:aa:00:02";
    private static readonly DateTimeOffset T0 = new(2026, 11, 25, 10, 0, 0, TimeSpan.Zero);

    private static IEnumerable<MachineCommand> BiosJourney() => MachineJourneys.BiosInstallAndReboot();

    private static IEnumerable<MachineCommand> UefiStart() =>
    [
        new RequestBoot(T0, 7, false, "centos7"),
        new ReportNbpServed(T0.AddSeconds(2), "ipxe.efi"),
    ];

    [Fact]
    public async Task Machine_show_prints_state_lease_and_the_whole_journey_with_timestamps()
    {
        await using var node = await LiveNode.StartAsync();
        await node.Drive(Bios, BiosJourney());

        var (exit, output, error) = await node.Run("machine", "show", "52-54-00-AA-00-01");

        Assert.Equal(CommandLine.Ok, exit);
        Assert.Equal(string.Empty, error);
        Assert.Contains("Machine      : 52:54:00:aa:00:01", output);
        Assert.Contains("Stage        : Rebooted", output);
        Assert.Contains("Profile      : centos7", output);
        Assert.Contains("Address      : 10.0.0.10 (10.0.0.0/24)", output);
        Assert.Contains("Architecture : bios (0)", output);
        Assert.Contains("Events:", output);
        string[] journey =
        [
            "2026-11-25 10:00:00.000Z  Discovered",
            "2026-11-25 10:00:01.000Z  LeaseRecorded",
            "2026-11-25 10:00:02.000Z  BootScriptServed",
            "2026-11-25 10:00:03.000Z  KernelFetched     /assets/vmlinuz",
            "2026-11-25 10:00:04.000Z  InitrdFetched     /assets/initrd.img",
            "2026-11-25 10:00:10.000Z  KickstartFetched",
            "2026-11-25 10:01:00.000Z  Installed",
            "2026-11-25 10:01:10.000Z  Rebooted          via local-boot",
        ];
        var position = 0;
        foreach (var line in journey)
        {
            var found = output.IndexOf(line, position, StringComparison.Ordinal);
            Assert.True(found >= 0, $"expected '{line}' after position {position} in:\n{output}");
            position = found;
        }
    }

    [Fact]
    public async Task Machine_show_says_how_the_machine_reached_us_and_its_firmware()
    {
        await using var node = await LiveNode.StartAsync();
        await node.Drive(Uefi, [new RequestBoot(T0, 7, false, "centos7", Path: new BootPath(BootPath.Relayed, "10.78.5.1", BootPath.Pxe))]);
        // Recorded before paths were: the firmware from the state, no path.
        await node.Drive(Bios, [new RequestBoot(T0, 0, true, "centos7")]);

        var (exit, output, error) = await node.Run("machine", "show", Uefi);
        var (_, old, _) = await node.Run("machine", "show", Bios);
        var (_, json, _) = await node.Run("machine", "show", Uefi, "-o", "json");

        Assert.Equal((CommandLine.Ok, string.Empty), (exit, error));
        Assert.Contains("Reached via  : relay 10.78.5.1", output);
        Assert.Contains("Firmware     : PXE x64 UEFI (arch 7)", output);
        Assert.Contains("via=relay 10.78.5.1", output);
        Assert.Contains("Reached via  : -", old);
        Assert.Contains("Firmware     : iPXE BIOS (arch 0)", old);
        var machine = JsonSerializer.Deserialize<MachineDto>(json, AdminJson.Options)!;
        Assert.Equal(new BootPath(BootPath.Relayed, "10.78.5.1", BootPath.Pxe), machine.Path);
        Assert.Equal("PXE x64 UEFI (arch 7)", machine.Firmware);
    }

    [Fact]
    public async Task Machine_show_reads_the_last_500_events_from_the_journal_and_says_how_many_older_ones_it_left_out()
    {
        await using var node = await LiveNode.StartAsync();
        // 261 PXE boots, each followed by a reprovision: 522 events, the newest a reprovision at T0 + 260 minutes.
        await node.Drive(Bios, Enumerable.Range(0, 261).SelectMany(i => new MachineCommand[]
        {
            new RequestBoot(T0.AddMinutes(i), 0, true, "centos7"),
            new Reprovision(T0.AddMinutes(i).AddSeconds(30), "lab"),
        }));

        var (_, json, _) = await node.Run("machine", "show", Bios, "-o", "json");
        var machine = JsonSerializer.Deserialize<MachineDto>(json, AdminJson.Options)!;
        Assert.Equal(522, machine.EventCount);
        Assert.Equal(500, machine.Events.Count);
        Assert.Equal("the last 500 of 522; 22 older ones left out", machine.EventsNote);
        // The newest 500, oldest first: events 23 to 522 are boot 11's Discovered to boot 260's Reprovisioned.
        Assert.Equal(("Discovered", T0.AddMinutes(11)), (machine.Events[0].Type, machine.Events[0].At));
        Assert.Equal(("Reprovisioned", T0.AddMinutes(260).AddSeconds(30)), (machine.Events[^1].Type, machine.Events[^1].At));
        Assert.All(machine.Events.Where((_, i) => i % 2 == 1), e => Assert.Equal("Reprovisioned", e.Type));

        var (exit, output, _) = await node.Run("machine", "show", Bios);
        Assert.Equal(CommandLine.Ok, exit);
        Assert.Contains("Events (the last 500 of 522; 22 older ones left out):", output);
        Assert.Equal(500, output.Split('\n').Count(l => l.StartsWith("2026-", StringComparison.Ordinal)));

        var (_, history, _) = await node.Run("machine", "history", Bios);
        Assert.Contains("(the last 500 of 522; 22 older ones left out)", history);
    }

    [Fact]
    public async Task Machine_list_is_a_table_from_the_read_model_and_json_on_request()
    {
        await using var node = await LiveNode.StartAsync();
        await node.Drive(Bios, BiosJourney());
        await node.Drive(Uefi, UefiStart());
        await node.WaitForDirectory(2);

        var (exit, output, _) = await node.Run("machine", "list");
        Assert.Equal(CommandLine.Ok, exit);
        var lines = output.TrimEnd().Split('\n');
        Assert.StartsWith("MAC", lines[0]);
        Assert.EndsWith("AGE", lines[0]);
        Assert.All(lines, l => Assert.True(l.Length <= 80, $"line wider than 80 columns: '{l}'"));
        Assert.StartsWith(Bios, lines[1]);
        Assert.Contains("Rebooted", lines[1]);
        Assert.StartsWith(Uefi, lines[2]);
        Assert.Contains("NbpServed", lines[2]);

        var (_, filtered, _) = await node.Run("machine", "list", "--stage", "nbpserved");
        Assert.DoesNotContain(Bios, filtered);
        Assert.Contains(Uefi, filtered);

        var (jsonExit, json, _) = await node.Run("machine", "list", "-o", "json");
        Assert.Equal(CommandLine.Ok, jsonExit);
        var list = JsonSerializer.Deserialize<MachineListDto>(json, AdminJson.Options)!;
        Assert.True(list.CaughtUp);
        Assert.Equal([Bios, Uefi], list.Machines.Select(m => m.MachineId));
        Assert.Equal(MachineStage.Rebooted, list.Machines[0].Stage);
    }

    [Fact]
    public async Task Reprovision_sends_an_installed_machine_back_to_new_and_says_so()
    {
        await using var node = await LiveNode.StartAsync();
        await node.Drive(Bios, BiosJourney());

        var (exit, output, _) = await node.Run("machine", "reprovision", Bios);
        Assert.Equal(CommandLine.Ok, exit);
        Assert.Equal($"machine/{Bios} reprovisioned", output.Trim());

        var (_, json, _) = await node.Run("machine", "show", Bios, "-o", "json");
        var machine = JsonSerializer.Deserialize<MachineDto>(json, AdminJson.Options)!;
        Assert.Equal(MachineStage.New, machine.Stage);
        Assert.Equal("Reprovisioned", machine.Events[^1].Type);
        Assert.StartsWith("by cli:", machine.Events[^1].Detail);
    }

    [Fact]
    public async Task Errors_go_to_stderr_with_a_non_zero_exit()
    {
        await using var node = await LiveNode.StartAsync();

        var unknown = await node.Run("machine", "show", "52:54:00:00:00:99");
        Assert.Equal(CommandLine.Failed, unknown.Exit);
        Assert.Equal(string.Empty, unknown.Out);
        Assert.Contains("never been seen", unknown.Err);

        var badMac = await node.Run("machine", "show", "not-a-mac");
        Assert.Equal(CommandLine.Usage, badMac.Exit);
        Assert.Contains("not a MAC address", badMac.Err);

        var badVerb = await node.Run("machine", "explode");
        Assert.Equal(CommandLine.Usage, badVerb.Exit);
        Assert.Contains("unknown command", badVerb.Err);

        var badStage = await node.Run("machine", "list", "--stage", "Sleeping");
        Assert.Equal(CommandLine.Failed, badStage.Exit);
        Assert.Contains("unknown stage 'Sleeping'", badStage.Err);
    }

    [Fact]
    public async Task Unreachable_server_is_a_clear_error()
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await CommandLine.RunAsync(["machine", "list", "--server", "http://127.0.0.1:9"], stdout, stderr);
        Assert.Equal(CommandLine.Failed, exit);
        Assert.Contains("cannot reach the admin API", stderr.ToString());
    }

    [Fact]
    public async Task Admin_api_with_a_token_refuses_requests_without_it()
    {
        await using var node = await LiveNode.StartAsync("provisioner.admin.token = \"s3cret\"");

        var refused = await node.Run("machine", "list");
        Assert.Equal(CommandLine.Failed, refused.Exit);
        Assert.Contains("bearer token", refused.Err);

        var allowed = await node.Run("machine", "list", "--token", "s3cret");
        Assert.Equal(CommandLine.Ok, allowed.Exit);
    }

    [Fact]
    public async Task Cluster_show_lists_this_node_up_with_both_roles()
    {
        await using var node = await LiveNode.StartAsync();
        var (exit, output, _) = await node.Run("cluster", "show");
        Assert.Equal(CommandLine.Ok, exit);
        Assert.Contains("(self)", output);
        Assert.Contains("Up", output);
        Assert.Contains("core,edge", output);
    }

    [Fact]
    public async Task Help_explains_every_verb_and_a_missing_command_is_a_usage_error()
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        Assert.Equal(CommandLine.Ok, await CommandLine.RunAsync(["--help"], stdout, stderr));
        foreach (var verb in new[] { "serve", "machine list", "machine show", "machine history", "machine reprovision", "cluster show", "cluster shards", "node show", "node gc" })
        {
            Assert.Contains("provisioner " + verb, stdout.ToString());
        }

        Assert.Equal(CommandLine.Usage, await CommandLine.RunAsync([], TextWriter.Null, TextWriter.Null));
    }

    [Fact]
    public async Task Serve_refuses_a_non_loopback_admin_api_without_a_token_naming_the_key()
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await CommandLine.RunAsync(
            ["serve", "--hocon-dir", Path.Combine(AppContext.BaseDirectory, "hocon"), "--admin-listen", "http://0.0.0.0:9780", "--data-dir", Path.GetTempPath()],
            stdout,
            stderr);
        Assert.Equal(CommandLine.Failed, exit);
        Assert.Contains("provisioner.admin.listen", stderr.ToString());
    }

    [Fact]
    public async Task The_akka_section_of_the_nodes_hocon_reaches_the_actor_system()
    {
        await using var node = await LiveNode.StartAsync("akka.loglevel = WARNING");
        Assert.Equal(Akka.Event.LogLevel.WarningLevel, node.System.EventStream.LogLevel);
    }
}
