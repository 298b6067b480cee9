namespace Provisioner.Protocols.Tftp;

/// <summary>
/// The options of an RRQ, WRQ or OACK (RFC 2347), kept raw and in order so they are written back byte for
/// byte, with typed accessors for the four options Provisioner negotiates.
/// <para>
/// Rule for the typed accessors: the <em>first</em> occurrence of a name (matched ignoring ASCII case) is the
/// one that counts (RFC 2347 allows each option once; later duplicates are ignored, not merged). A value
/// that is not a decimal number, or is outside the range its RFC allows, makes the accessor return null:
/// for negotiation the option was "not requested", so a server leaves it out of its OACK and uses the
/// default. It is never a parse failure: the raw pair stays in <see cref="All"/> (e.g. atftp's
/// "tsize=enable", which tftpd-hpa drops the same way). Unrecognised options are kept in
/// <see cref="All"/> too, so a server can ignore them (RFC 2347: it must not acknowledge them).
/// </para>
/// </summary>
public sealed class TftpOptions : IEquatable<TftpOptions>
{
    /// <summary>RFC 2348 option name.</summary>
    public const string BlockSizeName = "blksize";

    /// <summary>RFC 2349 section "Transfer Size Option" name.</summary>
    public const string TransferSizeName = "tsize";

    /// <summary>RFC 2349 section "Timeout Interval Option" name.</summary>
    public const string TimeoutName = "timeout";

    /// <summary>RFC 7440 option name.</summary>
    public const string WindowSizeName = "windowsize";

    /// <summary>RFC 1350 block size, used when blksize is not negotiated.</summary>
    public const int DefaultBlockSize = 512;

    /// <summary>RFC 2348: smallest block size.</summary>
    public const int MinBlockSize = 8;

    /// <summary>RFC 2348: largest block size (65535 less IP and UDP headers less the 4-byte TFTP header).</summary>
    public const int MaxBlockSize = 65464;

    /// <summary>RFC 2349: shortest timeout, seconds.</summary>
    public const int MinTimeoutSeconds = 1;

    /// <summary>RFC 2349: longest timeout, seconds.</summary>
    public const int MaxTimeoutSeconds = 255;

    /// <summary>RFC 7440: smallest window (1 is plain RFC 1350 lock-step).</summary>
    public const int MinWindowSize = 1;

    /// <summary>RFC 7440: largest window.</summary>
    public const int MaxWindowSize = 65535;

    private readonly TftpOption[] _all;

    /// <summary>Wraps options as they came (or are to be sent), in order.</summary>
    public TftpOptions(IEnumerable<TftpOption> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _all = [.. options];
        BlockSize = (int?)Typed(BlockSizeName, MinBlockSize, MaxBlockSize);
        TransferSize = Typed(TransferSizeName, 0, long.MaxValue);
        TimeoutSeconds = (int?)Typed(TimeoutName, MinTimeoutSeconds, MaxTimeoutSeconds);
        WindowSize = (int?)Typed(WindowSizeName, MinWindowSize, MaxWindowSize);
    }

    /// <summary>No options: a plain RFC 1350 request.</summary>
    public static TftpOptions Empty { get; } = new([]);

    /// <summary>Every option in wire order, including unrecognised, invalid and duplicate ones.</summary>
    public IReadOnlyList<TftpOption> All => _all;

    /// <summary>Number of name/value pairs.</summary>
    public int Count => _all.Length;

    /// <summary>RFC 2348 blksize: 8–65464 octets per DATA block; null when absent or invalid.</summary>
    public int? BlockSize { get; }

    /// <summary>
    /// RFC 2349 tsize: file size in octets, 0–2^63-1. In an RRQ the client sends 0 and the server answers the
    /// size in its OACK; in a WRQ the client sends the size. Null when absent or not a decimal number.
    /// </summary>
    public long? TransferSize { get; }

    /// <summary>RFC 2349 timeout: 1–255 seconds between retransmissions; null when absent or invalid.</summary>
    public int? TimeoutSeconds { get; }

    /// <summary>RFC 7440 windowsize: 1–65535 blocks sent before waiting for an ACK; null when absent or invalid.</summary>
    public int? WindowSize { get; }

