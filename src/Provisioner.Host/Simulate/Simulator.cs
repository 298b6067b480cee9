using System.Diagnostics;
using System.Security.Cryptography;
using Provisioner.Domain.Machines;
using Provisioner.Host.Admin;

namespace Provisioner.Host.Simulate;

/// <summary>
/// Runs a boot storm: powers machines on at the asked rate (at most <see cref="SimulateOptions.InFlight"/> booting at
/// once; one async task each, no thread per machine), waits until every one has ended, then (with --admin) reads
/// every machine back from the admin API, and builds the report.
/// </summary>
public static class Simulator
{
    /// <summary>Admin API reads at once for the Installed check.</summary>
    public const int AdminReadsAtOnce = 8;

    public static async Task<SimulationReport> RunAsync(SimulateOptions options, CancellationToken interrupted)
    {
        ArgumentNullException.ThrowIfNull(options);
        var records = Enumerable.Range(0, options.Machines).Select(i => new MachineRecord(i, MachineId.FromBytes(options.Mac(i)).Value)).ToArray();
        var counters = new PacketCounters();
        RelayAgent relay;
        try
        {
            relay = new RelayAgent(options.Relay, options.DhcpServers, counters);
        }
        catch (System.Net.Sockets.SocketException e)
        {
            throw new SimulationFailedException($"cannot listen on the relay address {options.Relay}: {e.Message} (it must be an address of this host; port 67 needs root or CAP_NET_BIND_SERVICE)");
        }

        using (relay)
        {
            var sources = new SourceAddresses();
            var context = new SimulationContext(options, relay, sources, counters, (uint)RandomNumberGenerator.GetInt32(int.MaxValue) << 1);
            using var slots = new SemaphoreSlim(options.InFlight);
            var running = new List<Task>(options.Machines);
            var clock = Stopwatch.StartNew();
            var index = 0;
            try
            {
                for (; index < records.Length; index++)
                {
                    var due = TimeSpan.FromSeconds(index / options.Rate) - clock.Elapsed;
                    if (due > TimeSpan.Zero)
                    {
                        await Task.Delay(due, interrupted).ConfigureAwait(false);
                    }

                    await slots.WaitAsync(interrupted).ConfigureAwait(false);
                    var machine = new SimulatedMachine(records[index], options.Mac(index), context);
                    running.Add(Task.Run(async () =>
                    {
                        try
                        {
                            await machine.RunAsync(interrupted).ConfigureAwait(false);
                        }
                        finally
                        {
                            slots.Release();
                        }
                    }, CancellationToken.None));
                }
            }
            catch (OperationCanceledException) when (interrupted.IsCancellationRequested)
            {
                for (; index < records.Length; index++)
                {
                    records[index].Fail("interrupted before it powered on", context.Now);
                }
            }

            await Task.WhenAll(running).ConfigureAwait(false);
            var wall = clock.Elapsed;
            var admin = options.Admin is null ? null : await CheckInstalledAsync(options, records, CancellationToken.None).ConfigureAwait(false);
            return SimulationReport.Build(records, options.Rate, wall, sources.Describe(), admin) with { Packets = counters.Snapshot() };
        }
    }

    /// <summary>Reads every machine from the admin API: each must be Installed.</summary>
    public static async Task<AdminCheckReport> CheckInstalledAsync(SimulateOptions options, IReadOnlyList<MachineRecord> records, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(records);
        var server = options.Admin!.ToString();
        using var client = AdminClient.Create(server, options.Token);
        var stages = new string[records.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, records.Count), new ParallelOptions { MaxDegreeOfParallelism = AdminReadsAtOnce, CancellationToken = ct }, async (i, token) =>
        {
            try
            {
                var machine = await client.GetMachineAsync(records[i].Mac, token).ConfigureAwait(false);
                stages[i] = machine.Stage.ToString();
            }
            catch (AdminApiException e) when (e.Status == System.Net.HttpStatusCode.NotFound)
            {
                stages[i] = "unknown to the cluster";
            }
            catch (AdminApiException e)
            {
                stages[i] = "unreadable: " + e.Message;
            }
        }).ConfigureAwait(false);

        var notInstalled = Enumerable.Range(0, records.Count)
            .Where(i => !IsInstalled(stages[i]))
            .Select(i => new NotInstalledMachine(records[i].Mac, stages[i]))
            .ToArray();
        return new AdminCheckReport(server, records.Count, records.Count - notInstalled.Length, notInstalled.Length, [.. notInstalled.Take(SimulationReport.ListedAtMost)]);
    }

    /// <summary>The stage the run must leave every machine in: its %post phoned home, its installed system not yet booted.</summary>
    /// <summary>Installed, or Rebooted: its installed system booted (a machine whose phone-home answer was lost boots its disk next).</summary>
    public static bool IsInstalled(string stage) => stage is nameof(MachineStage.Installed) or nameof(MachineStage.Rebooted);
}
