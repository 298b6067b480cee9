using System.Buffers.Binary;
using System.Collections;
using System.Text;

namespace Provisioner.Protocols.Dhcp;

/// <summary>
/// The options of one packet, kept raw (code + bytes) in the order each code first appeared, with typed
/// accessors. Every instance of a code is already concatenated (RFC 3396 §7), so one code appears once.
/// </summary>
/// <remarks>
/// Getters never throw: a value of the wrong shape reads as null (or false), so a hostile packet cannot
/// fault a caller that only reads. Setters copy their input; setting null removes the option.
/// Pad (0), End (255) and Overload (52) are framing, not content, and are never stored.
/// </remarks>
public sealed class DhcpOptions : IReadOnlyList<DhcpOption>
{
    /// <summary>iPXE sub-option 176 inside 175: "no-pxedhcp", skip waiting for ProxyDHCP offers.</summary>
    public const byte IpxeNoPxeDhcpSubOption = 176;

    private readonly List<DhcpOption> _items;

    /// <summary>Room for a reply's options without growing (an OFFER or ACK carries 8-14): one array per reply, not four.</summary>
    private const int ReplyCapacity = 16;

    public DhcpOptions()
    {
        _items = new List<DhcpOption>(ReplyCapacity);
    }

    internal DhcpOptions(List<DhcpOption> items)
    {
        _items = items;
    }

    public int Count => _items.Count;

    public DhcpOption this[int index] => _items[index];

    public List<DhcpOption>.Enumerator GetEnumerator() => _items.GetEnumerator();

    IEnumerator<DhcpOption> IEnumerable<DhcpOption>.GetEnumerator() => GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    // ------------------------------------------------------------------------------------------
    // Raw access
    // ------------------------------------------------------------------------------------------

    public bool Contains(DhcpOptionCode code) => IndexOf(code) >= 0;

    /// <summary>The raw value of <paramref name="code"/>, all its instances concatenated (RFC 3396 §7).</summary>
    public bool TryGet(DhcpOptionCode code, out ReadOnlyMemory<byte> value)
    {
        var index = IndexOf(code);
        value = index >= 0 ? _items[index].Data : default;
        return index >= 0;
    }

    /// <summary>The raw value of <paramref name="code"/>, or null when absent.</summary>
    public ReadOnlyMemory<byte>? Get(DhcpOptionCode code) =>
        TryGet(code, out var value) ? value : (ReadOnlyMemory<byte>?)null; // a bare null would convert to empty memory via byte[]

    /// <summary>
    /// Sets a raw value (copied), replacing an existing one in place or appending. Values over 255 bytes
    /// are legal: the writer splits them into several instances (RFC 3396 §5).
    /// </summary>
    public void Set(DhcpOptionCode code, ReadOnlySpan<byte> value) => SetOwned(code, value.ToArray());

    public bool Remove(DhcpOptionCode code)
    {
        var index = IndexOf(code);
        if (index >= 0)
        {
            _items.RemoveAt(index);
        }

        return index >= 0;
    }

    public void Clear() => _items.Clear();

    internal void SetOwned(DhcpOptionCode code, ReadOnlyMemory<byte> value, bool first = false)
    {
        if (code is DhcpOptionCode.Pad or DhcpOptionCode.End or DhcpOptionCode.Overload)
        {
            throw new ArgumentException($"Option {(byte)code} is framing and is written by the codec itself.", nameof(code));
        }

        var option = new DhcpOption(code, value);
        var index = IndexOf(code);
        if (index >= 0)
        {
            _items[index] = option;
        }
        else if (first)
        {
            _items.Insert(0, option);
        }
        else
        {
            _items.Add(option);
        }
    }

    private int IndexOf(DhcpOptionCode code)
    {
        var items = _items;
        for (var i = 0; i < items.Count; i++)
        {
            if (items[i].Code == code)
            {
                return i;
            }
        }

        return -1;
    }

    private ReadOnlySpan<byte> Span(DhcpOptionCode code) => TryGet(code, out var value) ? value.Span : default;

    // ------------------------------------------------------------------------------------------
    // Typed accessors
    // ------------------------------------------------------------------------------------------

