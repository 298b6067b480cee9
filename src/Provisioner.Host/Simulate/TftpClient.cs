using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Provisioner.Host.Simulate;

/// <summary>
/// The socket around <see cref="TftpDownload"/>: one socket per transfer (its port is the client's TID), the RRQ to
/// port 69, then every datagram from the server's transfer port into the download, and the last packet sent again on
/// <see cref="FirmwareTimers.Tftp"/> while nothing new arrives.
/// </summary>
public static class TftpClient
{
    public const int Port = 69;

    /// <summary>The NBP's size in bytes; throws <see cref="SimulationFailedException"/> when the download fails.</summary>
    public static async Task<long> DownloadAsync(IPAddress server, string file, IPAddress? source, SourceAddresses sources, PacketCounters counters, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(sources);
        ArgumentNullException.ThrowIfNull(counters);
        var download = new TftpDownload(file);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        sources.Bind(socket, source);
        var serverPort = new IPEndPoint(server, Port);
        IPEndPoint? peer = null;
        var buffer = new byte[TftpDownload.RequestedBlockSize + 64];
        var schedule = FirmwareTimers.Tftp.Waits;
        var attempt = 0;
        await socket.SendToAsync(download.Request, SocketFlags.None, serverPort, ct).ConfigureAwait(false);
        while (true)
        {
            SocketReceiveFromResult received;
            using (var wait = CancellationTokenSource.CreateLinkedTokenSource(ct))
            {
                wait.CancelAfter(schedule[attempt]);
                try
                {
                    received = await socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), wait.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    if (++attempt == schedule.Count)
                    {
                        throw new SimulationFailedException(peer is null
                            ? string.Create(CultureInfo.InvariantCulture, $"no answer to the RRQ of {file} after {schedule.Count} sends ({FirmwareTimers.Tftp.GiveUpAfter.TotalSeconds:0.##} s)")
                            : string.Create(CultureInfo.InvariantCulture, $"transfer stalled: no new block after {schedule.Count} sends of the last ACK ({FirmwareTimers.Tftp.GiveUpAfter.TotalSeconds:0.##} s)"));
                    }

                    await socket.SendToAsync(download.LastSent, SocketFlags.None, peer ?? serverPort, ct).ConfigureAwait(false);
                    counters.TftpRetransmitted();
                    continue;
                }
                catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
                {
                    throw new SimulationFailedException($"ICMP port unreachable from the TFTP server {server}:{Port}");
                }
            }

            var from = (IPEndPoint)received.RemoteEndPoint;
            if (!from.Address.Equals(server) || (peer is not null && !from.Equals(peer)))
            {
                continue; // not this transfer's server TID (RFC 1350 §4: a stray packet must not end the transfer)
            }

            var step = download.Receive(buffer.AsSpan(0, received.ReceivedBytes));
            if (step.Kind == TftpStepKind.Ignore)
            {
                continue;
            }

            peer ??= from;
            if (step.Progress)
            {
                attempt = 0;
            }

            if (step.Packet is { } packet)
            {
                await socket.SendToAsync(packet, SocketFlags.None, peer, ct).ConfigureAwait(false);
            }

            switch (step.Kind)
            {
                case TftpStepKind.Done:
                    return download.Received;
                case TftpStepKind.Failed:
                    throw new SimulationFailedException(step.Reason ?? "TFTP transfer failed");
            }
        }
    }
}
