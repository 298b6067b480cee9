using System.Buffers.Binary;

namespace Provisioner.Protocols.Tftp;

/// <summary>
/// A parsed TFTP datagram, as a zero-copy view over the bytes it was parsed from (so it lives no longer
/// than that buffer: copy out with <see cref="ToRequest"/>, <see cref="ToError"/>,
/// <see cref="ToOptionAcknowledgement"/> or <see cref="Payload"/>.ToArray() to keep anything). Parsing
/// allocates nothing; accessors of another kind than <see cref="Opcode"/> return empty/zero/null, never throw.
/// <para>Leniency, each deliberate:</para>
/// <list type="bullet">
/// <item>RRQ/WRQ: an empty filename and an unknown mode parse (the server answers them with an ERROR rather
/// than silence); NUL padding after the last complete field is ignored, being unambiguous.</item>
/// <item>Option values are not validated here: a bad value is "not requested" (see <see cref="TftpOptions"/>).</item>
/// <item>ERROR: a message without its terminating NUL is read to the end of the datagram, and bytes after
/// the NUL are ignored. An ERROR ends the transfer whatever its text; dropping a sloppy one would leave
/// the server retransmitting to a peer that has already given up.</item>
/// <item>ERROR codes outside 0–8 are kept as sent.</item>
/// <item>DATA and ACK with block 0 parse: ACK 0 answers an OACK, and DATA 0 follows block 65535 on servers
/// that roll over to 0 (rollover itself is the transfer's concern, block numbers here are plain ushorts).</item>
/// </list>
/// <para>Rejected: see <see cref="TftpParseError"/>. Notably an ACK with bytes after its block number
/// (no client we know of pads one) and an OACK with no option.</para>
/// </summary>
public readonly ref struct TftpPacket
{
    /// <summary>Opcode + block number / error code.</summary>
    public const int HeaderLength = 4;

    /// <summary>Largest DATA payload: the RFC 2348 block size limit.</summary>
    public const int MaxPayloadLength = TftpOptions.MaxBlockSize;

    /// <summary>Largest DATA datagram.</summary>
    public const int MaxDataPacketLength = HeaderLength + MaxPayloadLength;

    private readonly ReadOnlySpan<byte> _first;   // RRQ/WRQ filename, DATA payload, ERROR message
    private readonly ReadOnlySpan<byte> _second;  // RRQ/WRQ mode
    private readonly ReadOnlySpan<byte> _options; // RRQ/WRQ/OACK option pairs, padding trimmed
    private readonly ushort _number;              // DATA/ACK block, ERROR code

    private TftpPacket(
        TftpOpcode opcode, ushort number, ReadOnlySpan<byte> first, ReadOnlySpan<byte> second, ReadOnlySpan<byte> options)
    {
        Opcode = opcode;
        _number = number;
        _first = first;
        _second = second;
        _options = options;
    }

    /// <summary>Which kind of packet this is.</summary>
    public TftpOpcode Opcode { get; }

    /// <summary>True for RRQ and WRQ.</summary>
    public bool IsRequest => Opcode is TftpOpcode.ReadRequest or TftpOpcode.WriteRequest;

    /// <summary>RRQ/WRQ: the filename bytes as sent (no NUL).</summary>
    public ReadOnlySpan<byte> FileNameBytes => IsRequest ? _first : default;

    /// <summary>RRQ/WRQ: the filename as Latin-1 text (allocates).</summary>
    public string FileName => TftpWire.ToLatin1String(FileNameBytes);

    /// <summary>RRQ/WRQ: the mode bytes as sent (no NUL).</summary>
    public ReadOnlySpan<byte> ModeBytes => IsRequest ? _second : default;

    /// <summary>RRQ/WRQ: the mode, matched ignoring case; <see cref="TftpMode.Unknown"/> for other packets and unknown text.</summary>
    public TftpMode Mode => IsRequest ? TftpWire.ParseMode(_second) : TftpMode.Unknown;

    /// <summary>RRQ/WRQ/OACK: the raw option pairs in wire order, without allocating.</summary>
    public TftpOptionEnumerator Options => new(_options);

    /// <summary>DATA/ACK: the block number (RFC 1350: starts at 1; ACK 0 answers an OACK or WRQ).</summary>
    public ushort Block => Opcode is TftpOpcode.Data or TftpOpcode.Acknowledgement ? _number : (ushort)0;

    /// <summary>DATA: the payload, a slice of the parsed datagram (0–65464 bytes; shorter than the block size ends the file).</summary>
    public ReadOnlySpan<byte> Payload => Opcode == TftpOpcode.Data ? _first : default;

    /// <summary>ERROR: the code (possibly outside the named members).</summary>
    public TftpErrorCode ErrorCode => Opcode == TftpOpcode.Error ? (TftpErrorCode)_number : TftpErrorCode.NotDefined;

    /// <summary>ERROR: the message bytes, up to the NUL or the end of the datagram.</summary>
    public ReadOnlySpan<byte> ErrorMessageBytes => Opcode == TftpOpcode.Error ? _first : default;

    /// <summary>ERROR: the message as Latin-1 text (allocates).</summary>
    public string ErrorMessage => TftpWire.ToLatin1String(ErrorMessageBytes);

    /// <summary>
    /// Parses one UDP payload. Never throws; on failure <paramref name="packet"/> is default and
    /// <paramref name="error"/> says why.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> data, out TftpPacket packet, out TftpParseError error)
    {
        packet = default;
        if (data.Length < 2)
        {
            error = TftpParseError.Truncated;
            return false;
        }

        var opcode = (TftpOpcode)BinaryPrimitives.ReadUInt16BigEndian(data);
        var body = data[2..];
        error = opcode switch
        {
            TftpOpcode.ReadRequest or TftpOpcode.WriteRequest => ParseRequest(opcode, body, out packet),
            TftpOpcode.Data => ParseData(body, out packet),
            TftpOpcode.Acknowledgement => ParseAck(body, out packet),
            TftpOpcode.Error => ParseError(body, out packet),
            TftpOpcode.OptionAcknowledgement => ParseOptionAck(body, out packet),
            _ => TftpParseError.UnknownOpcode,
        };
        return error == TftpParseError.None;
    }

    /// <summary>RRQ/WRQ as an owned record (allocates); null for other kinds.</summary>
    public TftpRequest? ToRequest() =>
        IsRequest ? new TftpRequest(Opcode, FileName, TftpWire.ToLatin1String(_second), GetOptions()) : null;

    /// <summary>OACK as an owned record (allocates); null for other kinds.</summary>
    public TftpOptionAcknowledgement? ToOptionAcknowledgement() =>
        Opcode == TftpOpcode.OptionAcknowledgement ? new TftpOptionAcknowledgement(GetOptions()) : null;

    /// <summary>ERROR as an owned record (allocates); null for other kinds.</summary>
    public TftpError? ToError() => Opcode == TftpOpcode.Error ? new TftpError(ErrorCode, ErrorMessage) : null;

    /// <summary>RRQ/WRQ/OACK options as owned values with typed accessors (allocates); empty for other kinds.</summary>
    public TftpOptions GetOptions()
    {
        if (_options.IsEmpty)
        {
            return TftpOptions.Empty;
        }

        var list = new List<TftpOption>();
        foreach (var option in Options)
        {
            list.Add(new TftpOption(TftpWire.ToLatin1String(option.Name), TftpWire.ToLatin1String(option.Value)));
        }

        return new TftpOptions(list);
    }

    /// <summary>Bytes <see cref="TryWrite"/> needs (the canonical form: no padding, NUL after an ERROR message).</summary>
    public int GetWrittenLength() => Opcode switch
    {
        TftpOpcode.ReadRequest or TftpOpcode.WriteRequest => 2 + _first.Length + 1 + _second.Length + 1 + _options.Length,
        TftpOpcode.Data => HeaderLength + _first.Length,
        TftpOpcode.Acknowledgement => HeaderLength,
        TftpOpcode.Error => HeaderLength + _first.Length + 1,
        TftpOpcode.OptionAcknowledgement => 2 + _options.Length,
        _ => 0,
    };

    /// <summary>
    /// Writes this packet in canonical form: every field as parsed, NUL padding dropped, an ERROR message
    /// NUL-terminated. False when <paramref name="destination"/> is too small or the packet is default.
    /// </summary>
    public bool TryWrite(Span<byte> destination, out int written)
    {
        written = 0;
        var length = GetWrittenLength();
        if (length == 0 || destination.Length < length)
        {
            return false;
        }

        TftpWire.WriteOpcode(destination, Opcode);
        var at = 2;
        switch (Opcode)
        {
            case TftpOpcode.ReadRequest or TftpOpcode.WriteRequest:
                _first.CopyTo(destination[at..]);
                at += _first.Length;
                destination[at++] = TftpWire.Nul;
                _second.CopyTo(destination[at..]);
                at += _second.Length;
                destination[at++] = TftpWire.Nul;
                _options.CopyTo(destination[at..]);
                break;
            case TftpOpcode.Data or TftpOpcode.Acknowledgement or TftpOpcode.Error:
                BinaryPrimitives.WriteUInt16BigEndian(destination[at..], _number);
                at += 2;
                _first.CopyTo(destination[at..]);
                at += _first.Length;
                if (Opcode == TftpOpcode.Error)
                {
                    destination[at] = TftpWire.Nul;
                }

                break;
            case TftpOpcode.OptionAcknowledgement:
                _options.CopyTo(destination[at..]);
                break;
        }

        written = length;
        return true;
    }

    //  RFC 1350 figure 5-1, options from RFC 2347:
    //
    //   2 bytes    string   1 byte  string  1 byte  string  1 byte  string  1 byte
    //  +--------+----------+------+-------+------+-------+------+-------+------+--   --+
    //  | 01/02  | Filename |  0   | Mode  |  0   | opt1  |  0   | value1|  0   |  ...   |
    //  +--------+----------+------+-------+------+-------+------+-------+------+--   --+
    //
    //  Mode: "netascii" | "octet" | "mail", any case.
    private static TftpParseError ParseRequest(TftpOpcode opcode, ReadOnlySpan<byte> body, out TftpPacket packet)
    {
        packet = default;
        var nameEnd = body.IndexOf(TftpWire.Nul);
        if (nameEnd < 0)
        {
            return TftpParseError.FileNameNotTerminated;
        }

        var rest = body[(nameEnd + 1)..];
        var modeEnd = rest.IndexOf(TftpWire.Nul);
        if (modeEnd < 0)
        {
            return TftpParseError.ModeNotTerminated;
        }

        var error = ValidateOptions(rest[(modeEnd + 1)..], out var options);
        if (error != TftpParseError.None)
        {
            return error;
        }

        packet = new TftpPacket(opcode, 0, body[..nameEnd], rest[..modeEnd], options);
        return TftpParseError.None;
    }

    //  RFC 1350 figure 5-2:
    //
    //   2 bytes    2 bytes     n bytes (0..blksize)
    //  +--------+----------+------------+
    //  |   03   | Block #  |    Data    |
    //  +--------+----------+------------+
    private static TftpParseError ParseData(ReadOnlySpan<byte> body, out TftpPacket packet)
    {
        packet = default;
        if (body.Length < 2)
        {
            return TftpParseError.Truncated;
        }

        var payload = body[2..];
        if (payload.Length > MaxPayloadLength)
        {
            return TftpParseError.PayloadTooLarge;
        }

        packet = new TftpPacket(TftpOpcode.Data, BinaryPrimitives.ReadUInt16BigEndian(body), payload, default, default);
        return TftpParseError.None;
    }

    //  RFC 1350 figure 5-3:
    //
    //   2 bytes    2 bytes
    //  +--------+----------+
    //  |   04   | Block #  |
    //  +--------+----------+
    private static TftpParseError ParseAck(ReadOnlySpan<byte> body, out TftpPacket packet)
    {
        packet = default;
        if (body.Length < 2)
        {
            return TftpParseError.Truncated;
        }

        if (body.Length > 2)
        {
            return TftpParseError.TrailingBytes;
        }

        packet = new TftpPacket(TftpOpcode.Acknowledgement, BinaryPrimitives.ReadUInt16BigEndian(body), default, default, default);
        return TftpParseError.None;
    }

    //  RFC 1350 figure 5-4:
    //
    //   2 bytes    2 bytes      string    1 byte
    //  +--------+-----------+----------+------+
    //  |   05   | ErrorCode |  ErrMsg  |  0   |
    //  +--------+-----------+----------+------+
    private static TftpParseError ParseError(ReadOnlySpan<byte> body, out TftpPacket packet)
    {
        packet = default;
        if (body.Length < 2)
        {
            return TftpParseError.Truncated;
        }

        var message = body[2..];
        var end = message.IndexOf(TftpWire.Nul);
        if (end >= 0)
        {
            message = message[..end];
        }

        packet = new TftpPacket(TftpOpcode.Error, BinaryPrimitives.ReadUInt16BigEndian(body), message, default, default);
        return TftpParseError.None;
    }

    //  RFC 2347 "Option Acknowledgment":
    //
    //   2 bytes   string  1 byte  string  1 byte  string  1 byte  string  1 byte
    //  +--------+-------+------+--------+------+-------+------+--------+------+
    //  |   06   | opt1  |  0   | value1 |  0   | optN  |  0   | valueN |  0   |
    //  +--------+-------+------+--------+------+-------+------+--------+------+
    private static TftpParseError ParseOptionAck(ReadOnlySpan<byte> body, out TftpPacket packet)
    {
        packet = default;
        var error = ValidateOptions(body, out var options);
        if (error != TftpParseError.None)
        {
            return error;
        }

        if (options.IsEmpty)
        {
            return TftpParseError.NoOptions;
        }

        packet = new TftpPacket(TftpOpcode.OptionAcknowledgement, 0, default, default, options);
        return TftpParseError.None;
    }

    // Checks name\0value\0 pairs up to the end, or up to NUL padding (an empty name followed only by NULs).
    private static TftpParseError ValidateOptions(ReadOnlySpan<byte> region, out ReadOnlySpan<byte> options)
    {
        options = default;
        var at = 0;
        while (at < region.Length)
        {
            var rest = region[at..];
            if (rest[0] == TftpWire.Nul)
            {
                if (rest.ContainsAnyExcept(TftpWire.Nul))
                {
                    return TftpParseError.TrailingBytes;
                }

                break;
            }

            var nameEnd = rest.IndexOf(TftpWire.Nul);
            if (nameEnd < 0)
            {
                return TftpParseError.TrailingBytes;
            }

            var valueEnd = rest[(nameEnd + 1)..].IndexOf(TftpWire.Nul);
            if (valueEnd < 0)
            {
                return TftpParseError.OptionValueMissing;
            }

            at += nameEnd + 1 + valueEnd + 1;
        }

        options = region[..at];
        return TftpParseError.None;
    }
}

