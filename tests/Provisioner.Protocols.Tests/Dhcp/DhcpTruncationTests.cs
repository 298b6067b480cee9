using Provisioner.Protocols.Dhcp;

namespace Provisioner.Protocols.Tests.Dhcp;

/// <summary>
/// The truncation rule, stated once: a prefix shorter than the 240-byte header is rejected; a prefix that
/// ends inside an option of the options field (after its code byte, before the end of its value) is
/// rejected; a prefix that ends on an option boundary, inside padding, or anywhere after End parses,
/// because End is not required and the options it holds are exactly the complete ones before the cut.
/// </summary>
public sealed class DhcpTruncationTests
{
    public static TheoryData<string> Cases() => DhcpTestPackets.StructuralCases();

    [Fact]
    public void Structural_cases_include_every_capture()
    {
        var names = DhcpTestPackets.Structural.Keys.ToList();

        foreach (var file in DhcpTestPackets.DhcpCaptureFiles)
        {
            Assert.Contains(names, n => n.StartsWith(Path.GetFileNameWithoutExtension(file) + "#", StringComparison.Ordinal));
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Every_prefix_shorter_than_the_header_is_rejected(string name)
    {
        var packet = DhcpTestPackets.Structural[name];

        for (var length = 0; length < DhcpPacket.HeaderLength; length++)
        {
            Assert.False(DhcpPacket.TryParse(packet.AsSpan(0, length), out var parsed, out var error), $"{name}[..{length}]");
            Assert.Null(parsed);
            Assert.Equal(DhcpParseError.TooShort, error);
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Every_prefix_cutting_inside_an_option_is_rejected(string name)
    {
        var packet = DhcpTestPackets.Structural[name];
        var cuts = 0;

        foreach (var (start, end) in OptionSpans(packet))
        {
            for (var length = start + 1; length < end; length++)
            {
                Assert.False(DhcpPacket.TryParse(packet.AsSpan(0, length), out _, out var error), $"{name}[..{length}]");
                Assert.Equal(DhcpParseError.OptionTruncated, error);
                cuts++;
            }
        }

        Assert.True(cuts > 0);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Every_prefix_ending_between_options_parses_the_options_before_the_cut(string name)
    {
        var packet = DhcpTestPackets.Structural[name];
        var spans = OptionSpans(packet);
        Assert.True(DhcpPacket.TryParse(packet, out var full, out _));

        for (var length = DhcpPacket.HeaderLength; length <= packet.Length; length++)
        {
            if (spans.Any(s => s.Start < length && length < s.End))
            {
                continue;
            }

            Assert.True(DhcpPacket.TryParse(packet.AsSpan(0, length), out var parsed, out var error), $"{name}[..{length}]: {error}");
            var complete = spans.Where(s => s.End <= length).ToList();
            var expected = Concatenated(packet, complete, full.Overload);
            Assert.Equal(expected, DhcpAssert.Describe(parsed.Options));
        }
    }

    [Fact]
    public void Option_with_its_length_byte_missing_is_rejected()
    {
        var bytes = DhcpTestPackets.Raw(new byte[] { 53, 1, 1, 12 });

        Assert.False(DhcpPacket.TryParse(bytes, out _, out var error));
        Assert.Equal(DhcpParseError.OptionTruncated, error);
    }

    [Fact]
    public void Option_whose_length_runs_past_the_end_is_rejected_even_after_a_valid_one()
    {
        var bytes = DhcpTestPackets.Raw(new byte[] { 53, 1, 1, 12, 5, (byte)'a', (byte)'b' });

        Assert.False(DhcpPacket.TryParse(bytes, out _, out var error));
        Assert.Equal(DhcpParseError.OptionTruncated, error);
    }

    [Fact]
    public void Bytes_after_end_are_ignored_even_if_they_look_like_a_truncated_option()
    {
        var bytes = DhcpTestPackets.Raw(new byte[] { 53, 1, 1, 255, 12, 200 });

        Assert.True(DhcpPacket.TryParse(bytes, out var parsed, out _));
        Assert.Single(parsed.Options);
    }

    [Fact]
    public void Bad_magic_cookie_is_rejected()
    {
        var bytes = DhcpTestPackets.Raw(new byte[] { 53, 1, 1, 255 });
        bytes[239] = 0x64;

        Assert.False(DhcpPacket.TryParse(bytes, out _, out var error));
        Assert.Equal(DhcpParseError.BadMagicCookie, error);
    }

    [Theory]
    [InlineData(17)]
    [InlineData(255)]
    public void Hardware_address_longer_than_chaddr_is_rejected(byte hlen)
    {
        var bytes = DhcpTestPackets.Raw(new byte[] { 53, 1, 1, 255 });
        bytes[2] = hlen;

        Assert.False(DhcpPacket.TryParse(bytes, out _, out var error));
        Assert.Equal(DhcpParseError.BadHardwareAddressLength, error);
    }

    [Fact]
    public void Hardware_address_of_16_bytes_is_accepted()
    {
        var bytes = DhcpTestPackets.Raw(new byte[] { 255 });
        bytes[2] = 16;

        Assert.True(DhcpPacket.TryParse(bytes, out var parsed, out _));
        Assert.Equal(16, parsed.ClientHardwareAddress.Length);
    }

    /// <summary>
    /// Test oracle, independent of the codec: [start, end) of every option (code byte to end of value) in
    /// the options field up to End. Pads are not options; bytes after End do not count.
    /// </summary>
    internal static List<(int Start, int End)> OptionSpans(byte[] packet)
    {
        var spans = new List<(int, int)>();
        var i = DhcpPacket.HeaderLength;
        while (i < packet.Length && packet[i] != 255)
        {
            if (packet[i] == 0)
            {
                i++;
                continue;
            }

            var end = i + 2 + packet[i + 1];
            Assert.True(end <= packet.Length, "test packets must be valid");
            spans.Add((i, end));
            i = end;
        }

        return spans;
    }

    /// <summary>What the codec should report for the complete options: instances concatenated per code, first-seen order.</summary>
    private static string Concatenated(byte[] packet, List<(int Start, int End)> spans, DhcpOverload overload)
    {
        var values = new List<(byte Code, List<byte> Bytes)>();
        void Add(byte code, ReadOnlySpan<byte> value)
        {
            if (code == 52)
            {
                return;
            }

            var existing = values.FindIndex(v => v.Code == code);
            if (existing < 0)
            {
                values.Add((code, new List<byte>()));
                existing = values.Count - 1;
            }

            values[existing].Bytes.AddRange(value);
        }

        foreach (var (start, end) in spans)
        {
            Add(packet[start], packet.AsSpan(start + 2, end - start - 2));
        }

        // Overloaded fields (only in the hand-built cases) sit in the fixed part, present in every prefix
        // that reaches the options, but they count only once option 52 itself is complete.
        var sawOverload = spans.Any(s => packet[s.Start] == 52);
        if (sawOverload && overload != DhcpOverload.None)
        {
            foreach (var (fieldStart, fieldEnd, flag) in new[] { (108, 236, DhcpOverload.File), (44, 108, DhcpOverload.ServerName) })
            {
                if ((overload & flag) == 0)
                {
                    continue;
                }

                var i = fieldStart;
                while (i < fieldEnd && packet[i] != 255)
                {
                    if (packet[i] == 0)
                    {
                        i++;
                        continue;
                    }

                    Add(packet[i], packet.AsSpan(i + 2, packet[i + 1]));
                    i += 2 + packet[i + 1];
                }
            }
        }

        return string.Join("\n", values.Select(v => $"{v.Code}={Convert.ToHexString(v.Bytes.ToArray())}"));
    }
}
