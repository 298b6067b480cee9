namespace Provisioner.Protocols.Tftp;

/// <summary>
/// Local text (newline = LF) to netascii (RFC 764, required by RFC 1350 for mode "netascii"):
/// LF becomes CR LF and a bare CR becomes CR NUL; every other byte passes through. A CR already followed
/// by LF in the file is a bare CR followed by a newline (CR NUL CR LF), as tftpd-hpa sends it.
/// <para>
/// Streaming: a sender fills DATA blocks one at a time, and an escape may straddle two blocks (the CR
/// ends one block, its LF or NUL opens the next). The encoder keeps that second byte in
/// <see cref="HasPending"/> and writes it first on the next call, so blocks are always filled to the
/// block size. One encoder per transfer, not thread-safe; allocation-free after construction.
/// </para>
/// </summary>
public sealed class NetasciiEncoder
{
    private const byte Cr = (byte)'\r';
    private const byte Lf = (byte)'\n';

    private byte _pending;

    /// <summary>True when the second byte of an escape is waiting for the next destination.</summary>
    public bool HasPending { get; private set; }

    /// <summary>
    /// Encodes as much of <paramref name="source"/> as fits in <paramref name="destination"/>, starting
    /// with any byte pending from the previous call. Stops when either runs out.
    /// </summary>
    /// <remarks>
    /// A block is complete when <c>written == destination.Length</c>. The last block of a transfer is the
    /// first one left short once the source is exhausted and <see cref="HasPending"/> is false; if the
    /// encoded stream is an exact multiple of the block size, that last block is empty.
    /// </remarks>
    public void Encode(ReadOnlySpan<byte> source, Span<byte> destination, out int consumed, out int written)
    {
        consumed = 0;
        written = 0;
        if (HasPending)
        {
            if (destination.IsEmpty)
            {
                return;
            }

            destination[written++] = _pending;
            HasPending = false;
        }

        while (consumed < source.Length && written < destination.Length)
        {
            var room = destination.Length - written;
            var run = source.Slice(consumed, Math.Min(room, source.Length - consumed));
            var special = run.IndexOfAny(Cr, Lf);
            if (special < 0)
            {
                run.CopyTo(destination[written..]);
                consumed += run.Length;
                written += run.Length;
                continue;
            }

            run[..special].CopyTo(destination[written..]);
            consumed += special;
            written += special;

            var second = source[consumed] == Lf ? Lf : (byte)0;
            consumed++;
            destination[written++] = Cr;
            if (written < destination.Length)
            {
                destination[written++] = second;
            }
            else
            {
                _pending = second;
                HasPending = true;
            }
        }
    }

    /// <summary>Forgets any pending byte, to start a new transfer.</summary>
    public void Reset() => HasPending = false;

    /// <summary>Length of <paramref name="source"/> once encoded (what a server may announce as tsize in netascii mode).</summary>
    public static long GetEncodedLength(ReadOnlySpan<byte> source) =>
        source.Length + (long)source.Count(Cr) + source.Count(Lf);
}

/// <summary>
/// Netascii (RFC 764) to local text: CR LF becomes LF and CR NUL becomes CR. Lenient where senders are
/// sloppy: a CR followed by anything else is kept as a CR and the next byte decoded normally, and a CR
/// left over at the end of the transfer is written by <see cref="Flush"/>.
/// <para>
/// Streaming: a CR that ends one DATA block is held (see <see cref="HasPendingCr"/>) until the first byte
/// of the next block says what it was. One decoder per transfer, not thread-safe.
/// </para>
/// </summary>
public sealed class NetasciiDecoder
{
    private const byte Cr = (byte)'\r';
    private const byte Lf = (byte)'\n';

    /// <summary>True when the last byte seen was a CR whose meaning the next byte decides.</summary>
    public bool HasPendingCr { get; private set; }

    /// <summary>
    /// Decodes as much of <paramref name="source"/> as fits in <paramref name="destination"/>. A destination
    /// of <c>source.Length + 1</c> bytes always takes the whole source.
    /// </summary>
    public void Decode(ReadOnlySpan<byte> source, Span<byte> destination, out int consumed, out int written)
    {
        consumed = 0;
        written = 0;
        while (consumed < source.Length && written < destination.Length)
        {
            if (HasPendingCr)
            {
                var next = source[consumed];
                HasPendingCr = false;
                if (next == Lf)
                {
                    destination[written++] = Lf;
                    consumed++;
                }
                else if (next == 0)
                {
                    destination[written++] = Cr;
                    consumed++;
                }
                else
                {
                    destination[written++] = Cr; // stray CR: keep it, decode `next` on the next turn
                }

                continue;
            }

            var room = destination.Length - written;
            var run = source.Slice(consumed, Math.Min(room, source.Length - consumed));
            var cr = run.IndexOf(Cr);
            var plain = cr < 0 ? run.Length : cr;
            run[..plain].CopyTo(destination[written..]);
            consumed += plain;
            written += plain;
            if (cr >= 0)
            {
                HasPendingCr = true;
                consumed++;
            }
        }
    }

    /// <summary>
    /// Ends the transfer: writes a CR still pending (a netascii stream should not end in a bare CR, but one
    /// that does keeps it). Returns the bytes written, 0 or 1; 0 too when <paramref name="destination"/> is empty.
    /// </summary>
    public int Flush(Span<byte> destination)
    {
        if (!HasPendingCr || destination.IsEmpty)
        {
            return 0;
        }

        HasPendingCr = false;
        destination[0] = Cr;
        return 1;
    }

    /// <summary>Forgets a pending CR, to start a new transfer.</summary>
    public void Reset() => HasPendingCr = false;
}
