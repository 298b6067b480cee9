using Microsoft.Extensions.Logging;
using Provisioner.Domain.Boot;
using Provisioner.Domain.Machines;
using Provisioner.Edge.Clients;
using Provisioner.Edge.Outage;

namespace Provisioner.Edge.Tftp;

/// <summary>
/// Tells the machine behind a completed TFTP transfer what it fetched, through the <see cref="ReportOutbox"/>:
/// delivered now, or queued while no core answers. A boot program is <c>NbpServed</c>; on the Secure Boot chain
/// (with <paramref name="chain"/>) its <c>grub.cfg</c> is <c>BootConfigServed</c> and its kernel and initrd are
/// <c>KernelFetched</c> / <c>InitrdFetched</c>, as over HTTP. What a file is comes from the boot-policy port.
/// </summary>
public sealed partial class NbpReporter(
    ReportOutbox reports,
    ClientAddressBook addresses,
    TimeProvider clock,
    ILogger<NbpReporter> logger,
    IBootPolicy? bootPolicy = null,
    GrubChainFiles? chain = null) : ITftpTransferObserver
{
    /// <summary>The config name a <c>BootConfigServed</c> carries.</summary>
    public const string GrubConfigName = "grub.cfg";

    public void TransferCompleted(TftpTransferRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (addresses.Find(record.Client.Address) is not { } machine)
        {
            LogUnknownClient(record.Client, record.RequestedFileName);
            return;
        }

        _ = ReportAsync(machine, record);
    }

    public void TransferFailed(TftpTransferRecord record, string reason)
    {
    }

    private async Task ReportAsync(MachineId machine, TftpTransferRecord record)
    {
        var now = clock.GetUtcNow();
        var path = record.ResolvedFileName ?? record.RequestedFileName;
        try
        {
            MachineCommand? report = (bootPolicy?.TftpFetch(path) ?? TftpFetchKind.BootProgram) switch
            {
                TftpFetchKind.BootConfig => new MachineCommands.ReportBootScriptServed(now, GrubConfigName),
                TftpFetchKind.Asset => chain is null
                    ? null
                    : await chain.AssetReportAsync(machine, record.Client.Address, GrubChain.AssetPath(path), now, CancellationToken.None).ConfigureAwait(false),
                _ => new MachineCommands.ReportNbpServed(now, record.RequestedFileName),
            };
            if (report is null)
            {
                return;
            }

            var result = await reports.SendAsync(machine, report).ConfigureAwait(false);
            LogReported(machine.Value, report, path, result.Delivery, result.Answer?.Outcome, result.Answer?.Stage);
        }
#pragma warning disable CA1031 // a report never fails the transfer it reports; the outbox queued what only timed out
        catch (Exception e)
#pragma warning restore CA1031
        {
            LogReportFailed(e, machine.Value, path);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "tftp: {Client} downloaded {File} but no machine is known at that address")]
    private partial void LogUnknownClient(System.Net.IPEndPoint client, string file);

    [LoggerMessage(Level = LogLevel.Debug, Message = "machine {MachineId}: {Report} for {File} over TFTP: {Delivery} {Outcome}, stage {Stage}")]
    private partial void LogReported(string machineId, MachineCommand report, string file, ReportDelivery delivery, DecisionOutcome? outcome, MachineStage? stage);

    [LoggerMessage(Level = LogLevel.Warning, Message = "machine {MachineId}: could not report the TFTP fetch of {File}")]
    private partial void LogReportFailed(Exception e, string machineId, string file);
}
