using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;

namespace Provisioner.Protocols.Dhcp;

/// <summary>
/// A DHCPv4 / BOOTP message, one property per fixed field of RFC 2131 §2, options kept raw in
/// <see cref="Options"/> with typed accessors.
/// <code>
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +---------------+---------------+---------------+---------------+
/// |     op (1)    |   htype (1)   |   hlen (1)    |   hops (1)    |   0
/// +---------------+---------------+---------------+---------------+
/// |                            xid (4)                            |   4
/// +-------------------------------+-------------------------------+
/// |           secs (2)            |           flags (2)           |   8   flags: B (0x8000) + MBZ
/// +-------------------------------+-------------------------------+
/// |                          ciaddr  (4)                          |  12
/// |                          yiaddr  (4)                          |  16
/// |                          siaddr  (4)                          |  20
/// |                          giaddr  (4)                          |  24
/// +---------------------------------------------------------------+
/// |                          chaddr  (16)                         |  28
/// |                          sname   (64)                         |  44
/// |                          file    (128)                        | 108
/// +---------------------------------------------------------------+
/// |                  magic cookie 99.130.83.99 (4)                | 236   RFC 2131 §3
/// |                          options (variable)                   | 240   RFC 2132
/// +---------------------------------------------------------------+
/// </code>
/// </summary>
public sealed class DhcpPacket
{
    /// <summary>Fixed BOOTP part, up to and excluding the cookie.</summary>
    public const int FixedLength = 236;

    /// <summary>Fixed part plus the magic cookie: the shortest DHCP message.</summary>
    public const int HeaderLength = FixedLength + 4;

    /// <summary>Minimum BOOTP message written on the wire (RFC 1542 §2.1); shorter ones are zero-padded.</summary>
    public const int MinimumLength = 300;

    /// <summary>Magic cookie 99.130.83.99 (RFC 2131 §3).</summary>
    public const uint MagicCookie = 0x63825363;

    /// <summary>The broadcast bit of 'flags' (RFC 2131 §2, figure 2).</summary>
    public const ushort BroadcastFlag = 0x8000;

    private const int ChaddrOffset = 28;
    private const int ChaddrLength = 16;
    private const int SnameOffset = 44;
    private const int SnameLength = 64;
    private const int FileOffset = 108;
    private const int FileLength = 128;

    private ReadOnlyMemory<byte> _chaddr = new byte[ChaddrLength];
    private ReadOnlyMemory<byte> _sname = ReadOnlyMemory<byte>.Empty;
    private ReadOnlyMemory<byte> _file = ReadOnlyMemory<byte>.Empty;
    private byte _hlen = 6;

    public DhcpPacket()
        : this(new DhcpOptions())
    {
    }

    private DhcpPacket(DhcpOptions options)
    {
        Options = options;
    }

    /// <summary>'op': 1 BOOTREQUEST, 2 BOOTREPLY.</summary>
    public DhcpOpCode Op { get; set; } = DhcpOpCode.BootRequest;

    /// <summary>'htype': ARP hardware type, 1 = Ethernet (RFC 1700).</summary>
    public byte HardwareType { get; set; } = 1;

    /// <summary>'hlen': hardware address length, 6 for Ethernet; at most 16 (the size of chaddr).</summary>
    public byte HardwareAddressLength
    {
        get => _hlen;
        set => _hlen = value <= ChaddrLength
            ? value
            : throw new ArgumentOutOfRangeException(nameof(value), value, "hlen cannot exceed the 16-byte chaddr.");
    }

    /// <summary>'hops': incremented by relay agents; 0 from clients and in server replies.</summary>
    public byte Hops { get; set; }

    /// <summary>'xid': transaction id chosen by the client.</summary>
    public uint TransactionId { get; set; }

    /// <summary>'secs': seconds since the client began acquisition or renewal.</summary>
    public ushort Seconds { get; set; }

    /// <summary>'flags': only the broadcast bit is defined (RFC 2131 §2); the rest must be zero but is kept as received.</summary>
    public ushort Flags { get; set; }

    /// <summary>The broadcast bit of 'flags': the client cannot receive unicast before it is configured (RFC 2131 §4.1).</summary>
    public bool Broadcast
    {
        get => (Flags & BroadcastFlag) != 0;
        set => Flags = value ? (ushort)(Flags | BroadcastFlag) : (ushort)(Flags & ~BroadcastFlag);
    }

