using Provisioner.Protocols.Dhcp;

namespace Provisioner.Protocols.Tests.Dhcp;

/// <summary>Option overload (RFC 2132 §9.3) and long options split into several instances (RFC 3396).</summary>
public sealed class DhcpOverloadAndSplitTests
{
    private static byte[] Ascii(string text) => System.Text.Encoding.ASCII.GetBytes(text);

    private static byte[] Option(byte code, byte[] value) => new[] { code, (byte)value.Length }.Concat(value).ToArray();

    private static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();

    [Fact]
    public void Overload_3_reads_options_from_file_then_sname()
    {
        var bytes = DhcpTestPackets.Raw(
            Concat(Option(53, new byte[] { 1 }), Option(52, new byte[] { 3 }), new byte[] { 255 }),
            file: Concat(Option(12, Ascii("from-file")), new byte[] { 255 }),
            sname: Concat(Option(15, Ascii("from.sname")), new byte[] { 255 }));

        Assert.True(DhcpPacket.TryParse(bytes, out var packet, out var error), error.ToString());

        Assert.Equal(DhcpOverload.Both, packet.Overload);
        Assert.Equal(DhcpMessageType.Discover, packet.MessageType);
        Assert.Equal("from-file", packet.Options.HostName);
        Assert.Equal("from.sname", packet.Options.DomainName);
        Assert.Equal(new[] { DhcpOptionCode.MessageType, DhcpOptionCode.HostName, DhcpOptionCode.DomainName }, packet.Options.Select(o => o.Code));
        Assert.Equal(string.Empty, packet.BootFileName);
        Assert.Equal(string.Empty, packet.ServerHostName);
    }

    [Theory]
    [InlineData(1, "file-only", null)]
    [InlineData(2, null, "sname-only")]
    public void Overload_1_or_2_reads_only_that_field_and_keeps_the_other_as_a_name(byte overload, string? hostName, string? domainName)
    {
        var bytes = DhcpTestPackets.Raw(
            Concat(Option(52, new[] { overload }), new byte[] { 255 }),
            file: overload == 1 ? Concat(Option(12, Ascii("file-only")), new byte[] { 255 }) : Ascii("boot.efi"),
            sname: overload == 2 ? Concat(Option(15, Ascii("sname-only")), new byte[] { 255 }) : Ascii("tftp.lab"));

        Assert.True(DhcpPacket.TryParse(bytes, out var packet, out _));

        Assert.Equal((DhcpOverload)overload, packet.Overload);
        Assert.Equal(hostName, packet.Options.HostName);
        Assert.Equal(domainName, packet.Options.DomainName);
        Assert.Equal(overload == 1 ? string.Empty : "boot.efi", packet.BootFileName);
        Assert.Equal(overload == 2 ? string.Empty : "tftp.lab", packet.ServerHostName);
    }

    [Fact]
    public void Without_option_52_file_and_sname_are_names_even_if_they_look_like_options()
    {
        var bytes = DhcpTestPackets.Raw(
            new byte[] { 53, 1, 1, 255 },
            file: Concat(Option(12, Ascii("x")), new byte[] { 255 }));

        Assert.True(DhcpPacket.TryParse(bytes, out var packet, out _));

        Assert.Equal(DhcpOverload.None, packet.Overload);
        Assert.Null(packet.Options.HostName);
        Assert.Equal(128, packet.FileField.Length);
    }

    [Fact]
    public void Option_split_across_options_file_and_sname_is_concatenated_in_that_order()
    {
        var bytes = DhcpTestPackets.Raw(
            Concat(Option(43, new byte[] { 1, 2 }), Option(52, new byte[] { 3 }), Option(43, new byte[] { 3 }), new byte[] { 255 }),
            file: Concat(Option(43, new byte[] { 4, 5 }), new byte[] { 255 }),
            sname: Concat(Option(43, new byte[] { 6 }), new byte[] { 255 }));

        Assert.True(DhcpPacket.TryParse(bytes, out var packet, out _));

        Assert.Equal(new byte[] { 1, 2, 3, 4, 5, 6 }, packet.Options.VendorSpecificInformation!.Value.ToArray());
        Assert.Single(packet.Options);
    }

    [Fact]
    public void Option_52_inside_file_or_sname_is_ignored()
    {
        var bytes = DhcpTestPackets.Raw(
            Concat(Option(52, new byte[] { 1 }), new byte[] { 255 }),
            file: Concat(Option(52, new byte[] { 2 }), Option(12, Ascii("h")), new byte[] { 255 }),
            sname: Concat(Option(12, Ascii("never-read")), new byte[] { 255 }));

        Assert.True(DhcpPacket.TryParse(bytes, out var packet, out _));

        Assert.Equal(DhcpOverload.File, packet.Overload);
        Assert.Equal("h", packet.Options.HostName);
    }

    [Fact]
    public void Overloaded_field_without_end_may_run_to_the_end_of_the_field()
    {
        var file = new byte[128];
        Option(43, new byte[126]).CopyTo(file, 0);
        var bytes = DhcpTestPackets.Raw(Concat(Option(52, new byte[] { 1 }), new byte[] { 255 }), file: file);

        Assert.True(DhcpPacket.TryParse(bytes, out var packet, out _));

        Assert.Equal(126, packet.Options.VendorSpecificInformation!.Value.Length);
    }

