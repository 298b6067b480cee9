namespace Provisioner.Edge.Http;

/// <summary>
/// Maps a request path under <c>/assets/</c> to a regular file inside the assets directory, or refuses it.
/// Refused: empty, '.' or '..' segments, backslashes, control characters, and any path whose symlinks (in any
/// component, including the root's own) resolve outside the real assets directory. The path returned is the
/// resolved one, with every component checked, so what is opened is what was checked.
/// </summary>
public static class AssetPathResolver
{
    private const int MaxLinkDepth = 40;

    public static string? Resolve(string assetsDirectory, string? requestPath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(assetsDirectory);
        if (!IsCleanRelativePath(requestPath))
        {
            return null;
        }

        var root = RealPath(Path.GetFullPath(assetsDirectory), 0);
        if (root is null || !Directory.Exists(root))
        {
            return null;
        }

        var resolved = RealPath(Path.Join(root, requestPath), 0);
        if (resolved is null || !resolved.StartsWith(root.TrimEnd('/') + "/", StringComparison.Ordinal))
        {
            return null;
        }

        return File.Exists(resolved) ? resolved : null;
    }

    public static bool IsCleanRelativePath(string? path) =>
        !string.IsNullOrEmpty(path)
        && !path.StartsWith('/')
        && !path.Contains('\\', StringComparison.Ordinal)
        && !path.Any(char.IsControl)
        && path.Split('/').All(s => s.Length > 0 && s is not ("." or ".."));

    /// <summary>Like realpath(3): resolves every symlink in every component; null when a component is missing or links loop.</summary>
    private static string? RealPath(string fullPath, int depth)
    {
        if (depth > MaxLinkDepth)
        {
            return null;
        }

        var current = Path.GetPathRoot(fullPath) ?? "/";
        foreach (var part in fullPath[current.Length..].Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            var next = Path.Join(current, part);
            var info = new FileInfo(next);
            if (info.LinkTarget is { } target)
            {
                var resolved = RealPath(Path.GetFullPath(target, current), depth + 1);
                if (resolved is null)
                {
                    return null;
                }

                current = resolved;
            }
            else if (info.Exists || Directory.Exists(next))
            {
                current = next;
            }
            else
            {
                return null;
            }
        }

        return current;
    }
}
