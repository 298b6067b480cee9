using System.Net;
using Microsoft.Extensions.Logging;
using Provisioner.Protocols.Tftp;

namespace Provisioner.Edge.Tftp;

/// <summary>The TFTP server's log lines (source-generated, so a disabled level costs nothing).</summary>
internal static partial class TftpLog
{
    [LoggerMessage(1, LogLevel.Information, "TFTP listening on {EndPoint} (root {Root}, interface '{Interface}', max blksize {MaxBlockSize}, max windowsize {MaxWindowSize}, max transfers {MaxTransfers}, {MaxTransfersPerClient} per client)")]
    public static partial void Listening(ILogger logger, IPEndPoint endPoint, string root, string @interface, int maxBlockSize, int maxWindowSize, int maxTransfers, int maxTransfersPerClient);

    [LoggerMessage(2, LogLevel.Information, "TFTP {Client} {File} sent {Bytes} bytes in {DurationMs} ms ({MegabytesPerSecond} MB/s), blksize {BlockSize}, windowsize {WindowSize}")]
    public static partial void Completed(ILogger logger, IPEndPoint client, string file, long bytes, long durationMs, double megabytesPerSecond, int blockSize, int windowSize);

    // Lines 3, 4, 7, 13, 14 and 15 go through a LogSummary: at most one per cause per interval; Suppressed is how many
    // of that cause were not logged since its previous line.
    [LoggerMessage(3, LogLevel.Warning, "TFTP {Client} refused '{RequestedFile}': {Reason} (ERROR {Code}); {Suppressed} more refusals for this cause not logged since the last line")]
    public static partial void Refused(ILogger logger, IPEndPoint client, string requestedFile, string reason, int code, long suppressed);

    [LoggerMessage(4, LogLevel.Warning, "TFTP {Client} {File} failed after {Bytes} bytes in {DurationMs} ms: {Reason}; {Suppressed} more failures for this cause not logged since the last line")]
    public static partial void Failed(ILogger logger, IPEndPoint client, string file, long bytes, long durationMs, string reason, long suppressed);

    [LoggerMessage(5, LogLevel.Debug, "TFTP {Client} {File} ended by the client after the OACK (ERROR {Code} '{Message}'): a size probe, not a failure")]
    public static partial void AbortedAfterOack(ILogger logger, IPEndPoint client, string file, int code, string message);

    [LoggerMessage(6, LogLevel.Debug, "TFTP {Client} {Opcode} '{File}' mode {Mode} options [{Options}]")]
    public static partial void Request(ILogger logger, IPEndPoint client, TftpOpcode opcode, string file, string mode, string options);

    [LoggerMessage(7, LogLevel.Information, "TFTP dropped a malformed datagram from {Client}: {Error}; {Suppressed} more not logged since the last line")]
    public static partial void Malformed(ILogger logger, IPEndPoint client, TftpParseError error, long suppressed);

    [LoggerMessage(8, LogLevel.Warning, "TFTP write-directory '{Directory}' is set but writes are not implemented: every WRQ is refused")]
    public static partial void WritesNotImplemented(ILogger logger, string directory);

    [LoggerMessage(9, LogLevel.Error, "TFTP transfer observer threw")]
    public static partial void ObserverThrew(ILogger logger, Exception exception);

    [LoggerMessage(10, LogLevel.Error, "TFTP {Client} '{File}': unexpected error")]
    public static partial void Unexpected(ILogger logger, IPEndPoint client, string file, Exception exception);

    [LoggerMessage(11, LogLevel.Warning, "TFTP receive on {EndPoint} failed: {Error}; {Suppressed} more not logged since the last line")]
    public static partial void ReceiveFailed(ILogger logger, IPEndPoint endPoint, string error, long suppressed);

    [LoggerMessage(13, LogLevel.Warning, "TFTP {Client} RRQ dropped unanswered: {Key} = {Cap} transfers running (the client retransmits); {Suppressed} more not logged since the last line")]
    public static partial void Shed(ILogger logger, IPEndPoint client, string key, int cap, long suppressed);

    [LoggerMessage(14, LogLevel.Warning, "TFTP {Client} refusal not answered: {Why}; {Suppressed} more not logged since the last line")]
    public static partial void RefusalDropped(ILogger logger, IPEndPoint client, string why, long suppressed);

    [LoggerMessage(15, LogLevel.Warning, "TFTP {Client} RRQ dropped: no socket or file handle to be had ({Error}); {Suppressed} more not logged since the last line")]
    public static partial void NoResources(ILogger logger, IPEndPoint client, string error, long suppressed);

    [LoggerMessage(12, LogLevel.Information, "TFTP: the kernel refused UDP segmentation ({Error}); windows are sent one datagram per block from now on")]
    public static partial void SegmentationRefused(ILogger logger, string error);
}
