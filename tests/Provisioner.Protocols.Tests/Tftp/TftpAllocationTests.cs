using Provisioner.Protocols.Tftp;

namespace Provisioner.Protocols.Tests.Tftp;

/// <summary>The per-block path (parse ACK/DATA, write DATA/ACK, netascii) allocates nothing: measured.</summary>
public class TftpAllocationTests
{
    [Fact]
    public void Hot_path_parse_and_write_allocate_nothing()
    {
        var datagram = new byte[TftpPacket.MaxDataPacketLength];
        var payload = new byte[1468];
        var ack = new byte[4];
        var encoder = new NetasciiEncoder();
        var decoder = new NetasciiDecoder();
        var text = "some text\nwith\rline ends\n"u8.ToArray();
        var scratch = new byte[64];

        Run(1); // JIT and tiering out of the measurement
        var before = GC.GetAllocatedBytesForCurrentThread();
        var checksum = Run(10_000);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
        Assert.NotEqual(0, checksum);

        long Run(int iterations)
        {
            long sum = 0;
            for (var i = 0; i < iterations; i++)
            {
                var block = (ushort)i;
                TftpWriter.TryWriteData(datagram, block, payload, out var written);
                if (TftpPacket.TryParse(datagram.AsSpan(0, written), out var data, out _))
                {
                    sum += data.Block + data.Payload.Length;
                }

                TftpWriter.TryWriteAck(ack, block, out _);
                if (TftpPacket.TryParse(ack, out var parsedAck, out _))
                {
                    sum += parsedAck.Block + 1;
                }

                TftpWriter.TryWriteError(scratch, TftpErrorCode.UnknownTransferId, "Unknown transfer ID", out var errorLength);
                sum += errorLength;

                encoder.Encode(text, scratch, out _, out var encoded);
                decoder.Decode(scratch.AsSpan(0, encoded), datagram, out _, out var decoded);
                sum += decoded;
            }

            return sum;
        }
    }
}
