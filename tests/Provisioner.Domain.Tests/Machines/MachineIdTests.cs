using Provisioner.Domain.Machines;

namespace Provisioner.Domain.Tests.Machines;

/// <summary>MachineId is the sharding entity id: every spelling of one MAC must land on one entity.</summary>
public sealed class MachineIdTests
{
    private const string Normal = "aa:bb:cc:dd:ee:ff";

    [Theory]
    [InlineData("aa:bb:cc:dd:ee:ff")]
    [InlineData("AA:BB:CC:DD:EE:FF")]
    [InlineData("Aa:bB:cC:Dd:eE:Ff")]
    [InlineData("aa-bb-cc-dd-ee-ff")]
    [InlineData("AA-BB-CC-DD-EE-FF")]
    [InlineData("aabb.ccdd.eeff")]
    [InlineData("AABB.CCDD.EEFF")]
    [InlineData("aabbccddeeff")]
    [InlineData("AABBCCDDEEFF")]
    [InlineData("  aa:bb:cc:dd:ee:ff  ")]
    [InlineData("\taabb.ccdd.eeff\r\n")]
    [InlineData(" AA-BB-CC-DD-EE-FF")]
    public void Every_accepted_spelling_normalises_to_lower_case_colon_form(string text)
    {
        Assert.True(MachineId.TryParse(text, out var id));
        Assert.Equal(Normal, id.Value);
        Assert.Equal(Normal, id.ToString());
        Assert.Equal(id, MachineId.Parse(text));
    }

    [Theory]
    [InlineData("aa:bb:cc:dd:ee")]
    [InlineData("aabbccddee")]
    [InlineData("aa:bb:cc:dd:ee:f")]
    [InlineData("a")]
    [InlineData("aa:bb:cc:dd:ee:ff:00")]
    [InlineData("aabbccddeeff00")]
    [InlineData("aabbccddeeff0")]
    [InlineData("gg:bb:cc:dd:ee:ff")]
    [InlineData("aa:bb:cc:dd:ee:fz")]
    [InlineData("0x:aa:bb:cc:dd:ee")]
    [InlineData("aa bb cc dd ee ff")]
    [InlineData("aa_bb_cc_dd_ee_ff")]
    [InlineData("aa:bb:cc:dd:ee:ff/24")]
    [InlineData("\uff41\uff41:bb:cc:dd:ee:ff")] // full-width 'a': a letter, not an ASCII hex digit
    [InlineData("\u0661\u0662:bb:cc:dd:ee:ff")] // Arabic-Indic digits
    [InlineData("::::::")]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData(null)]
    public void Invalid_text_is_rejected_without_an_exception_and_parse_throws_format_exception(string? text)
    {
        Assert.False(MachineId.TryParse(text, out var id));
        Assert.Equal(default, id);
        Assert.Throws<FormatException>(() => MachineId.Parse(text!));
    }

    [Fact]
    public void From_bytes_of_a_dhcp_chaddr_gives_the_normal_form()
    {
        var id = MachineId.FromBytes([0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF]);

        Assert.Equal(Normal, id.Value);
        Assert.Equal(MachineId.Parse("AABB.CCDD.EEFF"), id);
        Assert.Equal(MachineId.Parse("AABB.CCDD.EEFF").GetHashCode(), id.GetHashCode());
    }

    [Fact]
    public void From_bytes_keeps_leading_zeros_of_every_octet()
    {
        Assert.Equal("00:01:0a:7f:80:ff", MachineId.FromBytes([0x00, 0x01, 0x0A, 0x7F, 0x80, 0xFF]).Value);
    }

    [Fact]
    public void From_bytes_spells_every_octet_value_in_every_position_as_parse_does()
    {
        for (var position = 0; position < 6; position++)
        {
            for (var value = 0; value < 256; value++)
            {
                byte[] mac = [0x02, 0x10, 0x20, 0x30, 0x40, 0x50];
                mac[position] = (byte)value;
                var expected = string.Join(':', mac.Select(b => b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture)));

                Assert.Equal(expected, MachineId.FromBytes(mac).Value);
                Assert.Equal(MachineId.Parse(expected), MachineId.FromBytes(mac));
            }
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    [InlineData(7)]
    [InlineData(16)]
    public void From_bytes_rejects_anything_but_six_bytes(int length)
    {
        Assert.Throws<ArgumentException>(() => MachineId.FromBytes(new byte[length]));
    }

    [Fact]
    public void Different_macs_are_different_ids_and_the_default_id_prints_empty()
    {
        Assert.NotEqual(MachineId.Parse("aa:bb:cc:dd:ee:ff"), MachineId.Parse("aa:bb:cc:dd:ee:fe"));
        Assert.Equal(string.Empty, default(MachineId).ToString());
    }
}
