using System.Buffers;
using Microsoft.Win32.SafeHandles;
using Provisioner.Protocols.Tftp;

namespace Provisioner.Edge.Tftp;

/// <summary>
/// The bytes a transfer sends, read strictly in order (the transfer keeps the current window itself, so a
/// retransmission never reads again). <see cref="Length"/> is what goes on the wire (tsize).
/// </summary>
internal abstract class TftpBlockSource : IDisposable
{
    public abstract long Length { get; }

    /// <summary>Fills <paramref name="destination"/> with the next bytes; fewer only at the end (or if the file shrank).</summary>
    public abstract int Read(Span<byte> destination);

    public abstract void Dispose();
}

/// <summary>A cached file.</summary>
internal sealed class MemoryBlockSource(byte[] content) : TftpBlockSource
{
    private long _position;

    public override long Length => content.LongLength;

    public override int Read(Span<byte> destination)
    {
        var count = (int)Math.Min(destination.Length, content.LongLength - _position);
        content.AsSpan((int)_position, count).CopyTo(destination);
        _position += count;
        return count;
    }

    public override void Dispose()
    {
    }
}

/// <summary>A file too large for the cache, read with positional reads (no FileStream buffer).</summary>
internal sealed class FileBlockSource(SafeFileHandle handle, long length) : TftpBlockSource
{
    private long _position;

    public override long Length => length;

    public override int Read(Span<byte> destination)
    {
        var total = 0;
        while (total < destination.Length)
        {
            var n = RandomAccess.Read(handle, destination[total..], _position);
            if (n == 0)
            {
                break;
            }

            total += n;
            _position += n;
        }

        return total;
    }

    public override void Dispose() => handle.Dispose();
}

/// <summary>Netascii (RFC 764) over a raw source, with the codec's streaming encoder.</summary>
internal sealed class NetasciiBlockSource : TftpBlockSource
{
    private readonly TftpBlockSource _raw;
    private readonly NetasciiEncoder _encoder = new();
    private readonly byte[] _buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
    private int _start;
    private int _end;
    private bool _rawDone;

    public NetasciiBlockSource(TftpBlockSource raw, long encodedLength)
    {
        _raw = raw;
        Length = encodedLength;
    }

    public override long Length { get; }

    public override int Read(Span<byte> destination)
    {
        var total = 0;
        while (total < destination.Length)
        {
            if (_start == _end && !_rawDone)
            {
                _start = 0;
                _end = _raw.Read(_buffer);
                _rawDone = _end == 0;
            }

            if (_start == _end && !_encoder.HasPending)
            {
                break;
            }

            _encoder.Encode(_buffer.AsSpan(_start, _end - _start), destination[total..], out var consumed, out var written);
            _start += consumed;
            total += written;
        }

        return total;
    }

    /// <summary>Encoded length of a raw source, read to its end in chunks (the source is then spent, and disposed unless told not to).</summary>
    public static long MeasureEncodedLength(TftpBlockSource raw, bool disposeSource = true)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            long total = 0;
            int n;
            while ((n = raw.Read(buffer)) > 0)
            {
                total += NetasciiEncoder.GetEncodedLength(buffer.AsSpan(0, n));
            }

            return total;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            if (disposeSource)
            {
                raw.Dispose();
            }
        }
    }

    public override void Dispose()
    {
        ArrayPool<byte>.Shared.Return(_buffer);
        _raw.Dispose();
    }
}
