using System.Diagnostics;
using Provisioner.Protocols.Tftp;

namespace Provisioner.Protocols.Tests.Tftp;

/// <summary>Network input must never make the codec throw: random datagrams and mutated golden packets.</summary>
public class TftpRandomInputTests
{
    private const int RandomInputs = 200_000;
    private const int MutatedInputs = 200_000;

    [Fact]
    public void Random_datagrams_never_throw_through_parse_and_every_accessor()
    {
        var random = new Random(1350);
        var buffer = new byte[1600];
        var stats = new Stats();
        var stopwatch = Stopwatch.StartNew();

        for (var i = 0; i < RandomInputs; i++)
        {
            var length = random.Next(0, buffer.Length + 1);
            var data = buffer.AsSpan(0, length);
            random.NextBytes(data);
            if (length >= 2 && random.Next(4) != 0)
            {
                data[0] = 0;
                data[1] = (byte)random.Next(0, 8); // mostly plausible opcodes so the deeper rules run
            }

            // Sprinkle NULs so requests and options get past their first field now and then.
            for (var n = random.Next(0, 8); n > 0 && length > 2; n--)
            {
                data[random.Next(2, length)] = 0;
            }

            Exercise(data, stats);
        }

        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(30), $"took {stopwatch.Elapsed}"); // a guard against quadratic parsing, not a speed target: ~3 s alone, 11 s seen on a loaded 2-core machine
        Assert.True(stats.Parsed > 10_000, $"only {stats.Parsed} parsed: the generator does not reach the deeper rules");
    }

    [Fact]
    public void Mutated_golden_packets_never_throw_through_parse_and_every_accessor()
    {
        var random = new Random(2347);
        var golden = TftpGolden.All.Select(g => g.Bytes)
            .Concat(TftpPcap.AllCaptures().SelectMany(TftpPcap.ReadUdp).Select(d => d.Payload).Where(p => p.Length < 200))
            .ToArray();
        var stats = new Stats();
        var stopwatch = Stopwatch.StartNew();

        for (var i = 0; i < MutatedInputs; i++)
        {
            var data = Mutate(random, golden[random.Next(golden.Length)]);
            Exercise(data, stats);
        }

        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(30), $"took {stopwatch.Elapsed}"); // a guard against quadratic parsing, not a speed target: ~3 s alone, 11 s seen on a loaded 2-core machine
        Assert.True(stats.Parsed > 20_000, $"only {stats.Parsed} parsed");
    }

    private static byte[] Mutate(Random random, byte[] original)
    {
        var data = new List<byte>(original);
        for (var edits = random.Next(1, 4); edits > 0; edits--)
        {
            var at = data.Count == 0 ? 0 : random.Next(data.Count);
            switch (random.Next(6))
            {
                case 0 when data.Count > 0: data[at] = (byte)random.Next(256); break;
                case 1 when data.Count > 0: data[at] = 0; break;
                case 2 when data.Count > 0: data.RemoveRange(at, random.Next(1, data.Count - at + 1)); break;
                case 3: data.Insert(at, (byte)random.Next(256)); break;
                case 4: data.AddRange(Enumerable.Repeat((byte)0, random.Next(1, 4))); break;
                case 5 when data.Count > 0: data[at] ^= (byte)(1 << random.Next(8)); break;
            }
        }

        return [.. data];
    }

    private static void Exercise(ReadOnlySpan<byte> data, Stats stats)
    {
        if (!TftpPacket.TryParse(data, out var packet, out var error))
        {
            Assert.NotEqual(TftpParseError.None, error);
            Assert.Equal(default, packet.Opcode);
            return;
        }

        stats.Parsed++;
        _ = packet.IsRequest;
        _ = packet.FileNameBytes.Length + packet.FileName.Length;
        _ = packet.ModeBytes.Length;
        _ = packet.Mode;
        foreach (var option in packet.Options)
        {
            _ = option.NameIs("blksize") || option.NameIs("TSIZE");
            _ = option.Value.Length;
        }

        _ = packet.Block;
        _ = packet.Payload.Length;
        _ = packet.ErrorCode;
        _ = packet.ErrorMessageBytes.Length + packet.ErrorMessage.Length;

        var options = packet.GetOptions();
        _ = (options.BlockSize, options.TransferSize, options.TimeoutSeconds, options.WindowSize, options.Unrecognised.Count());
        _ = options.Contains("windowsize") ? options.GetValue("windowsize") : null;

        // The canonical form parses again and is a fixed point.
        var canonical = new byte[packet.GetWrittenLength()];
        Assert.True(packet.TryWrite(canonical, out var written));
        Assert.True(TftpPacket.TryParse(canonical.AsSpan(0, written), out var again, out _));
        Assert.Equal(packet.Opcode, again.Opcode);
        var twice = new byte[written];
        Assert.True(again.TryWrite(twice, out var rewritten));
        Assert.Equal(canonical, twice[..rewritten]);

        // Owned records write the same bytes as the view.
        var owned = new byte[written];
        var ownedWritten = -1;
        switch (packet.Opcode)
        {
            case TftpOpcode.ReadRequest or TftpOpcode.WriteRequest:
                Assert.True(packet.ToRequest()!.TryWrite(owned, out ownedWritten));
                break;
            case TftpOpcode.OptionAcknowledgement:
                Assert.True(packet.ToOptionAcknowledgement()!.TryWrite(owned, out ownedWritten));
                break;
            case TftpOpcode.Error:
                Assert.True(packet.ToError()!.TryWrite(owned, out ownedWritten));
                break;
        }

        if (ownedWritten >= 0)
        {
            Assert.Equal(canonical, owned[..ownedWritten]);
        }

        if (packet.Opcode == TftpOpcode.Data)
        {
            var decoder = new NetasciiDecoder();
            var decoded = new byte[packet.Payload.Length + 1];
            decoder.Decode(packet.Payload, decoded, out var consumed, out _);
            Assert.Equal(packet.Payload.Length, consumed);
            decoder.Flush(decoded);
        }
    }

    private sealed class Stats
    {
        public int Parsed { get; set; }
    }
}
