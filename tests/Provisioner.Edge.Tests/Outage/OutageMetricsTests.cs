using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Provisioner.Domain.Machines;
using Provisioner.Edge.Dhcp;
using Provisioner.Edge.Outage;
using Provisioner.Protocols.Dhcp;
using static Provisioner.Domain.Machines.MachineCommands;

namespace Provisioner.Edge.Tests.Outage;

/// <summary>The instruments sum every live outbox and lease memory of the process: no other test may run beside these.</summary>
[CollectionDefinition(nameof(OutageMetricsRunAlone), DisableParallelization = true)]
public sealed class OutageMetricsRunAlone;

[Collection(nameof(OutageMetricsRunAlone))]
public sealed class OutageMetricsTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 10, 8, 0, 0, TimeSpan.Zero);

    private static Dictionary<string, double> Read()
    {
        var seen = new Dictionary<string, double>(StringComparer.Ordinal);
        using var meters = new MeterListener();
        meters.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == EdgeMetrics.MeterName && instrument.Name.StartsWith("provisioner.edge.", StringComparison.Ordinal))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        meters.SetMeasurementEventCallback<long>((instrument, value, _, _) => seen[instrument.Name] = seen.GetValueOrDefault(instrument.Name) + value);
        meters.SetMeasurementEventCallback<double>((instrument, value, _, _) => seen[instrument.Name] = Math.Max(seen.GetValueOrDefault(instrument.Name), value));
        meters.Start();
        meters.RecordObservableInstruments();
        return seen;
    }

    [Fact]
    public async Task Renewals_from_memory_and_queued_reports_show_on_the_edge_meter()
    {
        var clock = new FakeTimeProvider(T0);
        var cores = new FakeCoreReachability();
        var mac = MachineId.Parse("52:54:00:00:0e:01");
        var address = IPv4Address.Parse("10.0.0.10");
        var before = Read();

        using (var outbox = new ReportOutbox(new RecordingMachineGateway(), cores, new ReportOutboxOptions { Capacity = 2 }, clock, NullLogger<ReportOutbox>.Instance))
        using (var leases = new RememberingLeaseGateway(new ScriptedLeaseGateway(), new RememberedLeases(10), cores))
        {
            await leases.RequestAsync("local", mac, address, false, T0, CancellationToken.None);
            cores.CoresReachable = false;
            await leases.RequestAsync("local", mac, address, true, T0.AddMinutes(30), CancellationToken.None);
            await leases.OfferAsync("local", MachineId.Parse("52:54:00:00:0e:02"), null, T0.AddMinutes(30), CancellationToken.None);
            await outbox.SendAsync(mac, new ReportNbpServed(T0, "ipxe.efi"));
            await outbox.SendAsync(mac, new ReportKernelFetched(T0, "/vmlinuz"));
            await outbox.SendAsync(mac, new ReportKickstartFetched(T0));
            clock.Advance(TimeSpan.FromSeconds(42));

            var during = Read();

            double Delta(string name) => during.GetValueOrDefault(name) - before.GetValueOrDefault(name);
            Assert.Equal(1, Delta("provisioner.edge.renewals.from_memory"));
            Assert.Equal(1, Delta("provisioner.edge.leases.unavailable"));
            Assert.Equal(1, Delta("provisioner.edge.leases.remembered"));
            Assert.Equal(2, Delta("provisioner.edge.reports.queued"));
            Assert.Equal(3, Delta("provisioner.edge.reports.enqueued"));
            Assert.Equal(1, Delta("provisioner.edge.reports.dropped"));
            Assert.True(during["provisioner.edge.reports.oldest_age"] >= 42);
            Assert.Contains("provisioner.edge.reports.delivered_late", during.Keys);
            Assert.Contains("provisioner.edge.leases.evicted", during.Keys);
        }

        var after = Read();
        Assert.Equal(before.GetValueOrDefault("provisioner.edge.reports.queued"), after.GetValueOrDefault("provisioner.edge.reports.queued"));
    }
}