    /// <summary>'ciaddr': the client's address when it is BOUND, RENEWING or REBINDING.</summary>
    public IPv4Address ClientAddress { get; set; }

    /// <summary>'yiaddr': "your" address, the address offered or assigned by the server.</summary>
    public IPv4Address YourAddress { get; set; }

    /// <summary>'siaddr': next server to use in bootstrap (the TFTP server), set in OFFER and ACK.</summary>
    public IPv4Address ServerAddress { get; set; }

    /// <summary>'giaddr': relay agent address, 0 when not relayed.</summary>
    public IPv4Address RelayAgentAddress { get; set; }

    /// <summary>'chaddr' as on the wire: 16 bytes, of which the first hlen are the hardware address.</summary>
    public ReadOnlyMemory<byte> ClientHardwareAddressField
    {
        get => _chaddr;
        set => _chaddr = value.Length <= ChaddrLength
            ? value.ToArray()
            : throw new ArgumentOutOfRangeException(nameof(value), value.Length, "chaddr is 16 bytes.");
    }

    /// <summary>The client hardware address: the first hlen bytes of chaddr (the MAC for Ethernet).</summary>
    public ReadOnlySpan<byte> ClientHardwareAddress => _chaddr.Span[..Math.Min(_hlen, _chaddr.Length)];

    /// <summary>'sname' as on the wire (up to 64 bytes). Empty when it carried options (see <see cref="Overload"/>).</summary>
    public ReadOnlyMemory<byte> ServerNameField
    {
        get => _sname;
        set => _sname = value.Length <= SnameLength
            ? value.ToArray()
            : throw new ArgumentOutOfRangeException(nameof(value), value.Length, "sname is 64 bytes.");
    }

    /// <summary>'sname' as text: the optional server host name, up to its first NUL.</summary>
    public string ServerHostName
    {
        get => CString(_sname.Span);
        set => ServerNameField = Encoding.UTF8.GetBytes(value ?? string.Empty);
    }

    /// <summary>'file' as on the wire (up to 128 bytes). Empty when it carried options (see <see cref="Overload"/>).</summary>
    public ReadOnlyMemory<byte> FileField
    {
        get => _file;
        set => _file = value.Length <= FileLength
            ? value.ToArray()
            : throw new ArgumentOutOfRangeException(nameof(value), value.Length, "file is 128 bytes.");
    }

    /// <summary>'file' as text: the boot file name, up to its first NUL.</summary>
    public string BootFileName
    {
        get => CString(_file.Span);
        set => FileField = Encoding.UTF8.GetBytes(value ?? string.Empty);
    }

    /// <summary>
    /// Which fixed fields carried options on the wire (option 52, RFC 2132 §9.3). Those options are merged
    /// into <see cref="Options"/> and the fields read as empty; the writer never overloads.
    /// </summary>
    public DhcpOverload Overload { get; private set; }

    /// <summary>The options, raw and in order, with typed accessors.</summary>
    public DhcpOptions Options { get; }

    /// <summary>Option 53 (RFC 2132 §9.6); null for plain BOOTP. Shortcut for <see cref="DhcpOptions.MessageType"/>.</summary>
    public DhcpMessageType? MessageType
    {
        get => Options.MessageType;
        set => Options.MessageType = value;
    }

    /// <summary>Sets chaddr and hlen (and htype) from a hardware address of at most 16 bytes.</summary>
    public void SetClientHardwareAddress(ReadOnlySpan<byte> address, byte hardwareType = 1)
    {
        if (address.Length > ChaddrLength)
        {
            throw new ArgumentOutOfRangeException(nameof(address), address.Length, "chaddr is 16 bytes.");
        }

        var chaddr = new byte[ChaddrLength];
        address.CopyTo(chaddr);
        _chaddr = chaddr;
        _hlen = (byte)address.Length;
        HardwareType = hardwareType;
    }

    // ------------------------------------------------------------------------------------------
    // Replies
    // ------------------------------------------------------------------------------------------

