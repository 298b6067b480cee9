using System.Text.Json;
using Provisioner.Host.Admin;
using Provisioner.Host.Simulate;

namespace Provisioner.Host.Tests.Simulate;

public sealed class SimulationReportTests
{
    private static TimeSpan S(double seconds) => TimeSpan.FromSeconds(seconds);

    /// <summary>A machine that got through every stage, each taking <paramref name="stageSeconds"/>, starting at <paramref name="start"/>.</summary>
    private static MachineRecord Completed(int index, string address, double start = 0, double stageSeconds = 0.1)
    {
        var record = new MachineRecord(index, Mac(index));
        var now = start;
        foreach (var stage in SimStages.All)
        {
            record.Begin(stage, S(now));
            if (stage == SimStage.Dhcp)
            {
                record.Acked(address);
            }

            now += stageSeconds;
            record.EndStage(S(now));
        }

        record.Complete(S(now));
        return record;
    }

    private static MachineRecord FailedIn(int index, SimStage stage, string reason, double at = 1)
    {
        var record = new MachineRecord(index, Mac(index));
        foreach (var earlier in SimStages.All.TakeWhile(s => s != stage))
        {
            record.Begin(earlier, S(0));
            record.EndStage(S(0.5));
        }

        record.Begin(stage, S(0.5));
        record.Fail(reason, S(at));
        return record;
    }

    private static string Mac(int index) => $"52:54:01:00:00:{index:x2}";

    [Fact]
    public void Machine_record_times_each_stage_and_the_whole_boot()
    {
        var record = Completed(1, "10.88.0.10", start: 2, stageSeconds: 0.25);

        Assert.True(record.Completed);
        Assert.All(SimStages.All, stage => Assert.Equal(S(0.25), record.Duration(stage)));
        Assert.Equal(S(2), record.Total);
        Assert.Null(record.FailedAt);
    }

    [Fact]
    public void A_failure_is_recorded_in_the_stage_under_way_and_only_the_first_counts()
    {
        var record = FailedIn(3, SimStage.Kernel, "HTTP 404 Not Found");
        record.Fail("a later reason", S(5));

        Assert.False(record.Completed);
        Assert.Equal(SimStage.Kernel, record.FailedAt);
        Assert.Equal("HTTP 404 Not Found", record.FailureReason);
        Assert.Null(record.Total);
        Assert.Equal(S(0.5), record.Duration(SimStage.Script));
        Assert.Null(record.Duration(SimStage.Kernel));
        Assert.Throws<InvalidOperationException>(() => record.Begin(SimStage.Initrd, S(6)));
    }

    [Fact]
    public void A_machine_that_fails_before_its_first_stage_fails_in_dhcp()
    {
        var record = new MachineRecord(0, Mac(0));
        record.Fail("interrupted before it powered on", S(1));

        Assert.Equal(SimStage.Dhcp, record.FailedAt);
    }

    [Fact]
    public void Complete_before_the_last_stage_is_a_programming_error()
    {
        var record = new MachineRecord(0, Mac(0));
        record.Begin(SimStage.Dhcp, S(0));
        record.EndStage(S(1));

        Assert.Throws<InvalidOperationException>(() => record.Complete(S(1)));
    }

    [Fact]
    public void Two_machines_acked_one_address_is_a_duplicate_and_one_machine_acked_it_twice_is_not()
    {
        var a = Completed(1, "10.88.0.10");
        var b = Completed(2, "10.88.0.10");
        var c = Completed(3, "10.88.0.9");
        c.Acked("10.88.0.9"); // PXE and iPXE ACKs of the same lease
        var d = Completed(4, "10.88.0.100");
        var e = Completed(5, "10.88.0.100");
        var f = Completed(6, "10.88.0.100");

        var duplicates = SimulationReport.FindDuplicates([f, e, d, c, b, a]);

        Assert.Equal(
            [new DuplicateAddress("10.88.0.10", [Mac(1), Mac(2)]), new DuplicateAddress("10.88.0.100", [Mac(4), Mac(5), Mac(6)])],
            duplicates,
            (x, y) => x.Address == y.Address && x.Machines.SequenceEqual(y.Machines));
        Assert.Single(c.Addresses);
    }

