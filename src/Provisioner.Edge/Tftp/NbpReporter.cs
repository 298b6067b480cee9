using Microsoft.Extensions.Logging;
using Provisioner.Domain.Machines;
using Provisioner.Edge.Clients;
using Provisioner.Edge.Outage;

namespace Provisioner.Edge.Tftp;

/// <summary>
/// Tells the machine behind a completed TFTP transfer that its NBP was served (<c>NbpServed</c>), through the
/// <see cref="ReportOutbox"/>: delivered now, or queued while no core answers.
/// </summary>
public sealed partial class NbpReporter(ReportOutbox reports, ClientAddressBook addresses, TimeProvider clock, ILogger<NbpReporter> logger) : ITftpTransferObserver
{
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
        try
        {
            await reports.SendAsync(machine, new MachineCommands.ReportNbpServed(clock.GetUtcNow(), record.RequestedFileName)).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // a report never fails the transfer it reports; the outbox queued what only timed out
        catch (Exception e)
#pragma warning restore CA1031
        {
            LogReportFailed(e, machine.Value, record.RequestedFileName);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "tftp: {Client} downloaded {File} but no machine is known at that address")]
    private partial void LogUnknownClient(System.Net.IPEndPoint client, string file);

    [LoggerMessage(Level = LogLevel.Warning, Message = "machine {MachineId}: could not report NbpServed {File}")]
    private partial void LogReportFailed(Exception e, string machineId, string file);
}