    /// <summary>
    /// Starts a server reply to <paramref name="request"/> per RFC 2131 §4.3.1 table 3: op BOOTREPLY, hops 0,
    /// xid, flags, giaddr, htype/hlen/chaddr copied; ciaddr copied only into an ACK; option 53 first;
    /// client identifier echoed (RFC 6842 §3) and relay agent information echoed (RFC 3046 §2.2, written last).
    /// The caller adds yiaddr, siaddr, server identifier, lease times and the rest.
    /// </summary>
    public static DhcpPacket CreateReply(DhcpPacket request, DhcpMessageType type)
    {
        ArgumentNullException.ThrowIfNull(request);
        var reply = new DhcpPacket
        {
            Op = DhcpOpCode.BootReply,
            HardwareType = request.HardwareType,
            Hops = 0,
            TransactionId = request.TransactionId,
            Flags = request.Flags,
            ClientAddress = type == DhcpMessageType.Ack ? request.ClientAddress : IPv4Address.Any,
            RelayAgentAddress = request.RelayAgentAddress,
            _chaddr = request._chaddr,
            _hlen = request._hlen,
        };
        reply.Options.MessageType = type;
        if (request.Options.TryGet(DhcpOptionCode.ClientIdentifier, out var clientId))
        {
            reply.Options.SetOwned(DhcpOptionCode.ClientIdentifier, clientId);
        }

        if (request.Options.TryGet(DhcpOptionCode.RelayAgentInformation, out var relayInfo))
        {
            reply.Options.SetOwned(DhcpOptionCode.RelayAgentInformation, relayInfo);
        }

        return reply;
    }

    // ------------------------------------------------------------------------------------------
    // Parsing
    // ------------------------------------------------------------------------------------------

