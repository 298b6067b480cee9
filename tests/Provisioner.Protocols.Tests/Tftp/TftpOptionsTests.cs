using Provisioner.Protocols.Tftp;

namespace Provisioner.Protocols.Tests.Tftp;

/// <summary>Typed option accessors: an absent, malformed or out-of-range value is "not requested" (null).</summary>
public class TftpOptionsTests
{
    private static TftpOptions One(string name, string value) => new([new TftpOption(name, value)]);

    [Theory]
    [InlineData("8", 8)]
    [InlineData("512", 512)]
    [InlineData("1468", 1468)]
    [InlineData("65464", 65464)]
    [InlineData("01468", 1468)]
    [InlineData("7", null)]
    [InlineData("0", null)]
    [InlineData("65465", null)]
    [InlineData("99999999999999999999999", null)]
    [InlineData("", null)]
    [InlineData("+512", null)]
    [InlineData("-512", null)]
    [InlineData(" 512", null)]
    [InlineData("512 ", null)]
    [InlineData("0x200", null)]
    [InlineData("enable", null)]
    public void Blksize_is_valid_from_8_to_65464(string value, int? expected) =>
        Assert.Equal(expected, One("blksize", value).BlockSize);

    [Theory]
    [InlineData("0", 0L)]
    [InlineData("3000", 3000L)]
    [InlineData("9223372036854775807", long.MaxValue)]
    [InlineData("9223372036854775808", null)]
    [InlineData("enable", null)]
    [InlineData("-1", null)]
    public void Tsize_is_any_non_negative_64_bit_size(string value, long? expected) =>
        Assert.Equal(expected, One("tsize", value).TransferSize);

    [Theory]
    [InlineData("1", 1)]
    [InlineData("255", 255)]
    [InlineData("0", null)]
    [InlineData("256", null)]
    public void Timeout_is_valid_from_1_to_255_seconds(string value, int? expected) =>
        Assert.Equal(expected, One("timeout", value).TimeoutSeconds);

    [Theory]
    [InlineData("1", 1)]
    [InlineData("4", 4)]
    [InlineData("65535", 65535)]
    [InlineData("0", null)]
    [InlineData("65536", null)]
    public void Windowsize_is_valid_from_1_to_65535(string value, int? expected) =>
        Assert.Equal(expected, One("windowsize", value).WindowSize);

    [Theory]
    [InlineData("BLKSIZE")]
    [InlineData("BlkSize")]
    [InlineData("blksize")]
    public void Option_names_are_case_insensitive(string name)
    {
        var options = One(name, "1024");

        Assert.Equal(1024, options.BlockSize);
        Assert.True(options.Contains("blksize"));
        Assert.Empty(options.Unrecognised);
    }

    [Fact]
    public void First_occurrence_of_a_duplicate_wins_even_when_invalid()
    {
        var validFirst = new TftpOptions([new("blksize", "1024"), new("BLKSIZE", "2048")]);
        var invalidFirst = new TftpOptions([new("blksize", "4"), new("blksize", "2048")]);

        Assert.Equal(1024, validFirst.BlockSize);
        Assert.Null(invalidFirst.BlockSize);
        Assert.Equal(2, invalidFirst.Count);
    }

    [Fact]
    public void Invalid_value_is_not_requested_but_still_present_raw()
    {
        var options = One("timeout", "0");

        Assert.Null(options.TimeoutSeconds);
        Assert.True(options.Contains("timeout"));
        Assert.Equal("0", options.GetValue("TIMEOUT"));
    }

    [Fact]
    public void Unknown_options_are_kept_in_order_for_the_server_to_ignore()
    {
        var options = new TftpOptions([new("multicast", ""), new("blksize", "512"), new("x-arch", "7")]);

        Assert.Equal([new TftpOption("multicast", ""), new TftpOption("x-arch", "7")], options.Unrecognised);
        Assert.Equal(3, options.All.Count);
    }

    [Fact]
    public void Create_writes_the_four_options_in_a_fixed_order()
    {
        var options = TftpOptions.Create(windowSize: 4, timeoutSeconds: 2, transferSize: 10, blockSize: 1024);

        Assert.Equal(["blksize=1024", "tsize=10", "timeout=2", "windowsize=4"], options.All.Select(o => o.ToString()));
    }

    [Theory]
    [InlineData(7, null, null, null)]
    [InlineData(65465, null, null, null)]
    [InlineData(null, -1L, null, null)]
    [InlineData(null, null, 0, null)]
    [InlineData(null, null, 256, null)]
    [InlineData(null, null, null, 0)]
    [InlineData(null, null, null, 65536)]
    public void Create_refuses_values_outside_their_rfc_range(int? blockSize, long? transferSize, int? timeout, int? window) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => TftpOptions.Create(blockSize, transferSize, timeout, window));

    [Theory]
    [InlineData("", "1")]
    [InlineData("a\0b", "1")]
    [InlineData("blksize", "1\0")]
    [InlineData("snow☃", "1")]
    public void An_option_that_could_not_be_framed_is_refused(string name, string value) =>
        Assert.Throws<ArgumentException>(() => new TftpOption(name, value));

    [Fact]
    public void Options_with_the_same_pairs_are_equal()
    {
        Assert.Equal(TftpOptions.Create(blockSize: 512), One("blksize", "512"));
        Assert.NotEqual(One("blksize", "512"), One("BLKSIZE", "512"));
        Assert.Equal(One("tsize", "0").GetHashCode(), One("tsize", "0").GetHashCode());
    }
}
