using System.Text;
using Provisioner.Protocols.Tftp;

namespace Provisioner.Protocols.Tests.Tftp;

public class NetasciiTests
{
    private static byte[] Bytes(string s) => Encoding.Latin1.GetBytes(s);

    private static byte[] EncodeAll(byte[] source, int blockSize, out List<byte[]> blocks)
    {
        var encoder = new NetasciiEncoder();
        blocks = [];
        var rest = source.AsSpan();
        while (true)
        {
            var block = new byte[blockSize];
            encoder.Encode(rest, block, out var consumed, out var written);
            rest = rest[consumed..];
            blocks.Add(block[..written]);
            if (written < blockSize)
            {
                Assert.True(rest.IsEmpty);
                Assert.False(encoder.HasPending);
                break;
            }
        }

        return [.. blocks.SelectMany(b => b)];
    }

    private static byte[] DecodeBlocks(IEnumerable<byte[]> blocks)
    {
        var decoder = new NetasciiDecoder();
        var output = new List<byte>();
        foreach (var block in blocks)
        {
            var buffer = new byte[block.Length + 1];
            decoder.Decode(block, buffer, out var consumed, out var written);
            Assert.Equal(block.Length, consumed);
            output.AddRange(buffer[..written]);
        }

        var tail = new byte[1];
        output.AddRange(tail[..decoder.Flush(tail)]);
        return [.. output];
    }

    [Fact]
    public void Newline_becomes_cr_lf_and_bare_cr_becomes_cr_nul()
    {
        var encoded = EncodeAll(Bytes("a\nb\rc\r\n"), 64, out _);

        Assert.Equal(Bytes("a\r\nb\r\0c\r\0\r\n"), encoded);
        Assert.Equal(encoded.Length, NetasciiEncoder.GetEncodedLength(Bytes("a\nb\rc\r\n")));
    }

    [Fact]
    public void Cr_lf_decodes_to_newline_and_cr_nul_to_cr()
    {
        Assert.Equal(Bytes("a\nb\rc\r\n"), DecodeBlocks([Bytes("a\r\nb\r\0c\r\0\r\n")]));
    }

    [Theory]
    [InlineData("\n")]
    [InlineData("\r")]
    public void Escape_straddling_a_block_boundary_is_carried_to_the_next_block(string special)
    {
        // 3 plain bytes then the special: its CR is byte 4 of a 4-byte block, the second byte opens block 2.
        var source = Bytes("abc" + special + "de");

        var encoded = EncodeAll(source, 4, out var blocks);

        Assert.Equal((byte)'\r', blocks[0][^1]);
        Assert.Equal(special == "\n" ? (byte)'\n' : (byte)0, blocks[1][0]);
        Assert.Equal(source, DecodeBlocks(blocks));
        Assert.Equal(source, DecodeBlocks([encoded]));
    }

    [Fact]
    public void Encoder_with_a_pending_byte_and_an_empty_destination_does_nothing()
    {
        var encoder = new NetasciiEncoder();
        encoder.Encode(Bytes("\n"), new byte[1], out var consumed, out var written);
        Assert.Equal((1, 1, true), (consumed, written, encoder.HasPending));

        encoder.Encode(default, Span<byte>.Empty, out consumed, out written);
        Assert.Equal((0, 0, true), (consumed, written, encoder.HasPending));

        var next = new byte[4];
        encoder.Encode(default, next, out consumed, out written);
        Assert.Equal((0, 1, false), (consumed, written, encoder.HasPending));
        Assert.Equal((byte)'\n', next[0]);
    }

    [Fact]
    public void Encoded_stream_of_exactly_whole_blocks_ends_with_an_empty_block()
    {
        _ = EncodeAll(Bytes("abc\n"), 5, out var blocks); // "abc\r\n" fills one block exactly

        Assert.Equal([5, 0], blocks.Select(b => b.Length));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(7)]
    [InlineData(512)]
    [InlineData(1468)]
    public void Random_text_round_trips_through_blocks_of_any_size(int blockSize)
    {
        var random = new Random(764 + blockSize);
        byte[] alphabet = [(byte)'\r', (byte)'\n', (byte)'a', (byte)' ', 0, (byte)'\r', (byte)'\n', 0xFF];
        var source = Enumerable.Range(0, 5000).Select(_ => alphabet[random.Next(alphabet.Length)]).ToArray();

        _ = EncodeAll(source, blockSize, out var blocks);

        Assert.Equal(source, DecodeBlocks(blocks));
        Assert.Equal(blocks.Sum(b => b.Length), NetasciiEncoder.GetEncodedLength(source));
    }

    [Fact]
    public void Decoder_split_at_every_position_gives_the_same_text()
    {
        var encoded = Bytes("line one\r\nbare\r\0cr\r\n\r\n\r\0\r\0end");
        var expected = DecodeBlocks([encoded]);

        for (var split = 0; split <= encoded.Length; split++)
        {
            Assert.Equal(expected, DecodeBlocks([encoded[..split], encoded[split..]]));
        }
    }

    [Fact]
    public void Decoder_keeps_a_stray_cr_and_a_trailing_cr()
    {
        Assert.Equal(Bytes("a\rb"), DecodeBlocks([Bytes("a\rb")]));
        Assert.Equal(Bytes("a\r\r\n"), DecodeBlocks([Bytes("a\r\r\r\n")]));
        Assert.Equal(Bytes("end\r"), DecodeBlocks([Bytes("end\r")]));
    }

    [Fact]
    public void Decoder_into_a_short_destination_makes_progress_and_resumes()
    {
        var decoder = new NetasciiDecoder();
        var source = Bytes("ab\r\ncd\r\0e").AsSpan();
        var output = new List<byte>();
        var one = new byte[1];

        while (!source.IsEmpty)
        {
            decoder.Decode(source, one, out var consumed, out var written);
            Assert.True(consumed + written > 0);
            source = source[consumed..];
            output.AddRange(one[..written]);
        }

        output.AddRange(one[..decoder.Flush(one)]);
        Assert.Equal(Bytes("ab\ncd\re"), output.ToArray());
    }

    [Fact]
    public void Reset_forgets_pending_state()
    {
        var encoder = new NetasciiEncoder();
        var decoder = new NetasciiDecoder();
        encoder.Encode(Bytes("\n"), new byte[1], out _, out _);
        decoder.Decode(Bytes("\r"), new byte[2], out _, out _);

        encoder.Reset();
        decoder.Reset();

        Assert.False(encoder.HasPending);
        Assert.False(decoder.HasPendingCr);
    }
}
