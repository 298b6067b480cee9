using Microsoft.Win32.SafeHandles;

namespace Provisioner.Edge.Tftp;

/// <summary>
/// A resolved file, opened by the server before it creates a transfer socket (so a missing or unreadable
/// file is refused from the listening port, and no socket is opened for it). Holds the handle until
/// <see cref="Load"/> turns it into the bytes to send: from the hot-file cache when the file fits, else
/// streamed from this handle.
/// </summary>
internal sealed class TftpOpenedFile : IDisposable
{
    private readonly SafeFileHandle? _handle;
    private readonly byte[]? _content;
    private readonly long _length;
    private readonly DateTime _lastWriteUtc;

    private TftpOpenedFile(string relativePath, byte[] content)
    {
        FullPath = "(rendered) " + relativePath;
        RelativePath = relativePath;
        _content = content;
        _length = content.Length;
    }

    private TftpOpenedFile(string fullPath, string relativePath, SafeFileHandle handle, long length, DateTime lastWriteUtc)
    {
        FullPath = fullPath;
        RelativePath = relativePath;
        _handle = handle;
        _length = length;
        _lastWriteUtc = lastWriteUtc;
    }

    public string FullPath { get; }

    /// <summary>Path relative to the root, '/'-separated.</summary>
    public string RelativePath { get; }

    /// <summary>Opens <paramref name="fullPath"/> for reading. Throws what the file system throws (not found, access denied, EMFILE …).</summary>
    public static TftpOpenedFile Open(string fullPath, string relativePath)
    {
        var handle = File.OpenHandle(fullPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        try
        {
            // length and mtime of what was opened, not of whatever is at the path now
            return new TftpOpenedFile(fullPath, relativePath, handle, RandomAccess.GetLength(handle), File.GetLastWriteTimeUtc(handle));
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>A file rendered for one client (<see cref="ITftpVirtualFiles"/>): sent from memory, never cached.</summary>
    public static TftpOpenedFile FromContent(string relativePath, byte[] content)
    {
        ArgumentNullException.ThrowIfNull(content);
        return new TftpOpenedFile(relativePath, content);
    }

    /// <summary>The bytes to send; the source owns the handle when it streams from disk.</summary>
    public TftpBlockSource Load(HotFileCache cache, bool netascii)
    {
        if (_handle is null)
        {
            var rendered = new MemoryBlockSource(_content!);
            return netascii ? new NetasciiBlockSource(rendered, Provisioner.Protocols.Tftp.NetasciiEncoder.GetEncodedLength(_content!)) : rendered;
        }

        var content = cache.GetOrLoad(FullPath, _length, _lastWriteUtc);
        if (content is not null)
        {
            _handle.Dispose();
            var memory = new MemoryBlockSource(content);
            return netascii ? new NetasciiBlockSource(memory, Provisioner.Protocols.Tftp.NetasciiEncoder.GetEncodedLength(content)) : memory;
        }

        if (!netascii)
        {
            return new FileBlockSource(_handle, _length);
        }

        // Measured with positional reads over the same handle, then read again from offset 0 by the real source.
        var encoded = NetasciiBlockSource.MeasureEncodedLength(new FileBlockSource(_handle, _length), disposeSource: false);
        return new NetasciiBlockSource(new FileBlockSource(_handle, _length), encoded);
    }

    public void Dispose() => _handle?.Dispose();
}