    /// <summary>
    /// Parses a UDP payload. Strict about structure, permissive about content: a BOOTP message without
    /// option 53 parses, an option stream may end without End (option 255) exactly at the end of its area,
    /// but a length byte missing or a value running past its area rejects the whole message. Options in
    /// 'file' then 'sname' are read when option 52 says so, and every instance of a code is concatenated,
    /// in the order options → file → sname (RFC 3396 §7). Never throws; copies <paramref name="data"/> once.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> data, [NotNullWhen(true)] out DhcpPacket? packet, out DhcpParseError error)
    {
        packet = null;
        if (data.Length < HeaderLength)
        {
            error = DhcpParseError.TooShort;
            return false;
        }

        if (BinaryPrimitives.ReadUInt32BigEndian(data[FixedLength..]) != MagicCookie)
        {
            error = DhcpParseError.BadMagicCookie;
            return false;
        }

        if (data[2] > ChaddrLength)
        {
            error = DhcpParseError.BadHardwareAddressLength;
            return false;
        }

        // Pass 1: validate the structure and count each code's instances and bytes, without allocating.
        Span<int> count = stackalloc int[256];
        Span<int> total = stackalloc int[256];
        Span<int> firstOffset = stackalloc int[256];
        Span<byte> order = stackalloc byte[256];
        var distinct = 0;
        var overload = DhcpOverload.None;

        var walker = new OptionWalker(data, HeaderLength, data.Length);
        while (walker.MoveNext(out var code, out var offset, out var length))
        {
            if (code == (byte)DhcpOptionCode.Overload)
            {
                if (overload != DhcpOverload.None || length != 1 || data[offset] is < 1 or > 3)
                {
                    error = DhcpParseError.BadOverload;
                    return false;
                }

                overload = (DhcpOverload)data[offset];
                continue;
            }

            Count(code, offset, length, count, total, firstOffset, order, ref distinct);
        }

        if (walker.Truncated)
        {
            error = DhcpParseError.OptionTruncated;
            return false;
        }

        Span<(int Start, int End)> areas = stackalloc (int, int)[3];
        areas[0] = (HeaderLength, data.Length);
        var areaCount = 1;
        if ((overload & DhcpOverload.File) != 0)
        {
            areas[areaCount++] = (FileOffset, FileOffset + FileLength);
        }

        if ((overload & DhcpOverload.ServerName) != 0)
        {
            areas[areaCount++] = (SnameOffset, SnameOffset + SnameLength);
        }

        // 'file' before 'sname' (RFC 2131 §4.1, RFC 3396 §7).
        foreach (var (start, end) in areas[1..areaCount])
        {
            walker = new OptionWalker(data, start, end);
            while (walker.MoveNext(out var code, out var offset, out var length))
            {
                // Option 52 only has meaning in the options field (RFC 2132 §9.3).
                if (code != (byte)DhcpOptionCode.Overload)
                {
                    Count(code, offset, length, count, total, firstOffset, order, ref distinct);
                }
            }

            if (walker.Truncated)
            {
                error = DhcpParseError.OptionTruncated;
                return false;
            }
        }

        // Pass 2: one copy of the datagram; single-instance options are slices of it, split ones are
        // concatenated into their own arrays (RFC 3396 §7).
        var buffer = data.ToArray();
        var items = new List<DhcpOption>(distinct);
        byte[]?[]? merged = null;
        for (var i = 0; i < distinct; i++)
        {
            if (count[order[i]] > 1)
            {
                merged = new byte[]?[256];
                break;
            }
        }

        if (merged is not null)
        {
            Span<int> cursor = stackalloc int[256];
            foreach (var (start, end) in areas[..areaCount])
            {
                Concatenate(buffer, start, end, count, total, merged, cursor);
            }
        }

        for (var i = 0; i < distinct; i++)
        {
            var code = order[i];
            var value = count[code] > 1
                ? merged![code]
                : new ReadOnlyMemory<byte>(buffer, firstOffset[code], total[code]);
            items.Add(new DhcpOption((DhcpOptionCode)code, value));
        }

        var memory = new ReadOnlyMemory<byte>(buffer);
        packet = new DhcpPacket(new DhcpOptions(items))
        {
            Op = (DhcpOpCode)buffer[0],
            HardwareType = buffer[1],
            _hlen = buffer[2],
            Hops = buffer[3],
            TransactionId = BinaryPrimitives.ReadUInt32BigEndian(buffer.AsSpan(4)),
            Seconds = BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(8)),
            Flags = BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(10)),
            ClientAddress = IPv4Address.Read(buffer.AsSpan(12)),
            YourAddress = IPv4Address.Read(buffer.AsSpan(16)),
            ServerAddress = IPv4Address.Read(buffer.AsSpan(20)),
            RelayAgentAddress = IPv4Address.Read(buffer.AsSpan(24)),
            _chaddr = memory.Slice(ChaddrOffset, ChaddrLength),
            _sname = (overload & DhcpOverload.ServerName) != 0 ? ReadOnlyMemory<byte>.Empty : memory.Slice(SnameOffset, SnameLength),
            _file = (overload & DhcpOverload.File) != 0 ? ReadOnlyMemory<byte>.Empty : memory.Slice(FileOffset, FileLength),
            Overload = overload,
        };
        error = DhcpParseError.None;
        return true;
    }

    private static void Count(
        byte code, int offset, int length, Span<int> count, Span<int> total, Span<int> firstOffset, Span<byte> order, ref int distinct)
    {
        if (count[code]++ == 0)
        {
            firstOffset[code] = offset;
            order[distinct++] = code;
        }

        total[code] += length;
    }

    private static void Concatenate(
        byte[] buffer, int start, int end, ReadOnlySpan<int> count, ReadOnlySpan<int> total, byte[]?[] merged, Span<int> cursor)
    {
        var walker = new OptionWalker(buffer, start, end);
        while (walker.MoveNext(out var code, out var offset, out var length))
        {
            if (count[code] <= 1 || code == (byte)DhcpOptionCode.Overload)
            {
                continue;
            }

            var target = merged[code] ??= new byte[total[code]];
            buffer.AsSpan(offset, length).CopyTo(target.AsSpan(cursor[code]));
            cursor[code] += length;
        }
    }

    /// <summary>
    /// Walks code/length/value options in [start, end): 0 is a one-byte pad, 255 stops the walk, running
    /// out of bytes on an option boundary stops it too; a missing length byte or value sets Truncated.
    /// </summary>
    private ref struct OptionWalker
    {
        private readonly ReadOnlySpan<byte> _data;
        private readonly int _end;
        private int _position;

        public OptionWalker(ReadOnlySpan<byte> data, int start, int end)
        {
            _data = data;
            _position = start;
            _end = end;
            Truncated = false;
        }

        public bool Truncated { get; private set; }

        public bool MoveNext(out byte code, out int offset, out int length)
        {
            code = 0;
            offset = 0;
            length = 0;
            while (_position < _end)
            {
                code = _data[_position];
                if (code == (byte)DhcpOptionCode.Pad)
                {
                    _position++;
                    continue;
                }

                if (code == (byte)DhcpOptionCode.End)
                {
                    _position = _end;
                    return false;
                }

                if (_position + 1 >= _end || _position + 2 + _data[_position + 1] > _end)
                {
                    Truncated = true;
                    _position = _end;
                    return false;
                }

                length = _data[_position + 1];
                offset = _position + 2;
                _position = offset + length;
                return true;
            }

            return false;
        }
    }

    // ------------------------------------------------------------------------------------------
    // Writing
    // ------------------------------------------------------------------------------------------

    /// <summary>Bytes <see cref="TryWrite"/> needs: header, options (split per RFC 3396), End, padded to 300.</summary>
    public int GetWriteLength()
    {
        var length = HeaderLength + 1;
        foreach (var option in Options)
        {
            length += EncodedLength(option.Data.Length);
        }

        return Math.Max(length, MinimumLength);
    }

    /// <summary>
    /// Writes the message: fixed fields, cookie, options in order (option 82 moved last, RFC 3046 §2.1/§2.2),
    /// values over 255 bytes split into consecutive instances (RFC 3396 §5), End, then zero pad up to
    /// 300 bytes (RFC 1542 §2.1). False, with nothing written, when <paramref name="destination"/> is too small.
    /// </summary>
    public bool TryWrite(Span<byte> destination, out int written)
    {
        var length = GetWriteLength();
        if (destination.Length < length)
        {
            written = 0;
            return false;
        }

        var packet = destination[..length];
        packet.Clear();
        packet[0] = (byte)Op;
        packet[1] = HardwareType;
        packet[2] = _hlen;
        packet[3] = Hops;
        BinaryPrimitives.WriteUInt32BigEndian(packet[4..], TransactionId);
        BinaryPrimitives.WriteUInt16BigEndian(packet[8..], Seconds);
        BinaryPrimitives.WriteUInt16BigEndian(packet[10..], Flags);
        ClientAddress.Write(packet[12..]);
        YourAddress.Write(packet[16..]);
        ServerAddress.Write(packet[20..]);
        RelayAgentAddress.Write(packet[24..]);
        _chaddr.Span.CopyTo(packet[ChaddrOffset..]);
        _sname.Span.CopyTo(packet[SnameOffset..]);
        _file.Span.CopyTo(packet[FileOffset..]);
        BinaryPrimitives.WriteUInt32BigEndian(packet[FixedLength..], MagicCookie);

        var position = HeaderLength;
        foreach (var option in Options)
        {
            if (option.Code != DhcpOptionCode.RelayAgentInformation)
            {
                position = WriteOption(packet, position, option);
            }
        }

        if (Options.TryGet(DhcpOptionCode.RelayAgentInformation, out var relayInfo))
        {
            position = WriteOption(packet, position, new DhcpOption(DhcpOptionCode.RelayAgentInformation, relayInfo));
        }

        packet[position] = (byte)DhcpOptionCode.End;
        written = length;
        return true;
    }

    /// <summary>The written message as a new array.</summary>
    public byte[] ToArray()
    {
        var bytes = new byte[GetWriteLength()];
        TryWrite(bytes, out _);
        return bytes;
    }

    private static int EncodedLength(int valueLength) =>
        valueLength == 0 ? 2 : valueLength + (2 * ((valueLength + byte.MaxValue - 1) / byte.MaxValue));

    private static int WriteOption(Span<byte> packet, int position, DhcpOption option)
    {
        var value = option.Data.Span;
        do
        {
            var chunk = Math.Min(value.Length, byte.MaxValue);
            packet[position] = (byte)option.Code;
            packet[position + 1] = (byte)chunk;
            value[..chunk].CopyTo(packet[(position + 2)..]);
            position += 2 + chunk;
            value = value[chunk..];
        }
        while (!value.IsEmpty);

        return position;
    }

    private static string CString(ReadOnlySpan<byte> field)
    {
        var nul = field.IndexOf((byte)0);
        return Encoding.UTF8.GetString(nul >= 0 ? field[..nul] : field);
    }

    public override string ToString()
    {
        var type = MessageType is { } t ? "DHCP" + t.ToString().ToUpperInvariant() : "BOOTP " + Op;
        return string.Create(CultureInfo.InvariantCulture,
            $"{type} xid=0x{TransactionId:x8} chaddr={Convert.ToHexString(ClientHardwareAddress)} ciaddr={ClientAddress} yiaddr={YourAddress} siaddr={ServerAddress} giaddr={RelayAgentAddress} options={Options.Count}");
    }
}
