using Provisioner.Protocols.Dhcp;

namespace Provisioner.Protocols.Tests.Dhcp;

internal static class DhcpAssert
{
    /// <summary>Writes, parses and returns the parsed copy, asserting the write succeeded and the parse did too.</summary>
    public static DhcpPacket RoundTrip(DhcpPacket packet)
    {
        var bytes = packet.ToArray();
        Assert.True(bytes.Length >= DhcpPacket.MinimumLength);
        Assert.True(DhcpPacket.TryParse(bytes, out var parsed, out var error), $"parse failed: {error}");
        Assert.Equal(DhcpParseError.None, error);
        return parsed;
    }

    /// <summary>Every fixed field and every option (code, order, bytes) equal; fixed text fields compared zero-padded.</summary>
    public static void Equivalent(DhcpPacket expected, DhcpPacket actual)
    {
        Assert.Equal(expected.Op, actual.Op);
        Assert.Equal(expected.HardwareType, actual.HardwareType);
        Assert.Equal(expected.HardwareAddressLength, actual.HardwareAddressLength);
        Assert.Equal(expected.Hops, actual.Hops);
        Assert.Equal(expected.TransactionId, actual.TransactionId);
        Assert.Equal(expected.Seconds, actual.Seconds);
        Assert.Equal(expected.Flags, actual.Flags);
        Assert.Equal(expected.ClientAddress, actual.ClientAddress);
        Assert.Equal(expected.YourAddress, actual.YourAddress);
        Assert.Equal(expected.ServerAddress, actual.ServerAddress);
        Assert.Equal(expected.RelayAgentAddress, actual.RelayAgentAddress);
        Assert.Equal(Padded(expected.ClientHardwareAddressField, 16), Padded(actual.ClientHardwareAddressField, 16));
        Assert.Equal(Hex(expected.ClientHardwareAddress), Hex(actual.ClientHardwareAddress));
        Assert.Equal(Padded(expected.ServerNameField, 64), Padded(actual.ServerNameField, 64));
        Assert.Equal(Padded(expected.FileField, 128), Padded(actual.FileField, 128));
        Assert.Equal(Describe(expected.Options), Describe(actual.Options));
    }

    /// <summary>Options as "code=hex" lines, in order: a readable diff when they differ.</summary>
    public static string Describe(DhcpOptions options) => string.Join("\n", options.Select(o => o.ToString()));

    public static string Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexString(bytes);

    private static string Padded(ReadOnlyMemory<byte> field, int length)
    {
        var bytes = new byte[length];
        field.Span.CopyTo(bytes);
        return Convert.ToHexString(bytes);
    }
}
