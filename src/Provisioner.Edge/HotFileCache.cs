namespace Provisioner.Edge;

/// <summary>
/// Hot files in memory (TFTP NBPs, HTTP kernels and small assets), least recently used evicted first, bounded
/// by total bytes. An entry is valid only while the file's length and last-write time are what they were when
/// it was read; a changed file is read again. Thread-safe. Files larger than the per-file limit (by default the
/// whole budget) are never cached: the caller streams them from disk.
/// </summary>
public sealed class HotFileCache
{
    private readonly long _capacity;
    private readonly long _maxFileBytes;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, LinkedListNode<Entry>> _entries = new(StringComparer.Ordinal);
    private readonly LinkedList<Entry> _lru = new();
    private long _size;

    /// <summary>
    /// Creates a cache holding at most <paramref name="capacityBytes"/> bytes of file content (0 = off), no file
    /// larger than <paramref name="maxFileBytes"/> (default: the capacity).
    /// </summary>
    public HotFileCache(long capacityBytes, long? maxFileBytes = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(capacityBytes);
        _capacity = capacityBytes;
        _maxFileBytes = Math.Min(maxFileBytes ?? capacityBytes, capacityBytes);
        ArgumentOutOfRangeException.ThrowIfNegative(_maxFileBytes, nameof(maxFileBytes));
    }

    /// <summary>Bytes currently held.</summary>
    public long Size
    {
        get
        {
            lock (_gate)
            {
                return _size;
            }
        }
    }

    /// <summary>Files currently held.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>
    /// The content of <paramref name="fullPath"/> when it may be cached (length ≤ the per-file limit), from memory when
    /// the cached copy matches the file's current length and mtime, else read and remembered. Null when the
    /// file is too large to cache (the caller streams it). IO errors propagate.
    /// </summary>
    public byte[]? GetOrLoad(string fullPath, long length, DateTime lastWriteUtc)
    {
        if (length > _maxFileBytes)
        {
            return null;
        }

        lock (_gate)
        {
            if (_entries.TryGetValue(fullPath, out var node))
            {
                if (node.Value.Content.LongLength == length && node.Value.LastWriteUtc == lastWriteUtc)
                {
                    _lru.Remove(node);
                    _lru.AddFirst(node);
                    return node.Value.Content;
                }

                Remove(node);
            }
        }

        var content = File.ReadAllBytes(fullPath);
        var info = new FileInfo(fullPath);
        if (content.LongLength != info.Length || info.LastWriteTimeUtc != lastWriteUtc)
        {
            return content; // changed while reading: serve what was read, do not remember it
        }

        lock (_gate)
        {
            if (_entries.TryGetValue(fullPath, out var raced))
            {
                Remove(raced);
            }

            while (_size + content.LongLength > _capacity && _lru.Last is { } oldest)
            {
                Remove(oldest);
            }

            _entries[fullPath] = _lru.AddFirst(new Entry(fullPath, content, lastWriteUtc));
            _size += content.LongLength;
        }

        return content;
    }

    private void Remove(LinkedListNode<Entry> node)
    {
        _lru.Remove(node);
        _entries.Remove(node.Value.Path);
        _size -= node.Value.Content.LongLength;
    }

    private sealed record Entry(string Path, byte[] Content, DateTime LastWriteUtc);
}