    /// <summary>Option 1, subnet mask (RFC 2132 §3.3).</summary>
    public IPv4Address? SubnetMask
    {
        get => GetAddress(DhcpOptionCode.SubnetMask);
        set => SetAddress(DhcpOptionCode.SubnetMask, value);
    }

    /// <summary>Option 3, routers in order of preference (RFC 2132 §3.5).</summary>
    public IReadOnlyList<IPv4Address>? Routers
    {
        get => GetAddresses(DhcpOptionCode.Router);
        set => SetAddresses(DhcpOptionCode.Router, value);
    }

    /// <summary>Option 6, domain name servers in order of preference (RFC 2132 §3.8).</summary>
    public IReadOnlyList<IPv4Address>? DomainNameServers
    {
        get => GetAddresses(DhcpOptionCode.DomainNameServer);
        set => SetAddresses(DhcpOptionCode.DomainNameServer, value);
    }

    /// <summary>Option 12, host name (RFC 2132 §3.14).</summary>
    public string? HostName
    {
        get => GetString(DhcpOptionCode.HostName);
        set => SetString(DhcpOptionCode.HostName, value);
    }

    /// <summary>Option 15, domain name (RFC 2132 §3.17).</summary>
    public string? DomainName
    {
        get => GetString(DhcpOptionCode.DomainName);
        set => SetString(DhcpOptionCode.DomainName, value);
    }

    /// <summary>Option 28, broadcast address (RFC 2132 §5.3).</summary>
    public IPv4Address? BroadcastAddress
    {
        get => GetAddress(DhcpOptionCode.BroadcastAddress);
        set => SetAddress(DhcpOptionCode.BroadcastAddress, value);
    }

    /// <summary>Option 43, vendor-specific information, raw (RFC 2132 §8.4); see <see cref="DhcpSubOptions"/>.</summary>
    public ReadOnlyMemory<byte>? VendorSpecificInformation
    {
        get => Get(DhcpOptionCode.VendorSpecificInformation);
        set => SetBytes(DhcpOptionCode.VendorSpecificInformation, value);
    }

    /// <summary>Option 50, requested IP address (RFC 2132 §9.1).</summary>
    public IPv4Address? RequestedIPAddress
    {
        get => GetAddress(DhcpOptionCode.RequestedIPAddress);
        set => SetAddress(DhcpOptionCode.RequestedIPAddress, value);
    }

    /// <summary>Option 51, IP address lease time in seconds; 0xFFFFFFFF is infinite (RFC 2132 §9.2).</summary>
    public uint? LeaseTimeSeconds
    {
        get => GetUInt32(DhcpOptionCode.LeaseTime);
        set => SetUInt32(DhcpOptionCode.LeaseTime, value);
    }

    /// <summary>
    /// Option 53, DHCP message type (RFC 2132 §9.6); null for a plain BOOTP packet. A value outside 1–8
    /// (e.g. RFC 3203 FORCERENEW) is returned as an undefined enum value, not rejected.
    /// Setting it places the option first: some PXE ROMs look for 53 at the start of the options.
    /// </summary>
    public DhcpMessageType? MessageType
    {
        get
        {
            var span = Span(DhcpOptionCode.MessageType);
            return span.Length == 1 ? (DhcpMessageType)span[0] : null;
        }

        set
        {
            if (value is { } type)
            {
                SetOwned(DhcpOptionCode.MessageType, new[] { (byte)type }, first: true);
            }
            else
            {
                Remove(DhcpOptionCode.MessageType);
            }
        }
    }

    /// <summary>Option 54, server identifier (RFC 2132 §9.7).</summary>
    public IPv4Address? ServerIdentifier
    {
        get => GetAddress(DhcpOptionCode.ServerIdentifier);
        set => SetAddress(DhcpOptionCode.ServerIdentifier, value);
    }

    /// <summary>Option 55, parameter request list, in the client's order (RFC 2132 §9.8).</summary>
    public IReadOnlyList<DhcpOptionCode>? ParameterRequestList
    {
        get
        {
            if (!TryGet(DhcpOptionCode.ParameterRequestList, out var value) || value.IsEmpty)
            {
                return null;
            }

            var codes = new DhcpOptionCode[value.Length];
            var span = value.Span;
            for (var i = 0; i < codes.Length; i++)
            {
                codes[i] = (DhcpOptionCode)span[i];
            }

            return codes;
        }

        set
        {
            if (value is null)
            {
                Remove(DhcpOptionCode.ParameterRequestList);
                return;
            }

            var bytes = new byte[value.Count];
            for (var i = 0; i < bytes.Length; i++)
            {
                bytes[i] = (byte)value[i];
            }

            SetOwned(DhcpOptionCode.ParameterRequestList, bytes);
        }
    }

