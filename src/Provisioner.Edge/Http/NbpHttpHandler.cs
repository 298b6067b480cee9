using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Provisioner.Domain.Machines;
using Provisioner.Edge.Clients;
using Provisioner.Edge.Outage;

namespace Provisioner.Edge.Http;

/// <summary>
/// <c>GET/HEAD /nbp/{file}</c>: network boot programs for UEFI HTTP-boot firmware, from the same directory TFTP serves
/// them from (<see cref="BootHttpOptions.NbpDirectory"/>, the TFTP root, where they are staged at start). EDK2's
/// HttpBootDxe sends HEAD first (for the size: Content-Length, no body) and then GET, with <c>User-Agent:
/// UefiHttpBoot/1.0</c> and a Host header without the port. A complete GET is the machine's <c>NbpServed</c>, as a
/// completed TFTP transfer is: the request carries only the client's address, so the machine is the one DHCP gave
/// that address to (<see cref="ClientAddressBook"/>).
/// </summary>
public sealed partial class NbpHttpHandler(
    BootHttpOptions options,
    ClientAddressBook addresses,
    ReportOutbox reports,
    TimeProvider clock,
    ILogger<NbpHttpHandler> logger)
{
    private readonly AssetFiles _files = new(options.NbpDirectory, options.CacheBytes, options.CacheMaxFileBytes);

    public Task NbpAsync(string? path, HttpContext context) => _files.ServeAsync(path, context, options.SendFile, logger, ReportAsync);

    private async Task ReportAsync(string file, HttpContext context)
    {
        var client = context.Connection.RemoteIpAddress;
        if (client is null || addresses.Find(client) is not { } machine)
        {
            LogUnknownClient(client, file);
            return;
        }

        LogServed(machine.Value, file, client, context.Request.Headers.UserAgent);
        try
        {
            await reports.SendAsync(machine, new MachineCommands.ReportNbpServed(clock.GetUtcNow(), file)).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // a report never fails the response it reports; the outbox queued what only timed out
        catch (Exception e)
#pragma warning restore CA1031
        {
            LogReportFailed(e, machine.Value, file);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "HTTP NBP {File} to {Machine} at {Client} ({UserAgent})")]
    private partial void LogServed(string machine, string file, System.Net.IPAddress client, Microsoft.Extensions.Primitives.StringValues userAgent);

    [LoggerMessage(Level = LogLevel.Information, Message = "HTTP NBP: {Client} downloaded {File} but no machine is known at that address")]
    private partial void LogUnknownClient(System.Net.IPAddress? client, string file);

    [LoggerMessage(Level = LogLevel.Warning, Message = "HTTP NBP: machine {Machine}: could not report NbpServed {File}")]
    private partial void LogReportFailed(Exception e, string machine, string file);
}