    [Fact]
    public void Option_running_past_the_end_of_an_overloaded_field_is_rejected()
    {
        var file = new byte[128];
        file[126] = 12;
        file[127] = 2;
        var bytes = DhcpTestPackets.Raw(Concat(Option(52, new byte[] { 1 }), new byte[] { 255 }), file: file);

        Assert.False(DhcpPacket.TryParse(bytes, out _, out var error));
        Assert.Equal(DhcpParseError.OptionTruncated, error);
    }

    [Theory]
    [InlineData(new byte[] { 52, 1, 0 })]
    [InlineData(new byte[] { 52, 1, 4 })]
    [InlineData(new byte[] { 52, 0 })]
    [InlineData(new byte[] { 52, 2, 1, 1 })]
    [InlineData(new byte[] { 52, 1, 1, 52, 1, 2 })]
    public void Malformed_option_52_is_rejected(byte[] options)
    {
        var bytes = DhcpTestPackets.Raw(Concat(options, new byte[] { 255 }));

        Assert.False(DhcpPacket.TryParse(bytes, out _, out var error));
        Assert.Equal(DhcpParseError.BadOverload, error);
    }

    [Fact]
    public void Option_43_of_600_bytes_in_three_instances_is_concatenated()
    {
        var value = Enumerable.Range(0, 600).Select(i => (byte)(i * 7)).ToArray();
        var bytes = DhcpTestPackets.Raw(Concat(
            Option(53, new byte[] { 5 }),
            Option(43, value[..255]),
            Option(43, value[255..510]),
            Option(43, value[510..]),
            new byte[] { 255 }));

        Assert.True(DhcpPacket.TryParse(bytes, out var packet, out _));

        Assert.Equal(value, packet.Options.VendorSpecificInformation!.Value.ToArray());
        Assert.Equal(new[] { DhcpOptionCode.MessageType, DhcpOptionCode.VendorSpecificInformation }, packet.Options.Select(o => o.Code));
    }

    [Fact]
    public void Instances_of_one_code_separated_by_other_options_are_concatenated_at_the_first_position()
    {
        var bytes = DhcpTestPackets.Raw(Concat(
            Option(6, new byte[] { 192, 0, 2, 1 }),
            Option(53, new byte[] { 2 }),
            Option(6, new byte[] { 192, 0, 2, 2 }),
            new byte[] { 255 }));

        Assert.True(DhcpPacket.TryParse(bytes, out var packet, out _));

        Assert.Equal(new[] { IPv4Address.Parse("192.0.2.1"), IPv4Address.Parse("192.0.2.2") }, packet.Options.DomainNameServers);
        Assert.Equal(new[] { DhcpOptionCode.DomainNameServer, DhcpOptionCode.MessageType }, packet.Options.Select(o => o.Code));
    }

    [Theory]
    [InlineData(0, new int[] { 0 })]
    [InlineData(255, new[] { 255 })]
    [InlineData(256, new[] { 255, 1 })]
    [InlineData(600, new[] { 255, 255, 90 })]
    [InlineData(765, new[] { 255, 255, 255 })]
    public void Writer_splits_long_values_into_consecutive_instances(int length, int[] instanceLengths)
    {
        var value = Enumerable.Range(0, length).Select(i => (byte)(i + 1)).ToArray();
        var packet = new DhcpPacket { MessageType = DhcpMessageType.Offer };
        packet.Options.Set(DhcpOptionCode.VendorSpecificInformation, value);

        var bytes = packet.ToArray();

        var position = 243;
        foreach (var instanceLength in instanceLengths)
        {
            Assert.Equal(43, bytes[position]);
            Assert.Equal(instanceLength, bytes[position + 1]);
            position += 2 + instanceLength;
        }

        Assert.Equal(255, bytes[position]);
        Assert.Equal(Math.Max(300, position + 1), bytes.Length);
        Assert.True(DhcpPacket.TryParse(bytes, out var parsed, out _));
        Assert.Equal(value, parsed.Options.VendorSpecificInformation!.Value.ToArray());
    }

    [Fact]
    public void Parsed_overloaded_packet_is_rewritten_without_overload_and_keeps_every_option()
    {
        var bytes = DhcpTestPackets.Raw(
            Concat(Option(53, new byte[] { 3 }), Option(52, new byte[] { 3 }), new byte[] { 255 }),
            file: Concat(Option(12, Ascii("from-file")), new byte[] { 255 }),
            sname: Concat(Option(15, Ascii("from.sname")), new byte[] { 255 }));
        Assert.True(DhcpPacket.TryParse(bytes, out var packet, out _));

        var rewritten = DhcpAssert.RoundTrip(packet);

        Assert.Equal(DhcpOverload.None, rewritten.Overload);
        Assert.Equal(DhcpAssert.Describe(packet.Options), DhcpAssert.Describe(rewritten.Options));
        Assert.Equal(string.Empty, rewritten.BootFileName);
        Assert.Equal(string.Empty, rewritten.ServerHostName);
    }
}