    /// <summary>Option 57, maximum DHCP message size the client accepts, at least 576 (RFC 2132 §9.10).</summary>
    public ushort? MaxMessageSize
    {
        get
        {
            var span = Span(DhcpOptionCode.MaxMessageSize);
            return span.Length == 2 ? BinaryPrimitives.ReadUInt16BigEndian(span) : null;
        }

        set
        {
            if (value is { } size)
            {
                var bytes = new byte[2];
                BinaryPrimitives.WriteUInt16BigEndian(bytes, size);
                SetOwned(DhcpOptionCode.MaxMessageSize, bytes);
            }
            else
            {
                Remove(DhcpOptionCode.MaxMessageSize);
            }
        }
    }

    /// <summary>Option 58, renewal (T1) time in seconds (RFC 2132 §9.11).</summary>
    public uint? RenewalTimeSeconds
    {
        get => GetUInt32(DhcpOptionCode.RenewalTime);
        set => SetUInt32(DhcpOptionCode.RenewalTime, value);
    }

    /// <summary>Option 59, rebinding (T2) time in seconds (RFC 2132 §9.12).</summary>
    public uint? RebindingTimeSeconds
    {
        get => GetUInt32(DhcpOptionCode.RebindingTime);
        set => SetUInt32(DhcpOptionCode.RebindingTime, value);
    }

    /// <summary>Option 60, vendor class identifier, e.g. "PXEClient:Arch:00007:UNDI:003000" (RFC 2132 §9.13).</summary>
    public string? VendorClassIdentifier
    {
        get => GetString(DhcpOptionCode.VendorClassIdentifier);
        set => SetString(DhcpOptionCode.VendorClassIdentifier, value);
    }

    /// <summary>True when option 60 starts with "PXEClient" (PXE 2.1 spec §2.2.5, RFC 4578 §2).</summary>
    public bool IsPxeClient => Span(DhcpOptionCode.VendorClassIdentifier).StartsWith("PXEClient"u8);

    /// <summary>
    /// True when option 60 starts with "HTTPClient": UEFI HTTP-boot firmware, e.g. EDK2's
    /// "HTTPClient:Arch:00016:UNDI:003000" (UEFI 2.10 §24.7, HTTP Boot). A server that offers it a boot URL answers with
    /// option 60 = "HTTPClient" (same section, <see cref="HttpClientVendorClass"/>).
    /// </summary>
    public bool IsHttpClient => Span(DhcpOptionCode.VendorClassIdentifier).StartsWith("HTTPClient"u8);

    /// <summary>Option 60 of a reply that offers UEFI HTTP-boot firmware its boot URL (UEFI 2.10 §24.7, HTTP Boot).</summary>
    public static ReadOnlySpan<byte> HttpClientVendorClass => "HTTPClient"u8;

    /// <summary>
    /// Option 61, client identifier, raw: a type byte (1 = Ethernet, as in htype) then the identifier
    /// (RFC 2132 §9.14); RFC 4361 type 255 carries IAID + DUID.
    /// </summary>
    public ReadOnlyMemory<byte>? ClientIdentifier
    {
        get => Get(DhcpOptionCode.ClientIdentifier);
        set => SetBytes(DhcpOptionCode.ClientIdentifier, value);
    }

    /// <summary>Option 66, TFTP server name (RFC 2132 §9.4).</summary>
    public string? TftpServerName
    {
        get => GetString(DhcpOptionCode.TftpServerName);
        set => SetString(DhcpOptionCode.TftpServerName, value);
    }

    /// <summary>Option 67, bootfile name (RFC 2132 §9.5).</summary>
    public string? BootfileName
    {
        get => GetString(DhcpOptionCode.BootfileName);
        set => SetString(DhcpOptionCode.BootfileName, value);
    }

