using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Net.Http.Headers;
using Provisioner.Cluster;

namespace Provisioner.Edge.Http;

/// <summary>
/// The files behind <c>/assets/</c> (and <c>/nbp/</c>): where a request path leads, for hot files their bytes, and
/// the response that serves one (<see cref="ServeAsync"/>).
/// <para>
/// Resolution (<see cref="AssetPathResolver"/>: every component and symlink checked) walks the path one system
/// call at a time, so its answer for a request path is remembered for <see cref="ResolutionLifetime"/>; a file
/// added, removed or re-linked is seen at most that late. What is remembered is the real path, never a
/// symlink, so a remembered answer still names a file that was inside the root when checked. Contents come
/// from a <see cref="HotFileCache"/>, valid while the file's size and mtime (one stat per request) are unchanged:
/// a 70 KB asset then costs a stat and a memory copy instead of a walk, an open, a read and a close.
/// </para>
/// </summary>
public sealed class AssetFiles
{
    /// <summary>How long the resolution of one request path is trusted.</summary>
    public static readonly TimeSpan ResolutionLifetime = TimeSpan.FromSeconds(1);

    /// <summary>Request paths remembered at most (the map is emptied past this: a scan of random names cannot grow it).</summary>
    private const int MaxRemembered = 4096;

    private readonly string _root;
    private readonly CountedConcurrentMap<string, (string? File, long Until)> _resolved = new(StringComparer.Ordinal);

    public AssetFiles(string assetsDirectory, long cacheBytes, long maxFileBytes)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(assetsDirectory);
        _root = assetsDirectory;
        Cache = new HotFileCache(cacheBytes, maxFileBytes);
    }

    public HotFileCache Cache { get; }

    /// <summary>The real path of the regular file <paramref name="requestPath"/> names inside the root, or null (refused or missing).</summary>
    public string? Resolve(string? requestPath)
    {
        if (requestPath is null)
        {
            return null;
        }

        var now = Environment.TickCount64;
        if (_resolved.TryGetValue(requestPath, out var known) && known.Until > now)
        {
            return known.File;
        }

        var file = AssetPathResolver.Resolve(_root, requestPath);
        if (_resolved.Count >= MaxRemembered)
        {
            _resolved.Clear();
        }

        _resolved.Set(requestPath, (file, now + (long)ResolutionLifetime.TotalMilliseconds));
        return file;
    }

    private const string OctetStream = "application/octet-stream";

    /// <summary>
    /// Serves the file <paramref name="path"/> names (Range, ETag, Last-Modified; HEAD answers the headers, with
    /// Content-Length, and no body), or 404. <paramref name="onWholeGet"/> runs after a complete 200 GET.
    /// </summary>
    public async Task ServeAsync(string? path, HttpContext context, bool sendFile, ILogger logger, Func<string, HttpContext, Task> onWholeGet)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(onWholeGet);
        var file = Resolve(path);
        var info = file is null ? null : new FileInfo(file);
        if (info is not { Exists: true } || path is null)
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        var lastModified = new DateTimeOffset(info.LastWriteTimeUtc);
        // Like nginx: size and mtime, so the tag changes when the file is replaced.
        var etag = new EntityTagHeaderValue($"\"{info.Length:x}-{lastModified.ToUnixTimeMilliseconds():x}\"");
        byte[]? content;
        try
        {
            content = Cache.GetOrLoad(info.FullName, info.Length, info.LastWriteTimeUtc);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            BootHttpLog.AssetUnreadable(logger, path, e.Message);
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        if (content is null && sendFile && SendFileResponse.CanTake(context))
        {
            var complete = await SendFileResponse.SendAsync(context, info, etag, lastModified, OctetStream, () => onWholeGet(path, context)).ConfigureAwait(false);
            BootHttpLog.AssetSentByKernel(logger, path, info.Length, context.Connection.RemoteIpAddress?.ToString() ?? "unknown", complete ? "complete" : "not completed (client left or stalled, or the file is gone)");
            return;
        }

        IResult result = content is not null
            ? TypedResults.File(content, OctetStream, lastModified: lastModified, entityTag: etag, enableRangeProcessing: true)
            : TypedResults.PhysicalFile(info.FullName, OctetStream, lastModified: lastModified, entityTag: etag, enableRangeProcessing: true);
        await result.ExecuteAsync(context).ConfigureAwait(false);
        if (HttpMethods.IsGet(context.Request.Method)
            && context.Response.StatusCode == StatusCodes.Status200OK
            && !context.RequestAborted.IsCancellationRequested)
        {
            await onWholeGet(path, context).ConfigureAwait(false);
        }
    }
}
