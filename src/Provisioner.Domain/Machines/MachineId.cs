using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Provisioner.Domain.Machines;

/// <summary>
/// A machine's identity: its boot NIC's MAC address, normalised to lower-case colon form
/// (<c>aa:bb:cc:dd:ee:ff</c>). It is the sharding entity id, so every spelling of one MAC must map to one value.
/// </summary>
public readonly record struct MachineId
{
    private MachineId(string value) => Value = value;

    public string Value { get; }

    public override string ToString() => Value ?? string.Empty;

    /// <summary>Accepts <c>aa:bb:cc:dd:ee:ff</c>, <c>AA-BB-CC-DD-EE-FF</c>, <c>aabb.ccdd.eeff</c> and <c>aabbccddeeff</c>.</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, out MachineId id)
    {
        id = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        Span<char> hex = stackalloc char[12];
        var count = 0;
        foreach (var c in text.Trim())
        {
            if (c is ':' or '-' or '.')
            {
                continue;
            }

            if (!char.IsAsciiHexDigit(c) || count == 12)
            {
                return false;
            }

            hex[count++] = char.ToLowerInvariant(c);
        }

        if (count != 12)
        {
            return false;
        }

        id = new MachineId(string.Create(17, hex.ToArray(), static (dest, src) =>
        {
            for (var i = 0; i < 6; i++)
            {
                dest[i * 3] = src[i * 2];
                dest[(i * 3) + 1] = src[(i * 2) + 1];
                if (i < 5)
                {
                    dest[(i * 3) + 2] = ':';
                }
            }
        }));
        return true;
    }

    public static MachineId Parse(string text) =>
        TryParse(text, out var id) ? id : throw new FormatException($"'{text}' is not a MAC address (expected aa:bb:cc:dd:ee:ff)");

    /// <summary>From the six hardware-address bytes of a DHCP chaddr.</summary>
    public static MachineId FromBytes(ReadOnlySpan<byte> mac)
    {
        if (mac.Length != 6)
        {
            throw new ArgumentException("a MAC address has 6 bytes", nameof(mac));
        }

        return new MachineId(string.Join(':', mac.ToArray().Select(b => b.ToString("x2", CultureInfo.InvariantCulture))));
    }
}