    /// <summary>
    /// Option 77, user classes (RFC 3004 §4: a list of length-prefixed opaque strings). iPXE instead
    /// sends the bare string "iPXE" (no length byte), so a value that does not decode as an RFC 3004 list
    /// is returned as one plain class. Setting writes the RFC 3004 format.
    /// </summary>
    public IReadOnlyList<string>? UserClasses
    {
        get
        {
            if (!TryGet(DhcpOptionCode.UserClass, out var value) || value.IsEmpty)
            {
                return null;
            }

            var span = value.Span;
            var classes = new List<string>();
            var i = 0;
            while (i < span.Length)
            {
                var length = span[i];
                if (length == 0 || i + 1 + length > span.Length)
                {
                    return new[] { Decode(span) };
                }

                classes.Add(Decode(span.Slice(i + 1, length)));
                i += 1 + length;
            }

            return classes;
        }

        set
        {
            if (value is null)
            {
                Remove(DhcpOptionCode.UserClass);
                return;
            }

            var buffer = new List<byte>();
            foreach (var userClass in value)
            {
                var bytes = Encoding.UTF8.GetBytes(userClass);
                if (bytes.Length is 0 or > byte.MaxValue)
                {
                    throw new ArgumentException("A user class must be 1 to 255 bytes (RFC 3004 §4).", nameof(value));
                }

                buffer.Add((byte)bytes.Length);
                buffer.AddRange(bytes);
            }

            SetOwned(DhcpOptionCode.UserClass, buffer.ToArray());
        }
    }

    /// <summary>True when option 77 holds the class "iPXE", in either the plain or the RFC 3004 form.</summary>
    public bool HasIpxeUserClass
    {
        get
        {
            var span = Span(DhcpOptionCode.UserClass);
            if (span.SequenceEqual("iPXE"u8))
            {
                return true;
            }

            var i = 0;
            while (i < span.Length)
            {
                var length = span[i];
                if (length == 0 || i + 1 + length > span.Length)
                {
                    return false;
                }

                if (span.Slice(i + 1, length).SequenceEqual("iPXE"u8))
                {
                    return true;
                }

                i += 1 + length;
            }

            return false;
        }
    }

    /// <summary>Option 82, relay agent information, raw sub-options (RFC 3046 §2.0).</summary>
    public ReadOnlyMemory<byte>? RelayAgentInformation
    {
        get => Get(DhcpOptionCode.RelayAgentInformation);
        set => SetBytes(DhcpOptionCode.RelayAgentInformation, value);
    }

    /// <summary>Option 82 sub-option 1, agent circuit ID (RFC 3046 §3.1).</summary>
    public ReadOnlyMemory<byte>? RelayAgentCircuitId => GetSubOption(DhcpOptionCode.RelayAgentInformation, 1);

    /// <summary>Option 82 sub-option 2, agent remote ID (RFC 3046 §3.2).</summary>
    public ReadOnlyMemory<byte>? RelayAgentRemoteId => GetSubOption(DhcpOptionCode.RelayAgentInformation, 2);

    /// <summary>Option 82 sub-option 5, link selection: the subnet to allocate from (RFC 3527 §3).</summary>
    public IPv4Address? RelayAgentLinkSelection =>
        GetSubOption(DhcpOptionCode.RelayAgentInformation, 5) is { Length: 4 } link ? IPv4Address.Read(link.Span) : null;

    /// <summary>Builds option 82 from its sub-options 1, 2 and 5 (RFC 3046 §2.0, §3; RFC 3527 §3); nulls are left out.</summary>
    public void SetRelayAgentInformation(ReadOnlySpan<byte> circuitId, ReadOnlySpan<byte> remoteId, IPv4Address? linkSelection)
    {
        var subOptions = new List<DhcpSubOption>();
        if (!circuitId.IsEmpty)
        {
            subOptions.Add(new DhcpSubOption(1, circuitId.ToArray()));
        }

        if (!remoteId.IsEmpty)
        {
            subOptions.Add(new DhcpSubOption(2, remoteId.ToArray()));
        }

        if (linkSelection is { } link)
        {
            var bytes = new byte[4];
            link.Write(bytes);
            subOptions.Add(new DhcpSubOption(5, bytes));
        }

        SetOwned(DhcpOptionCode.RelayAgentInformation, DhcpSubOptions.Encode(subOptions));
    }

