using System.Globalization;
using Provisioner.Protocols.Tftp;

namespace Provisioner.Host.Simulate;

/// <summary>What a TFTP client does with a datagram: send a packet (an ACK), finish, fail, or ignore it.</summary>
public enum TftpStepKind
{
    Ignore,
    Send,
    Done,
    Failed,
}

/// <param name="Progress">A new block (or the OACK) arrived: the retransmission timer starts over.</param>
public readonly record struct TftpStep(TftpStepKind Kind, byte[]? Packet = null, string? Reason = null, bool Progress = false);

/// <summary>
/// A firmware's TFTP read of its NBP, without a socket (RFC 1350 lock-step with RFC 2347 options): the RRQ asks for
/// blksize 1432 and tsize as iPXE does, an OACK is answered with ACK 0, each DATA in order with its ACK, a repeated
/// DATA with its ACK again (the server missed it), and the short block ends the file. The transfer's peer (the
/// server's TID port) is the shell's concern: it feeds only datagrams from that peer after the first answer.
/// </summary>
public sealed class TftpDownload
{
    /// <summary>iPXE's TFTP_MAX_BLKSIZE: what fits an Ethernet frame with IP, UDP and TFTP headers.</summary>
    public const int RequestedBlockSize = 1432;

    private ushort _lastBlock;
    private bool _answered;

    public TftpDownload(string file)
    {
        File = file;
        var request = TftpRequest.Read(file, TftpMode.Octet, TftpOptions.Create(blockSize: RequestedBlockSize, transferSize: 0));
        var bytes = new byte[request.GetWrittenLength()];
        if (!request.TryWrite(bytes, out _))
        {
            throw new InvalidOperationException("an RRQ did not fit its own length");
        }

        Request = bytes;
        LastSent = bytes;
    }

    public string File { get; }

    /// <summary>The RRQ.</summary>
    public byte[] Request { get; }

    /// <summary>What a retransmission sends: the RRQ until the server answers, then the last ACK.</summary>
    public byte[] LastSent { get; private set; }

    /// <summary>The block size in force: 512 until an OACK says otherwise.</summary>
    public int BlockSize { get; private set; } = TftpOptions.DefaultBlockSize;

    /// <summary>The size the server announced in its OACK, if it did.</summary>
    public long? TransferSize { get; private set; }

    public long Received { get; private set; }

    public bool Finished { get; private set; }

    public TftpStep Receive(ReadOnlySpan<byte> datagram)
    {
        if (Finished || !TftpPacket.TryParse(datagram, out var packet, out _))
        {
            return new TftpStep(TftpStepKind.Ignore);
        }

        switch (packet.Opcode)
        {
            case TftpOpcode.Error:
                Finished = true;
                return Fail(string.Create(CultureInfo.InvariantCulture, $"TFTP ERROR {(int)packet.ErrorCode} ({packet.ErrorCode}): {packet.ErrorMessage}"));

            case TftpOpcode.OptionAcknowledgement when Received == 0 && _lastBlock == 0:
            {
                var options = packet.GetOptions();
                if (options.BlockSize is { } size)
                {
                    if (size > RequestedBlockSize)
                    {
                        Finished = true;
                        return Fail(string.Create(CultureInfo.InvariantCulture, $"OACK blksize {size} above the {RequestedBlockSize} asked for"));
                    }

                    BlockSize = size;
                }

                TransferSize = options.TransferSize;
                var progress = !_answered;
                _answered = true;
                return Send(Ack(0), progress);
            }

            case TftpOpcode.Data:
            {
                var block = packet.Block;
                if (block == unchecked((ushort)(_lastBlock + 1)))
                {
                    if (packet.Payload.Length > BlockSize)
                    {
                        Finished = true;
                        return Fail(string.Create(CultureInfo.InvariantCulture, $"DATA of {packet.Payload.Length} bytes, above the block size {BlockSize}"));
                    }

                    _answered = true;
                    _lastBlock = block;
                    Received += packet.Payload.Length;
                    var ack = Ack(block);
                    if (packet.Payload.Length < BlockSize)
                    {
                        Finished = true;
                        LastSent = ack;
                        return TransferSize is { } size && size != Received
                            ? new TftpStep(TftpStepKind.Failed, ack, string.Create(CultureInfo.InvariantCulture, $"got {Received} bytes, the OACK's tsize said {size}"), true)
                            : new TftpStep(TftpStepKind.Done, ack, null, true);
                    }

                    return Send(ack, progress: true);
                }

                // The server did not see our ACK of this block and sent it again: ACK it again (never ACK 0 for DATA).
                return _answered && block == _lastBlock && block != 0 ? Send(Ack(block), progress: false) : new TftpStep(TftpStepKind.Ignore);
            }

            default:
                return new TftpStep(TftpStepKind.Ignore);
        }
    }

    private TftpStep Send(byte[] packet, bool progress)
    {
        LastSent = packet;
        return new TftpStep(TftpStepKind.Send, packet, null, progress);
    }

    private static TftpStep Fail(string reason) => new(TftpStepKind.Failed, null, reason);

    private static byte[] Ack(ushort block)
    {
        var ack = new byte[TftpPacket.HeaderLength];
        TftpWriter.TryWriteAck(ack, block, out _);
        return ack;
    }
}