/// <summary>One raw option of a parsed packet: spans into the datagram.</summary>
public readonly ref struct TftpRawOption
{
    internal TftpRawOption(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        Name = name;
        Value = value;
    }

    /// <summary>The option name as sent.</summary>
    public ReadOnlySpan<byte> Name { get; }

    /// <summary>The option value as sent.</summary>
    public ReadOnlySpan<byte> Value { get; }

    /// <summary>True when the name equals <paramref name="name"/> ignoring ASCII case (RFC 2347); allocation-free.</summary>
    public bool NameIs(ReadOnlySpan<char> name) => TftpWire.EqualsIgnoreCase(Name, name);
}

/// <summary>Walks the option pairs of a parsed RRQ/WRQ/OACK without allocating (use with foreach).</summary>
public ref struct TftpOptionEnumerator
{
    private ReadOnlySpan<byte> _rest;

    internal TftpOptionEnumerator(ReadOnlySpan<byte> options)
    {
        _rest = options;
        Current = default;
    }

    /// <summary>The option at the current position.</summary>
    public TftpRawOption Current { get; private set; }

    /// <summary>Returns this enumerator, for foreach.</summary>
    public readonly TftpOptionEnumerator GetEnumerator() => this;

    /// <summary>Advances to the next pair; the region was validated by the parser, so every pair is complete.</summary>
    public bool MoveNext()
    {
        var nameEnd = _rest.IndexOf(TftpWire.Nul);
        if (nameEnd < 0)
        {
            return false;
        }

        var afterName = _rest[(nameEnd + 1)..];
        var valueEnd = afterName.IndexOf(TftpWire.Nul);
        if (valueEnd < 0)
        {
            return false;
        }

        Current = new TftpRawOption(_rest[..nameEnd], afterName[..valueEnd]);
        _rest = afterName[(valueEnd + 1)..];
        return true;
    }
}
