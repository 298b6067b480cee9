using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Provisioner.Protocols.Dhcp;

namespace Provisioner.Domain.Profiles;

/// <summary>An IPv4 network in CIDR form (<c>10.33.0.0/16</c>) as used by <c>subnet</c> rules.</summary>
public readonly record struct Ipv4Cidr(IPv4Address Network, int PrefixLength)
{
    public uint Mask => PrefixLength == 0 ? 0u : uint.MaxValue << (32 - PrefixLength);

    public bool Contains(IPv4Address address) => (address.Value & Mask) == Network.Value;

    /// <summary>Strict: the address part must be the network itself (host bits zero), so a typo is not silently widened.</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, out Ipv4Cidr cidr, [NotNullWhen(false)] out string? error)
    {
        cidr = default;
        var slash = text?.IndexOf('/', StringComparison.Ordinal) ?? -1;
        if (text is null || slash < 0)
        {
            error = $"'{text}' is not a CIDR network (expected e.g. 10.33.0.0/16)";
            return false;
        }

        if (!IPv4Address.TryParse(text[..slash], out var address)
            || !int.TryParse(text[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var prefix)
            || prefix > 32)
        {
            error = $"'{text}' is not a CIDR network (expected e.g. 10.33.0.0/16)";
            return false;
        }

        var candidate = new Ipv4Cidr(address, prefix);
        if ((address.Value & candidate.Mask) != address.Value)
        {
            error = $"'{text}' has host bits set (did you mean {new IPv4Address(address.Value & candidate.Mask)}/{prefix}?)";
            return false;
        }

        cidr = candidate;
        error = null;
        return true;
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Network}/{PrefixLength}");
}
