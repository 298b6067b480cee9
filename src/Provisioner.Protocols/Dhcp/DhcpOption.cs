namespace Provisioner.Protocols.Dhcp;

/// <summary>
/// One DHCP option as code + raw value. A parsed value is a slice of the packet's own buffer (or, for an
/// option split across instances, the concatenation required by RFC 3396 §7), so it never exceeds what
/// arrived. Equality is by reference to the bytes; compare <see cref="Data"/> with SequenceEqual for content.
/// </summary>
public readonly record struct DhcpOption(DhcpOptionCode Code, ReadOnlyMemory<byte> Data)
{
    public override string ToString() => $"{(byte)Code}={Convert.ToHexString(Data.Span)}";
}

/// <summary>
/// A sub-option inside an encapsulating option: 43 vendor-specific (RFC 2132 §8.4), 82 relay agent
/// information (RFC 3046 §2.0), 175 iPXE. Same code/length/value layout as top-level options.
/// </summary>
public readonly record struct DhcpSubOption(byte Code, ReadOnlyMemory<byte> Data)
{
    public override string ToString() => $"{Code}={Convert.ToHexString(Data.Span)}";
}

/// <summary>Reads and writes code/length/value sub-option lists.</summary>
/// <remarks>
/// Code 0 is read as a one-byte pad and 255 as the end, as RFC 2132 §8.4 allows inside option 43 and iPXE
/// does inside 175; RFC 3046 never assigns 0 or 255 to option 82 sub-options, so one rule serves all three.
/// </remarks>
public static class DhcpSubOptions
{
    /// <summary>Pad (RFC 2132 §3.1) inside an encapsulated option.</summary>
    public const byte Pad = 0;

    /// <summary>End (RFC 2132 §3.2) inside an encapsulated option.</summary>
    public const byte End = 255;

    /// <summary>Parses every sub-option; false (and an empty list) when one runs past the end.</summary>
    public static bool TryParse(ReadOnlyMemory<byte> data, out IReadOnlyList<DhcpSubOption> subOptions)
    {
        var list = new List<DhcpSubOption>();
        var span = data.Span;
        var i = 0;
        while (i < span.Length)
        {
            var code = span[i];
            if (code == Pad)
            {
                i++;
                continue;
            }

            if (code == End)
            {
                break;
            }

            if (i + 1 >= span.Length || i + 2 + span[i + 1] > span.Length)
            {
                subOptions = Array.Empty<DhcpSubOption>();
                return false;
            }

            list.Add(new DhcpSubOption(code, data.Slice(i + 2, span[i + 1])));
            i += 2 + span[i + 1];
        }

        subOptions = list;
        return true;
    }

    /// <summary>Finds the first sub-option <paramref name="code"/> without allocating; false if absent or malformed.</summary>
    public static bool TryFind(ReadOnlySpan<byte> data, byte code, out int offset, out int length)
    {
        offset = 0;
        length = 0;
        var i = 0;
        while (i < data.Length)
        {
            var current = data[i];
            if (current == Pad)
            {
                i++;
                continue;
            }

            if (current == End || i + 1 >= data.Length || i + 2 + data[i + 1] > data.Length)
            {
                return false;
            }

            if (current == code)
            {
                offset = i + 2;
                length = data[i + 1];
                return true;
            }

            i += 2 + data[i + 1];
        }

        return false;
    }

    /// <summary>Encodes sub-options in order, without an End marker. Throws for a value over 255 bytes.</summary>
    public static byte[] Encode(IEnumerable<DhcpSubOption> subOptions)
    {
        ArgumentNullException.ThrowIfNull(subOptions);
        var buffer = new List<byte>();
        foreach (var subOption in subOptions)
        {
            if (subOption.Data.Length > byte.MaxValue)
            {
                throw new ArgumentException($"Sub-option {subOption.Code} is longer than 255 bytes.", nameof(subOptions));
            }

            buffer.Add(subOption.Code);
            buffer.Add((byte)subOption.Data.Length);
            buffer.AddRange(subOption.Data.Span);
        }

        return buffer.ToArray();
    }
}
