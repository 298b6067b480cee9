using System.Net;

namespace Provisioner.Edge.Tftp;

/// <summary>
/// Names the TFTP server does not look up in its root: a file rendered for the client that asks (GRUB's
/// <c>grub.cfg</c>), or one kept elsewhere (the HTTP assets directory). Asked off the receive loop; the server still
/// admits, bounds, refuses and reports these transfers like any other.
/// </summary>
public interface ITftpVirtualFiles
{
    /// <summary>True when <paramref name="name"/> (normalised by <see cref="TftpVirtualName"/>) is served by this source. Called on the receive loop: cheap, no I/O.</summary>
    bool Claims(string name);

    /// <summary>The file for <paramref name="client"/>: its bytes, a real path to open, or not found with a reason. May throw when the answer cannot be had; the RRQ is then dropped (the client retransmits).</summary>
    Task<TftpVirtualFile> OpenAsync(IPEndPoint client, string name, CancellationToken cancellationToken);
}

/// <summary>What <see cref="ITftpVirtualFiles.OpenAsync"/> found: exactly one of <paramref name="Content"/>, <paramref name="FullPath"/> or <paramref name="Reason"/> (not found).</summary>
public sealed record TftpVirtualFile(byte[]? Content, string? FullPath, string? Reason)
{
    public static TftpVirtualFile Rendered(byte[] content) => new(content, null, null);

    public static TftpVirtualFile File(string fullPath) => new(null, fullPath, null);

    public static TftpVirtualFile NotFound(string reason) => new(null, null, reason);
}

/// <summary>The name a virtual file is asked by, with the root's rules (one leading '/' stripped; no <c>..</c>, '\', control characters or empty segments).</summary>
public static class TftpVirtualName
{
    /// <summary>The name relative to the root, '/'-separated; null when it is not a name the server would serve.</summary>
    public static string? Normalize(string requested)
    {
        ArgumentNullException.ThrowIfNull(requested);
        var name = requested.StartsWith('/') ? requested[1..] : requested;
        if (name.Length == 0 || name.Any(c => char.IsControl(c) || c == '\\'))
        {
            return null;
        }

        foreach (var segment in name.Split('/'))
        {
            if (segment.Length == 0 || segment == "..")
            {
                return null;
            }
        }

        return name;
    }
}