    /// <summary>Options whose names are none of blksize, tsize, timeout, windowsize (RFC 2347: a server ignores them).</summary>
    public IEnumerable<TftpOption> Unrecognised => _all.Where(o =>
        !o.Is(BlockSizeName) && !o.Is(TransferSizeName) && !o.Is(TimeoutName) && !o.Is(WindowSizeName));

    /// <summary>
    /// Builds options to send, in the order blksize, tsize, timeout, windowsize, then <paramref name="others"/>.
    /// Values outside their RFC range throw: that is a programming error, not network input.
    /// </summary>
    public static TftpOptions Create(
        int? blockSize = null,
        long? transferSize = null,
        int? timeoutSeconds = null,
        int? windowSize = null,
        IEnumerable<TftpOption>? others = null)
    {
        var list = new List<TftpOption>(4);
        if (blockSize is { } b)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(b, MinBlockSize, nameof(blockSize));
            ArgumentOutOfRangeException.ThrowIfGreaterThan(b, MaxBlockSize, nameof(blockSize));
            list.Add(new TftpOption(BlockSizeName, TftpWire.FormatDecimal(b)));
        }

        if (transferSize is { } t)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(t, nameof(transferSize));
            list.Add(new TftpOption(TransferSizeName, TftpWire.FormatDecimal(t)));
        }

        if (timeoutSeconds is { } s)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(s, MinTimeoutSeconds, nameof(timeoutSeconds));
            ArgumentOutOfRangeException.ThrowIfGreaterThan(s, MaxTimeoutSeconds, nameof(timeoutSeconds));
            list.Add(new TftpOption(TimeoutName, TftpWire.FormatDecimal(s)));
        }

        if (windowSize is { } w)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(w, MinWindowSize, nameof(windowSize));
            ArgumentOutOfRangeException.ThrowIfGreaterThan(w, MaxWindowSize, nameof(windowSize));
            list.Add(new TftpOption(WindowSizeName, TftpWire.FormatDecimal(w)));
        }

        if (others is not null)
        {
            list.AddRange(others);
        }

        return new TftpOptions(list);
    }

    /// <summary>True when the peer named the option at all (ignoring case), valid or not.</summary>
    public bool Contains(string name) => _all.Any(o => o.Is(name));

    /// <summary>The raw value of the first occurrence of <paramref name="name"/> (ignoring case), or null.</summary>
    public string? GetValue(string name)
    {
        foreach (var o in _all)
        {
            if (o.Is(name))
            {
                return o.Value;
            }
        }

        return null;
    }

    /// <summary>Bytes <see cref="TryWrite"/> needs: name, NUL, value, NUL for each option.</summary>
    public int GetWrittenLength()
    {
        var length = 0;
        foreach (var o in _all)
        {
            length += o.Name.Length + 1 + o.Value.Length + 1;
        }

        return length;
    }

    /// <summary>Writes the name/value pairs (no opcode); false when <paramref name="destination"/> is too small.</summary>
    public bool TryWrite(Span<byte> destination, out int written)
    {
        written = 0;
        if (destination.Length < GetWrittenLength())
        {
            return false;
        }

        var at = 0;
        foreach (var o in _all)
        {
            TftpWire.WriteSanitized(o.Name, destination[at..]);
            at += o.Name.Length;
            destination[at++] = TftpWire.Nul;
            TftpWire.WriteSanitized(o.Value, destination[at..]);
            at += o.Value.Length;
            destination[at++] = TftpWire.Nul;
        }

        written = at;
        return true;
    }

    /// <summary>Same options, same spelling, same order: same bytes on the wire.</summary>
    public bool Equals(TftpOptions? other) =>
        other is not null && (ReferenceEquals(this, other) || _all.AsSpan().SequenceEqual(other._all));

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as TftpOptions);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = default(HashCode);
        foreach (var o in _all)
        {
            hash.Add(o);
        }

        return hash.ToHashCode();
    }

    /// <inheritdoc />
    public override string ToString() => string.Join(' ', _all);

    private long? Typed(string name, long min, long max)
    {
        var raw = GetValue(name);
        return raw is not null && TftpWire.TryParseDecimal(raw, out var value) && value >= min && value <= max
            ? value
            : null;
    }
}
