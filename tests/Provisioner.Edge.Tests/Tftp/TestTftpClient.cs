using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Provisioner.Protocols.Tftp;

namespace Provisioner.Edge.Tests.Tftp;

/// <summary>How the test client misbehaves (or not).</summary>
public sealed record TestClientBehaviour
{
    public TftpMode Mode { get; init; } = TftpMode.Octet;

    public TftpOptions? Options { get; init; }

    /// <summary>Do not send the ACK for this block index once (the server must retransmit).</summary>
    public long? DropAckOf { get; init; }

    /// <summary>Ignore the first arrival of these DATA block indices, as if the network lost them.</summary>
    public IReadOnlySet<long> LoseDataOf { get; init; } = new HashSet<long>();

    /// <summary>Send the ACK for these block indices twice.</summary>
    public IReadOnlySet<long> DuplicateAckOf { get; init; } = new HashSet<long>();

    /// <summary>Answer the OACK with ERROR 8, like EDK2's tsize probe.</summary>
    public bool AbortAfterOack { get; init; }

    /// <summary>Stop answering after this many DATA packets (the server must give up).</summary>
    public int? GoSilentAfterData { get; init; }

    /// <summary>Keep the bytes (false: only hash them, for huge files).</summary>
    public bool KeepData { get; init; } = true;

    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(2);

    public int Retries { get; init; } = 5;
}

/// <summary>What the test client saw.</summary>
public sealed record TestClientResult(
    byte[]? Data, string Sha256, long Length, TftpOptions? Oack, TftpError? Error, int DataPackets, IReadOnlyList<ushort> Blocks, IPEndPoint? ServerTid, int OackPackets)
{
    public bool Succeeded => Error is null;
}

/// <summary>
/// A small TFTP client built on the Protocols codec, for driving the server from tests: RRQ with options,
/// OACK handling, RFC 7440 windows (ACK at the end of each window, re-ACK the last in-order block on a gap
/// or duplicate), block rollover, and hooks to drop or duplicate ACKs and to abort after the OACK.
/// </summary>
public static class TestTftpClient
{
    public static async Task<TestClientResult> GetAsync(
        IPEndPoint server, string fileName, TestClientBehaviour? behaviour = null, Socket? useSocket = null, CancellationToken cancellationToken = default)
    {
        behaviour ??= new TestClientBehaviour();
        using var owned = useSocket is null ? new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) : null;
        owned?.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var socket = useSocket ?? owned!;
        var request = TftpRequest.Read(fileName, behaviour.Mode, behaviour.Options);
        var buffer = new byte[70000];
        var requestLength = request.GetWrittenLength();
        var requestBytes = new byte[requestLength];
        request.TryWrite(requestBytes, out _);
        await socket.SendToAsync(requestBytes, SocketFlags.None, server, cancellationToken);

        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var kept = behaviour.KeepData ? new MemoryStream() : null;
        var blocks = new List<ushort>();
        var blockSize = TftpOptions.DefaultBlockSize;
        var window = 1;
        TftpOptions? oack = null;
        IPEndPoint? tid = null;
        long expected = 1;
        var inWindow = 0;
        long length = 0;
        var dataPackets = 0;
        var oackPackets = 0;
        var dropped = false;
        var lost = new HashSet<long>();
        byte[]? lastAck = null;
        var retries = 0;
        EndPoint any = new IPEndPoint(IPAddress.Any, 0);

        async Task SendAckAsync(long index)
        {
            var ack = new byte[4];
            TftpWriter.TryWriteAck(ack, unchecked((ushort)index), out _);
            lastAck = ack;
            if (behaviour.DropAckOf == index && !dropped)
            {
                dropped = true;
                return;
            }

            await socket.SendToAsync(ack, SocketFlags.None, tid!, cancellationToken);
            if (behaviour.DuplicateAckOf.Contains(index))
            {
                await socket.SendToAsync(ack, SocketFlags.None, tid!, cancellationToken);
            }
        }

        TestClientResult Done(TftpError? error) => new(
            kept?.ToArray(), Convert.ToHexString(hash.GetCurrentHash()), length, oack, error, dataPackets, blocks, tid, oackPackets);

