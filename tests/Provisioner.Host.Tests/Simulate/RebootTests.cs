using Provisioner.Host.Cli;
using Provisioner.Host.Simulate;

namespace Provisioner.Host.Tests.Simulate;

/// <summary>--reboots: a machine whose boot failed powers on again, as a server does when its boot order comes round.</summary>
public sealed class RebootTests
{
    private static TimeSpan S(double seconds) => TimeSpan.FromSeconds(seconds);

    private static readonly string[] Required = ["--dhcp-server", "10.77.0.1", "--relay-address", "10.88.0.1"];

    [Fact]
    public void Reboots_default_to_none_after_5_s_and_are_bounded()
    {
        var defaults = SimulateOptions.Parse(Required, _ => null)!;
        var set = SimulateOptions.Parse([.. Required, "--reboots", "3", "--reboot-after", "2s"], _ => null)!;

        Assert.Equal((0, S(5)), (defaults.Reboots, defaults.RebootAfter));
        Assert.Equal((3, S(2)), (set.Reboots, set.RebootAfter));
        Assert.Contains("--reboots", Assert.Throws<UsageException>(() => SimulateOptions.Parse([.. Required, "--reboots", "8"], _ => null)).Message, StringComparison.Ordinal);
        Assert.Throws<UsageException>(() => SimulateOptions.Parse([.. Required, "--reboots", "-1"], _ => null));
    }

    [Fact]
    public void A_reboot_starts_the_stages_over_keeps_the_first_power_on_and_says_where_and_why_the_attempt_failed()
    {
        var record = new MachineRecord(0, "52:54:01:00:00:00");
        record.Begin(SimStage.Dhcp, S(0));
        record.Acked("10.88.0.10");
        record.EndStage(S(0.1));
        record.Begin(SimStage.Tftp, S(0.1));

        record.Reboot("no answer from 10.77.0.11", S(16));

        Assert.Equal([(SimStage.Tftp, "no answer from 10.77.0.11")], record.Reboots);
        Assert.Null(record.Duration(SimStage.Dhcp));
        Assert.Null(record.Current);
        Assert.False(record.Completed);

        // The next attempt goes through every stage; the total counts from the first power-on.
        var now = 21.0;
        foreach (var stage in SimStages.All)
        {
            record.Begin(stage, S(now));
            now += 0.1;
            record.EndStage(S(now));
        }

        record.Complete(S(now));
        Assert.True(record.Completed);
        Assert.Equal(S(now), record.Total);
        Assert.Equal(0.1, record.Duration(SimStage.Dhcp)!.Value.TotalSeconds, 3);
        Assert.Equal(["10.88.0.10"], record.Addresses);
    }

    [Fact]
    public void The_report_counts_machines_that_rebooted_and_groups_the_failed_attempts_without_failing_the_run()
    {
        var rebooted = new MachineRecord(1, "52:54:01:00:00:01");
        rebooted.Begin(SimStage.Script, S(0));
        rebooted.Reboot("HTTP: connection refused", S(1));
        rebooted.Begin(SimStage.Dhcp, S(6));
        rebooted.Reboot("HTTP: connection refused", S(7));
        foreach (var stage in SimStages.All)
        {
            rebooted.Begin(stage, S(12));
            rebooted.EndStage(S(12.1));
        }

        rebooted.Complete(S(12.1));

        var report = SimulationReport.Build([rebooted], rate: 1, wall: S(13), sources: "the host's address");

        Assert.True(report.Ok);
        Assert.Equal(1, report.MachinesRebooted);
        Assert.Equal(
            [("script", "HTTP: connection refused", 1), ("dhcp", "HTTP: connection refused", 1)],
            report.FailedAttempts.Select(f => (f.Stage, f.Reason, f.Machines)).ToArray());
        Assert.Contains("1 machines powered on again after 2 failed boot attempts", report.Render(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Installed", true)]
    [InlineData("Rebooted", true)]
    [InlineData("KickstartFetched", false)]
    [InlineData("Failed", false)]
    public void A_machine_that_installed_and_then_booted_its_disk_counts_as_installed(string stage, bool installed) =>
        Assert.Equal(installed, Simulator.IsInstalled(stage));

    [Fact]
    public void A_machine_that_phoned_home_and_is_then_offered_no_boot_file_is_done_booting_its_disk()
    {
        var record = new MachineRecord(0, "52:54:01:00:00:00");
        Assert.Throws<InvalidOperationException>(() => record.CompleteFromDisk(S(0)));
        var now = 0.0;
        foreach (var stage in SimStages.All)
        {
            record.Begin(stage, S(now));
            now += 0.1;
            if (stage != SimStages.All[^1])
            {
                record.EndStage(S(now));
            }
        }

        // The phone-home's answer never came (its edge died); the machine reboots and is told to boot locally.
        record.Reboot("HTTP: Connection refused (after 5 retries)", S(20));
        record.Begin(SimStage.Dhcp, S(25));
        record.EndStage(S(25.2));
        record.CompleteFromDisk(S(25.2));

        Assert.True(record.Completed);
        Assert.Equal(S(25.2), record.Total);
    }
}

