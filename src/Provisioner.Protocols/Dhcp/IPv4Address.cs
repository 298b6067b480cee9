using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Provisioner.Protocols.Dhcp;

/// <summary>
/// An IPv4 address as the 32-bit number carried on the wire (network byte order is applied only when
/// reading or writing). A 4-byte value type, so the DHCP hot path never allocates an <see cref="IPAddress"/>.
/// </summary>
public readonly record struct IPv4Address(uint Value) : IComparable<IPv4Address>
{
    /// <summary>0.0.0.0, the "unset" value of ciaddr/yiaddr/siaddr/giaddr.</summary>
    public static readonly IPv4Address Any;

    /// <summary>255.255.255.255, the limited broadcast address.</summary>
    public static readonly IPv4Address Broadcast = new(uint.MaxValue);

    public IPv4Address(byte a, byte b, byte c, byte d)
        : this(((uint)a << 24) | ((uint)b << 16) | ((uint)c << 8) | d)
    {
    }

    /// <summary>True for 0.0.0.0.</summary>
    public bool IsAny => Value == 0;

    /// <summary>Reads 4 bytes in network order. <paramref name="source"/> must hold at least 4 bytes.</summary>
    public static IPv4Address Read(ReadOnlySpan<byte> source) => new(BinaryPrimitives.ReadUInt32BigEndian(source));

    /// <summary>Writes 4 bytes in network order. <paramref name="destination"/> must hold at least 4 bytes.</summary>
    public void Write(Span<byte> destination) => BinaryPrimitives.WriteUInt32BigEndian(destination, Value);

    public IPAddress ToIPAddress()
    {
        Span<byte> bytes = stackalloc byte[4];
        Write(bytes);
        return new IPAddress(bytes);
    }

    /// <summary>Converts an IPv4 (or IPv4-mapped IPv6) address; false for any other address.</summary>
    public static bool TryFrom(IPAddress? address, out IPv4Address result)
    {
        result = default;
        if (address is null)
        {
            return false;
        }

        if (address.AddressFamily == AddressFamily.InterNetworkV6 && address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily != AddressFamily.InterNetwork)
        {
            return false;
        }

        Span<byte> bytes = stackalloc byte[4];
        if (!address.TryWriteBytes(bytes, out var written) || written != 4)
        {
            return false;
        }

        result = Read(bytes);
        return true;
    }

    /// <summary>Parses dotted-quad text ("192.0.2.1").</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, out IPv4Address result)
    {
        result = default;
        return text is not null
            && IPAddress.TryParse(text, out var address)
            && address.AddressFamily == AddressFamily.InterNetwork
            && TryFrom(address, out result);
    }

    /// <summary>Parses dotted-quad text; throws <see cref="FormatException"/> (for configuration, not network input).</summary>
    public static IPv4Address Parse(string text) =>
        TryParse(text, out var result) ? result : throw new FormatException($"'{text}' is not an IPv4 address.");

    public int CompareTo(IPv4Address other) => Value.CompareTo(other.Value);

    public static bool operator <(IPv4Address left, IPv4Address right) => left.Value < right.Value;

    public static bool operator >(IPv4Address left, IPv4Address right) => left.Value > right.Value;

    public static bool operator <=(IPv4Address left, IPv4Address right) => left.Value <= right.Value;

    public static bool operator >=(IPv4Address left, IPv4Address right) => left.Value >= right.Value;

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Value >> 24}.{(Value >> 16) & 0xFF}.{(Value >> 8) & 0xFF}.{Value & 0xFF}");
}
