using Provisioner.Protocols.Tftp;

namespace Provisioner.Edge.Tftp;

/// <summary>
/// Maps a requested TFTP file name to a regular file under the root, refusing everything that could
/// leave it. The rules, in order:
/// <list type="number">
/// <item>Empty names, NUL, backslashes (a Windows-style separator some clients send; we never guess) and
/// control characters are refused.</item>
/// <item>ONE leading '/' is stripped and the rest taken relative to the root, as tftpd-hpa does with
/// <c>-s</c> (firmware and iPXE commonly ask for <c>/ipxe.efi</c>). A second leading '/' is an absolute
/// path and refused, so <c>/etc/passwd</c> is <c>ROOT/etc/passwd</c>, never the host's file.</item>
/// <item>Any <c>..</c> segment is refused outright (even one that would stay inside the root).</item>
/// <item>The path is resolved component by component like realpath(3): each symlink is replaced by its
/// target (relative targets from the link's directory, at most 40 links), and the final real path must be
/// the root's real path or below it. A symlink inside the root pointing inside it is served; one pointing
/// outside is refused.</item>
/// </list>
/// The file is then opened by its resolved real path. A symlink swapped in between resolving and opening
/// could still race this check; the root is meant to be owned by root and not writable by clients.
/// </summary>
public static class TftpPathResolver
{
    private const int MaxLinks = 40;

    /// <summary>The outcome of <see cref="Resolve"/>.</summary>
    /// <param name="FullPath">Real path of the file to open, when <paramref name="Error"/> is null.</param>
    /// <param name="RelativePath">The same, relative to the root ('/'-separated).</param>
    /// <param name="Error">ERROR code to answer with (1 not found, 2 access violation), null on success.</param>
    /// <param name="Reason">Why it was refused, for the log.</param>
    public readonly record struct Result(string? FullPath, string? RelativePath, TftpErrorCode? Error, string? Reason)
    {
        /// <summary>True when the path may be served.</summary>
        public bool Succeeded => Error is null;
    }

    /// <summary>The real path of a root directory (symlinks resolved), as <see cref="Resolve"/> expects it.</summary>
    public static string GetRealRoot(string root)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        var full = Path.GetFullPath(root);
        var components = full.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var real = Walk("/", components, allowParent: true, out var loop);
        if (real is null || loop)
        {
            throw new DirectoryNotFoundException($"TFTP root '{root}' cannot be resolved (symlink loop?)");
        }

        return real;
    }

    /// <summary>Resolves <paramref name="requested"/> under <paramref name="realRoot"/> (from <see cref="GetRealRoot"/>).</summary>
    public static Result Resolve(string realRoot, string requested)
    {
        ArgumentNullException.ThrowIfNull(realRoot);
        ArgumentNullException.ThrowIfNull(requested);
        if (requested.Length == 0)
        {
            return Refused("empty file name");
        }

        foreach (var c in requested)
        {
            if (c == '\\')
            {
                return Refused("backslash in file name");
            }

            if (c < ' ' || c == '\u007F')
            {
                return Refused("control character in file name");
            }
        }

        var relative = requested[0] == '/' ? requested[1..] : requested;
        if (relative.Length == 0)
        {
            return Refused("no file name after '/'");
        }

        if (relative[0] == '/')
        {
            return Refused("absolute path");
        }

        var segments = relative.Split('/', StringSplitOptions.RemoveEmptyEntries);
        foreach (var segment in segments)
        {
            if (segment == "..")
            {
                return Refused("'..' in file name");
            }
        }

        var real = Walk(realRoot, segments, allowParent: false, out var loop);
        if (loop)
        {
            return Refused("too many symbolic links");
        }

        if (real is null || !IsUnder(realRoot, real))
        {
            return Refused("resolves outside the root");
        }

        if (Directory.Exists(real))
        {
            return Refused("not a regular file");
        }

        if (!File.Exists(real))
        {
            return new Result(null, null, TftpErrorCode.FileNotFound, "file not found");
        }

        var relativeReal = real.Length == realRoot.Length ? string.Empty : real[(realRoot.TrimEnd('/').Length + 1)..];
        return new Result(real, relativeReal, null, null);
    }

    private static Result Refused(string reason) => new(null, null, TftpErrorCode.AccessViolation, reason);

    private static bool IsUnder(string realRoot, string path)
    {
        if (realRoot == "/")
        {
            return true;
        }

        return path.Length > realRoot.Length
            ? path.StartsWith(realRoot, StringComparison.Ordinal) && path[realRoot.Length] == '/'
            : string.Equals(path, realRoot, StringComparison.Ordinal);
    }

    // realpath(3) done by hand: '..' from the client never reaches here, but link targets may use it.
    private static string? Walk(string start, IEnumerable<string> components, bool allowParent, out bool loop)
    {
        loop = false;
        var pending = new LinkedList<string>(components);
        var current = start;
        var links = 0;
        while (pending.First is { } node)
        {
            var segment = node.Value;
            pending.RemoveFirst();
            if (segment.Length == 0 || segment == ".")
            {
                continue;
            }

            if (segment == "..")
            {
                if (!allowParent && links == 0)
                {
                    return null;
                }

                current = Path.GetDirectoryName(current) ?? "/";
                continue;
            }

            var candidate = current == "/" ? "/" + segment : current + "/" + segment;
            string? target;
            try
            {
                target = new FileInfo(candidate).LinkTarget;
            }
            catch (IOException)
            {
                target = null;
            }
            catch (UnauthorizedAccessException)
            {
                target = null;
            }

            if (target is null)
            {
                current = candidate;
                continue;
            }

            if (++links > MaxLinks)
            {
                loop = true;
                return null;
            }

            if (target.StartsWith('/'))
            {
                current = "/";
            }

            var targetParts = target.Split('/', StringSplitOptions.RemoveEmptyEntries);
            for (var i = targetParts.Length - 1; i >= 0; i--)
            {
                pending.AddFirst(targetParts[i]);
            }

            allowParent = true; // a link's own '..' is resolved; the final containment check decides
        }

        return current;
    }
}
