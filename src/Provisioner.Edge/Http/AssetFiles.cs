using System.Collections.Concurrent;

namespace Provisioner.Edge.Http;

/// <summary>
/// The files behind <c>/assets/</c>: where a request path leads and, for hot files, their bytes.
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
    private readonly ConcurrentDictionary<string, (string? File, long Until)> _resolved = new(StringComparer.Ordinal);

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

        _resolved[requestPath] = (file, now + (long)ResolutionLifetime.TotalMilliseconds);
        return file;
    }
}
