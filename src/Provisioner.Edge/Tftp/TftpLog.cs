using System.Net;
using Microsoft.Extensions.Logging;

namespace Provisioner.Edge.Tftp;

/// <summary>The TFTP server's log lines (source-generated, so a disabled level costs nothing).</summary>
internal static partial class TftpLog
{
    [LoggerMessage(1, LogLevel.Information, "TFTP listening on {EndPoint} (root {Root}, interface '{Interface}', max blksize {MaxBlockSize}, max windowsize {MaxWindowSize})")]
    public static partial void Listening(ILogger logger, IPEndPoint endPoint, string root, string @interface, int maxBlockSize, int maxWindowSize);

    [LoggerMessage(2, LogLevel.Information, "TFTP {Client} {File} sent {Bytes} bytes in {DurationMs} ms ({MegabytesPerSecond} MB/s), blksize {BlockSize}, windowsize {WindowSize}")]
    public static partial void Completed(ILogger logger, IPEndPoint client, string file, long bytes, long durationMs, double megabytesPerSecond, int blockSize, int windowSize);

    [LoggerMessage(3, LogLevel.Warning, "TFTP {Client} refused '{RequestedFile}': {Reason} (ERROR {Code})")]
    public static partial void Refused(ILogger logger, IPEndPoint client, string requestedFile, string reason, int code);

    [LoggerMessage(4, LogLevel.Warning, "TFTP {Client} {File} failed after {Bytes} bytes in {DurationMs} ms: {Reason}")]
    public static partial void Failed(ILogger logger, IPEndPoint client, string file, long bytes, long durationMs, string reason);

    [LoggerMessage(5, LogLevel.Debug, "TFTP {Client} {File} ended by the client after the OACK (ERROR {Code} '{Message}'): a size probe, not a failure")]
    public static partial void AbortedAfterOack(ILogger logger, IPEndPoint client, string file, int code, string message);

    [LoggerMessage(6, LogLevel.Debug, "TFTP {Client} RRQ '{File}' mode {Mode} options [{Options}]")]
    public static partial void Request(ILogger logger, IPEndPoint client, string file, string mode, string options);

    [LoggerMessage(7, LogLevel.Debug, "TFTP dropped a malformed datagram from {Client}: {Error}")]
    public static partial void Malformed(ILogger logger, IPEndPoint client, string error);

    [LoggerMessage(8, LogLevel.Warning, "TFTP write-directory '{Directory}' is set but writes are not implemented: every WRQ is refused")]
    public static partial void WritesNotImplemented(ILogger logger, string directory);

    [LoggerMessage(9, LogLevel.Error, "TFTP transfer observer threw")]
    public static partial void ObserverThrew(ILogger logger, Exception exception);

    [LoggerMessage(10, LogLevel.Error, "TFTP {Client} '{File}': unexpected error")]
    public static partial void Unexpected(ILogger logger, IPEndPoint client, string file, Exception exception);

    [LoggerMessage(11, LogLevel.Warning, "TFTP receive on {EndPoint} failed: {Error}")]
    public static partial void ReceiveFailed(ILogger logger, IPEndPoint endPoint, string error);

    [LoggerMessage(12, LogLevel.Information, "TFTP: the kernel refused UDP segmentation ({Error}); windows are sent one datagram per block from now on")]
    public static partial void SegmentationRefused(ILogger logger, string error);
}
