using Microsoft.Extensions.Logging;
using Provisioner.Domain.Machines;

namespace Provisioner.Edge.Http;

internal static partial class BootHttpLog
{
    [LoggerMessage(101, LogLevel.Information, "HTTP boot script for {Machine}: {Kind} ({Detail})")]
    public static partial void ScriptServed(ILogger logger, string machine, string kind, string detail);

    [LoggerMessage(102, LogLevel.Warning, "HTTP boot script for {Machine}: no profile applies: {Reason}")]
    public static partial void NoProfile(ILogger logger, string machine, string reason);

    [LoggerMessage(103, LogLevel.Warning, "HTTP {Path} from {Client}: unknown or forged token")]
    public static partial void BadToken(ILogger logger, string path, string client);

    [LoggerMessage(104, LogLevel.Warning, "HTTP could not report {Command} for {Machine}")]
    public static partial void ReportFailed(ILogger logger, Exception exception, string command, string machine);

    [LoggerMessage(105, LogLevel.Debug, "HTTP {Command} for {Machine}: {Outcome} {Reason}")]
    public static partial void Reported(ILogger logger, string command, string machine, string outcome, string? reason);

    [LoggerMessage(106, LogLevel.Error, "HTTP cannot read the state of {Machine}")]
    public static partial void StateUnavailable(ILogger logger, Exception exception, string machine);

    [LoggerMessage(107, LogLevel.Error, "HTTP cannot render {What} for {Machine}: {Reason}")]
    public static partial void RenderFailed(ILogger logger, string what, string machine, string reason);

    [LoggerMessage(108, LogLevel.Information, "HTTP kickstart for {Machine} ({Hostname}), profile {Profile}")]
    public static partial void KickstartServed(ILogger logger, string machine, string hostname, string profile);

    [LoggerMessage(109, LogLevel.Warning, "HTTP reservation hostname '{Hostname}' of {Machine} is not a valid hostname; using {Fallback}")]
    public static partial void BadHostname(ILogger logger, string hostname, string machine, string fallback);

    [LoggerMessage(110, LogLevel.Information, "HTTP {Machine} phoned home: {What} ({Outcome})")]
    public static partial void PhonedHome(ILogger logger, string machine, string what, string outcome);

    [LoggerMessage(111, LogLevel.Warning, "HTTP asset '{Path}' cannot be read: {Reason}")]
    public static partial void AssetUnreadable(ILogger logger, string path, string reason);

    [LoggerMessage(112, LogLevel.Debug, "HTTP boot script for {Machine}: {Kind} ({Detail}; stage {Stage}); nothing new recorded")]
    public static partial void ScriptServedNothingNew(ILogger logger, string machine, string kind, string detail, MachineStage stage);

    [LoggerMessage(113, LogLevel.Debug, "HTTP asset '{Path}' ({Bytes} bytes) to {Client} by sendfile: {Outcome}")]
    public static partial void AssetSentByKernel(ILogger logger, string path, long bytes, string client, string outcome);
}