    [Fact]
    public void Report_counts_machines_per_second_stage_percentiles_and_groups_failures_by_stage_and_reason()
    {
        MachineRecord[] machines =
        [
            .. Enumerable.Range(0, 8).Select(i => Completed(i, $"10.88.0.{10 + i}", start: i * 0.1, stageSeconds: 0.01 * (i + 1))),
            FailedIn(8, SimStage.Tftp, "no answer to the RRQ of undionly.kpxe after 6 sends (15.75 s)"),
            FailedIn(9, SimStage.Kernel, "HTTP 404 Not Found"),
            FailedIn(10, SimStage.Tftp, "no answer to the RRQ of undionly.kpxe after 6 sends (15.75 s)"),
        ];

        var report = SimulationReport.Build(machines, rate: 10, wall: S(4), sources: "each machine's leased address");

        Assert.Equal((11, 8, 3), (report.Machines, report.Completed, report.Failed));
        Assert.Equal(2, report.MachinesPerSecond);
        Assert.Equal(8, report.Addresses);
        Assert.False(report.Ok);
        var dhcp = Assert.Single(report.Stages, s => s.Stage == "dhcp");
        // 10..80 ms from the completed machines, 500 ms from each of the three that failed later.
        Assert.Equal(new StageReport("dhcp", 11, 60, 500, 500, 500), dhcp);
        var total = report.Stages[^1];
        Assert.Equal(("total", 8, 320.0, 640.0), (total.Stage, total.Count, total.P50Ms, total.MaxMs));
        Assert.Equal(
            ["tftp|2|no answer to the RRQ of undionly.kpxe after 6 sends (15.75 s)", "kernel|1|HTTP 404 Not Found"],
            report.Failures.Select(f => $"{f.Stage}|{f.Machines}|{f.Reason}"));
        Assert.Equal([Mac(8), Mac(10)], report.Failures[0].Examples);
    }

    [Fact]
    public void Report_is_ok_only_without_failures_duplicates_or_machines_not_installed()
    {
        MachineRecord[] machines = [Completed(1, "10.88.0.10"), Completed(2, "10.88.0.11")];
        var clean = SimulationReport.Build(machines, 1, S(2), "x");
        var installed = SimulationReport.Build(machines, 1, S(2), "x", new AdminCheckReport("http://a/", 2, 2, 0, []));
        var notInstalled = SimulationReport.Build(machines, 1, S(2), "x", new AdminCheckReport("http://a/", 2, 1, 1, [new NotInstalledMachine(Mac(2), "KickstartFetched")]));
        var duplicate = SimulationReport.Build([Completed(1, "10.88.0.10"), Completed(2, "10.88.0.10")], 1, S(2), "x");

        Assert.True(clean.Ok);
        Assert.True(installed.Ok);
        Assert.False(notInstalled.Ok);
        Assert.False(duplicate.Ok);
        Assert.Contains("NOT INSTALLED", notInstalled.Render());
        Assert.Contains("52:54:01:00:00:02  KickstartFetched", notInstalled.Render());
        Assert.Contains("10.88.0.10  52:54:01:00:00:01 52:54:01:00:00:02", duplicate.Render());
        Assert.Contains("1 held by two or more machines", duplicate.Render());
    }

    [Fact]
    public void Table_reads_key_value_lines_then_a_stage_table_then_failures()
    {
        MachineRecord[] machines = [Completed(0, "10.88.0.10", stageSeconds: 0.004), FailedIn(1, SimStage.PhoneHome, "HTTP 409 Conflict")];

        var text = SimulationReport.Build(machines, 20, S(0.5), "each machine's leased address").Render();

        Assert.Contains("Machines  : 2 at 20/s: 1 completed, 1 failed", text);
        Assert.Contains("Wall time : 0.50 s, 2.0 machines/s completed", text);
        Assert.Contains("Result    : FAILED", text);
        Assert.Contains("STAGE       DONE  P50    P90    P99    MAX", text);
        Assert.Contains("phone-home  1     4.0ms  4.0ms  4.0ms  4.0ms", text);
        Assert.Contains("total       1     32ms   32ms   32ms   32ms", text);
        Assert.Contains("phone-home  1         HTTP 409 Conflict  52:54:01:00:00:01", text);
        Assert.DoesNotContain("Packets", text);
    }

    [Fact]
    public void Packets_line_tells_retransmissions_apart()
    {
        var report = SimulationReport.Build([Completed(0, "10.88.0.10")], 1, S(1), "x") with { Packets = new Retransmissions(5, 1, 2, 3) };

        Assert.Contains("Packets   : DHCP 5 sent, 1 of them retransmissions, 2 replies unasked for; TFTP 3 retransmissions", report.Render());
    }

    [Theory]
    [InlineData(0.84, "0.8ms")]
    [InlineData(12.4, "12ms")]
    [InlineData(1250, "1.25s")]
    [InlineData(61_000, "61.0s")]
    [InlineData(9.96, "10ms")]
    [InlineData(999.6, "1.00s")]
    [InlineData(9996, "10.0s")]
    public void Durations_read_as_people_read_them(double ms, string expected)
    {
        Assert.Equal(expected, SimulationReport.Duration(ms));
    }

    [Fact]
    public void Json_report_round_trips_and_carries_ok()
    {
        var report = SimulationReport.Build([Completed(0, "10.88.0.10")], 5, S(1), "x", new AdminCheckReport("http://a/", 1, 1, 0, []));

        var json = JsonSerializer.Serialize(report, AdminJson.Pretty);
        var back = JsonSerializer.Deserialize<SimulationReport>(json, AdminJson.Options)!;

        Assert.Contains("\"ok\": true", json);
        Assert.Contains("\"machinesPerSecond\": 1", json);
        Assert.Equal(report.Stages, back.Stages);
        Assert.Equal(report.Admin!.Installed, back.Admin!.Installed);
        Assert.Equal((report.Machines, report.Completed, report.WallSeconds), (back.Machines, back.Completed, back.WallSeconds));
    }
}