    /// <summary>Option 93, client system architectures, in the client's order (RFC 4578 §2.1).</summary>
    public IReadOnlyList<ClientArchitecture>? ClientSystemArchitectures
    {
        get
        {
            var span = Span(DhcpOptionCode.ClientSystemArchitecture);
            if (span.IsEmpty || span.Length % 2 != 0)
            {
                return null;
            }

            var architectures = new ClientArchitecture[span.Length / 2];
            for (var i = 0; i < architectures.Length; i++)
            {
                architectures[i] = (ClientArchitecture)BinaryPrimitives.ReadUInt16BigEndian(span[(2 * i)..]);
            }

            return architectures;
        }

        set
        {
            if (value is null)
            {
                Remove(DhcpOptionCode.ClientSystemArchitecture);
                return;
            }

            var bytes = new byte[2 * value.Count];
            for (var i = 0; i < value.Count; i++)
            {
                BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(2 * i), (ushort)value[i]);
            }

            SetOwned(DhcpOptionCode.ClientSystemArchitecture, bytes);
        }
    }

    /// <summary>Option 94, client network interface identifier: type (1 = UNDI), major, minor (RFC 4578 §2.2).</summary>
    public ClientNetworkInterface? ClientNetworkInterface
    {
        get
        {
            var span = Span(DhcpOptionCode.ClientNetworkInterface);
            return span.Length == 3 ? new ClientNetworkInterface(span[0], span[1], span[2]) : null;
        }

        set
        {
            if (value is { } ndi)
            {
                SetOwned(DhcpOptionCode.ClientNetworkInterface, new[] { ndi.Type, ndi.Major, ndi.Minor });
            }
            else
            {
                Remove(DhcpOptionCode.ClientNetworkInterface);
            }
        }
    }

    /// <summary>
    /// Option 97, client machine identifier: type 0 then a 16-byte GUID (RFC 4578 §2.3). RFC 4578 leaves
    /// the byte order open; firmware sends the SMBIOS system UUID as SMBIOS stores it, first three fields
    /// little-endian (SMBIOS 2.6 §7.2.1), which is .NET's <see cref="Guid"/> byte layout. So the value
    /// reads as the UUID that dmidecode prints and QEMU's -uuid sets (verified on iPXE and EDK2 captures).
    /// </summary>
    public Guid? ClientMachineIdentifier
    {
        get
        {
            var span = Span(DhcpOptionCode.ClientMachineIdentifier);
            return span.Length == 17 && span[0] == 0 ? new Guid(span[1..]) : null;
        }

        set
        {
            if (value is { } guid)
            {
                var bytes = new byte[17];
                guid.TryWriteBytes(bytes.AsSpan(1));
                SetOwned(DhcpOptionCode.ClientMachineIdentifier, bytes);
            }
            else
            {
                Remove(DhcpOptionCode.ClientMachineIdentifier);
            }
        }
    }

    /// <summary>Option 118, subnet selection: the subnet to allocate from (RFC 3011 §3).</summary>
    public IPv4Address? SubnetSelection
    {
        get => GetAddress(DhcpOptionCode.SubnetSelection);
        set => SetAddress(DhcpOptionCode.SubnetSelection, value);
    }

    /// <summary>
    /// Option 175, iPXE encapsulated options, parsed; null when absent or malformed. iPXE sends its
    /// feature flags here (e.g. 19 HTTP, 24 bzImage); a server sends settings such as 176 no-pxedhcp.
    /// </summary>
    public IReadOnlyList<DhcpSubOption>? IpxeEncapsulatedOptions
    {
        get => TryGet(DhcpOptionCode.IpxeEncapsulated, out var value) && DhcpSubOptions.TryParse(value, out var list)
            ? list
            : null;
        set
        {
            if (value is null)
            {
                Remove(DhcpOptionCode.IpxeEncapsulated);
            }
            else
            {
                SetOwned(DhcpOptionCode.IpxeEncapsulated, DhcpSubOptions.Encode(value));
            }
        }
    }

    /// <summary>
    /// Option 175 sub-option 176 "no-pxedhcp" (iPXE's DHCP_EB_NO_PXEDHCP): when 1, iPXE does not wait for
    /// ProxyDHCP offers. Setting true writes 175.176 = 1, keeping the other sub-options.
    /// </summary>
    public bool IpxeNoPxeDhcp
    {
        get => GetSubOption(DhcpOptionCode.IpxeEncapsulated, IpxeNoPxeDhcpSubOption) is { Length: > 0 } flag
            && flag.Span[flag.Length - 1] != 0;
        set
        {
            var subOptions = IpxeEncapsulatedOptions?.Where(s => s.Code != IpxeNoPxeDhcpSubOption).ToList()
                ?? new List<DhcpSubOption>();
            if (value)
            {
                subOptions.Add(new DhcpSubOption(IpxeNoPxeDhcpSubOption, new byte[] { 1 }));
            }

            if (subOptions.Count == 0)
            {
                Remove(DhcpOptionCode.IpxeEncapsulated);
            }
            else
            {
                SetOwned(DhcpOptionCode.IpxeEncapsulated, DhcpSubOptions.Encode(subOptions));
            }
        }
    }

    // ------------------------------------------------------------------------------------------
    // Shapes
    // ------------------------------------------------------------------------------------------

    private ReadOnlyMemory<byte>? GetSubOption(DhcpOptionCode code, byte subCode)
    {
        if (!TryGet(code, out var value) || !DhcpSubOptions.TryFind(value.Span, subCode, out var offset, out var length))
        {
            return null;
        }

        return value.Slice(offset, length);
    }

    private IPv4Address? GetAddress(DhcpOptionCode code)
    {
        var span = Span(code);
        return span.Length == 4 ? IPv4Address.Read(span) : null;
    }

    private void SetAddress(DhcpOptionCode code, IPv4Address? value)
    {
        if (value is { } address)
        {
            var bytes = new byte[4];
            address.Write(bytes);
            SetOwned(code, bytes);
        }
        else
        {
            Remove(code);
        }
    }

    private IPv4Address[]? GetAddresses(DhcpOptionCode code)
    {
        var span = Span(code);
        if (span.IsEmpty || span.Length % 4 != 0)
        {
            return null;
        }

        var addresses = new IPv4Address[span.Length / 4];
        for (var i = 0; i < addresses.Length; i++)
        {
            addresses[i] = IPv4Address.Read(span[(4 * i)..]);
        }

        return addresses;
    }

    private void SetAddresses(DhcpOptionCode code, IReadOnlyList<IPv4Address>? value)
    {
        if (value is null)
        {
            Remove(code);
            return;
        }

        var bytes = new byte[4 * value.Count];
        for (var i = 0; i < value.Count; i++)
        {
            value[i].Write(bytes.AsSpan(4 * i));
        }

        SetOwned(code, bytes);
    }

    private uint? GetUInt32(DhcpOptionCode code)
    {
        var span = Span(code);
        return span.Length == 4 ? BinaryPrimitives.ReadUInt32BigEndian(span) : null;
    }

    private void SetUInt32(DhcpOptionCode code, uint? value)
    {
        if (value is { } number)
        {
            var bytes = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(bytes, number);
            SetOwned(code, bytes);
        }
        else
        {
            Remove(code);
        }
    }

    private string? GetString(DhcpOptionCode code) => TryGet(code, out var value) ? Decode(value.Span) : null;

    private void SetString(DhcpOptionCode code, string? value)
    {
        if (value is null)
        {
            Remove(code);
        }
        else
        {
            SetOwned(code, Encoding.UTF8.GetBytes(value));
        }
    }

    private void SetBytes(DhcpOptionCode code, ReadOnlyMemory<byte>? value)
    {
        if (value is { } bytes)
        {
            SetOwned(code, bytes.ToArray());
        }
        else
        {
            Remove(code);
        }
    }

    /// <summary>
    /// RFC 2132 strings are NVT ASCII without a terminator, but some clients add trailing NULs; UTF-8
    /// decoding is a superset of ASCII and replaces invalid bytes instead of throwing.
    /// </summary>
    internal static string Decode(ReadOnlySpan<byte> bytes) => Encoding.UTF8.GetString(bytes.TrimEnd((byte)0));
}

/// <summary>Option 94 value (RFC 4578 §2.2): interface type (1 = UNDI) and its major/minor revision.</summary>
public readonly record struct ClientNetworkInterface(byte Type, byte Major, byte Minor)
{
    public override string ToString() => $"{(Type == 1 ? "UNDI" : Type.ToString(System.Globalization.CultureInfo.InvariantCulture))} {Major}.{Minor}";
}
