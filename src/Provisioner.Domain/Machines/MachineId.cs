using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;

namespace Provisioner.Domain.Machines;

/// <summary>
/// A machine's identity: its boot NIC's MAC address, normalised to lower-case colon form
/// (<c>aa:bb:cc:dd:ee:ff</c>). It is the sharding entity id, so every spelling of one MAC must map to one value.
/// </summary>
public readonly partial record struct MachineId
{
    private MachineId(string value) => Value = value;

    public string Value { get; }

    public override string ToString() => Value ?? string.Empty;

    /// <summary>Accepts <c>aa:bb:cc:dd:ee:ff</c>, <c>AA-BB-CC-DD-EE-FF</c>, <c>aabb.ccdd.eeff</c> and <c>aabbccddeeff</c>.</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, out MachineId id)
    {
        id = default;
        var trimmed = text?.Trim();
        if (string.IsNullOrEmpty(trimmed) || !Spelling().IsMatch(trimmed))
        {
            return false;
        }

        var hex = string.Concat(trimmed.Where(char.IsAsciiHexDigit)).ToLowerInvariant();
        id = new MachineId(string.Join(':', Enumerable.Range(0, 6).Select(i => hex.Substring(i * 2, 2))));
        return true;
    }

    /// <summary>Six pairs split by one consistent ':' or '-', three Cisco quads split by '.', or twelve bare hex digits.</summary>
    [GeneratedRegex("^(?:[0-9A-Fa-f]{2}(?<sep>[:-])[0-9A-Fa-f]{2}(?:\\k<sep>[0-9A-Fa-f]{2}){4}|[0-9A-Fa-f]{4}\\.[0-9A-Fa-f]{4}\\.[0-9A-Fa-f]{4}|[0-9A-Fa-f]{12})$")]
    private static partial Regex Spelling();

    public static MachineId Parse(string text) =>
        TryParse(text, out var id) ? id : throw new FormatException($"'{text}' is not a MAC address (expected aa:bb:cc:dd:ee:ff)");

    /// <summary>From the six hardware-address bytes of a DHCP chaddr.</summary>
    public static MachineId FromBytes(ReadOnlySpan<byte> mac)
    {
        if (mac.Length != 6)
        {
            throw new ArgumentException("a MAC address has 6 bytes", nameof(mac));
        }

        // Once per DHCP packet: the string is the only allocation.
        Span<char> chars = stackalloc char[17];
        for (var i = 0; i < 6; i++)
        {
            chars[i * 3] = Hex[mac[i] >> 4];
            chars[(i * 3) + 1] = Hex[mac[i] & 0xf];
            if (i < 5)
            {
                chars[(i * 3) + 2] = ':';
            }
        }

        return new MachineId(new string(chars));
    }

    private const string Hex = "0123456789abcdef";
}
