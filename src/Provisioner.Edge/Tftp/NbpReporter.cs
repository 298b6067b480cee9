using Microsoft.Extensions.Logging;
using Provisioner.Domain.Machines;
using Provisioner.Edge.Clients;

namespace Provisioner.Edge.Tftp;

/// <summary>Tells the machine behind a completed TFTP transfer that its NBP was served (<c>NbpServed</c>).</summary>
public sealed partial class NbpReporter(IMachineGateway machines, ClientAddressBook addresses, TimeProvider clock, ILogger<NbpReporter> logger) : ITftpTransferObserver
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
            await machines.ExecuteAsync(machine, new MachineCommands.ReportNbpServed(clock.GetUtcNow(), record.RequestedFileName), CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is TimeoutException or TaskCanceledException or Akka.Actor.AskTimeoutException)
        {
            LogReportFailed(e, machine.Value, record.RequestedFileName);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "tftp: {Client} downloaded {File} but no machine is known at that address")]
    private partial void LogUnknownClient(System.Net.IPEndPoint client, string file);

    [LoggerMessage(Level = LogLevel.Warning, Message = "machine {MachineId}: could not report NbpServed {File}")]
    private partial void LogReportFailed(Exception e, string machineId, string file);
}