        while (true)
        {
            SocketReceiveFromResult received;
            using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                timeout.CancelAfter(behaviour.Timeout);
                try
                {
                    received = await socket.ReceiveFromAsync(buffer, SocketFlags.None, any, timeout.Token);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    if (++retries > behaviour.Retries)
                    {
                        return Done(new TftpError(TftpErrorCode.NotDefined, "client timed out"));
                    }

                    if (tid is null)
                    {
                        await socket.SendToAsync(requestBytes, SocketFlags.None, server, cancellationToken);
                    }
                    else if (lastAck is not null)
                    {
                        await socket.SendToAsync(lastAck, SocketFlags.None, tid, cancellationToken);
                    }

                    continue;
                }
            }

            retries = 0;
            var from = (IPEndPoint)received.RemoteEndPoint;
            tid ??= from;
            if (!from.Equals(tid))
            {
                continue; // another TID: a real client would send ERROR 5
            }

            if (!TftpPacket.TryParse(buffer.AsSpan(0, received.ReceivedBytes), out var packet, out _))
            {
                continue;
            }

            switch (packet.Opcode)
            {
                case TftpOpcode.Error:
                    return Done(packet.ToError());
                case TftpOpcode.OptionAcknowledgement when oack is not null && dataPackets == 0:
                    oackPackets++;
                    await SendAckAsync(0); // the server did not get our ACK 0 and sent its OACK again
                    break;
                case TftpOpcode.OptionAcknowledgement when dataPackets == 0:
                    oackPackets++;
                    oack = packet.GetOptions();
                    blockSize = oack.BlockSize ?? blockSize;
                    window = oack.WindowSize ?? window;
                    if (behaviour.AbortAfterOack)
                    {
                        var error = new byte[TftpWriter.GetErrorLength("User aborted the transfer")];
                        TftpWriter.TryWriteError(error, TftpErrorCode.OptionNegotiationRefused, "User aborted the transfer", out _);
                        await socket.SendToAsync(error, SocketFlags.None, tid, cancellationToken);
                        return Done(null);
                    }

                    await SendAckAsync(0);
                    break;
                case TftpOpcode.Data when packet.Block == unchecked((ushort)expected)
                                          && behaviour.LoseDataOf.Contains(expected) && lost.Add(expected):
                    break;
                case TftpOpcode.Data:
                    dataPackets++;
                    blocks.Add(packet.Block);
                    if (behaviour.GoSilentAfterData is { } silent && dataPackets >= silent)
                    {
                        // keep draining until the server gives up (its ERROR never comes; we time out)
                        if (dataPackets == silent)
                        {
                            await Task.Delay(behaviour.Timeout * (behaviour.Retries + 1), cancellationToken);
                            return Done(new TftpError(TftpErrorCode.NotDefined, "went silent"));
                        }

                        break;
                    }

                    if (packet.Block != unchecked((ushort)expected))
                    {
                        await SendAckAsync(expected - 1); // gap or duplicate: ack the last in-order block
                        inWindow = 0;
                        break;
                    }

                    var payload = packet.Payload;
                    hash.AppendData(payload);
                    kept?.Write(payload);
                    length += payload.Length;
                    var last = payload.Length < blockSize;
                    expected++;
                    inWindow++;
                    if (last || inWindow == window)
                    {
                        await SendAckAsync(expected - 1);
                        inWindow = 0;
                    }

                    if (last)
                    {
                        return Done(null);
                    }

                    break;
            }
        }
    }

    public static async Task<TftpError?> PutAsync(IPEndPoint server, string fileName)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var request = TftpRequest.Write(fileName, TftpMode.Octet);
        var bytes = new byte[request.GetWrittenLength()];
        request.TryWrite(bytes, out _);
        await socket.SendToAsync(bytes, SocketFlags.None, server);
        var buffer = new byte[2048];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        var received = await socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), timeout.Token);
        Assert.True(TftpPacket.TryParse(buffer.AsSpan(0, received.ReceivedBytes), out var packet, out _));
        return packet.ToError();
    }
}
