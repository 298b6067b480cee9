using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Provisioner.Protocols.Dhcp;

namespace Provisioner.Host.Simulate;

/// <summary>
/// The simulator's DHCP side, as a relay agent: one socket on the relay address (giaddr) and the server's port, from
/// which every machine's request goes to each DHCP server (as dhcrelay forwards to every server it is given) and on
/// which the servers' replies arrive (RFC 1542 §4: a server answers a relayed request to giaddr, port 67). The first
/// matching reply wins, as a client takes the first OFFER. One receive loop hands each reply to the exchange waiting
/// for its xid, chaddr and message type; anything else is counted and dropped. Every exchange retransmits on its
/// firmware's <see cref="RetransmitSchedule"/> and so ends.
/// </summary>
public sealed class RelayAgent : IDisposable
{
    private readonly Socket _socket;
    private readonly IReadOnlyList<IPEndPoint> _servers;
    private readonly ConcurrentDictionary<uint, Waiter> _waiting = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _receiving;
    private readonly PacketCounters _counters;

    public RelayAgent(IPEndPoint relay, IReadOnlyList<IPEndPoint> servers, PacketCounters counters)
    {
        ArgumentNullException.ThrowIfNull(counters);
        _counters = counters;
        ArgumentNullException.ThrowIfNull(relay);
        ArgumentNullException.ThrowIfNull(servers);
        ArgumentOutOfRangeException.ThrowIfZero(servers.Count);
        Relay = IPv4Address.TryFrom(relay.Address, out var giaddr) ? giaddr : throw new ArgumentException($"{relay} is not IPv4", nameof(relay));
        _servers = servers;
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            // A storm's replies arrive in bursts; the default buffer (~200 KB) would drop them before the loop reads.
            _socket.ReceiveBufferSize = 4 << 20;
            _socket.Bind(relay);
        }
        catch
        {
            _socket.Dispose();
            throw;
        }

        _receiving = Task.Run(ReceiveAsync);
    }

    /// <summary>giaddr of every request.</summary>
    public IPv4Address Relay { get; }

    /// <summary>
    /// Sends the request <paramref name="build"/> makes (given the seconds since <paramref name="started"/>, for the
    /// 'secs' field) and sends it again on <paramref name="schedule"/> until a reply of an <paramref name="expected"/>
    /// type with its xid and chaddr arrives; null once the schedule is spent. The xid must not be in use.
    /// </summary>
    public async Task<DhcpPacket?> ExchangeAsync(uint xid, byte[] mac, Func<ushort, DhcpPacket> build, DhcpMessageType[] expected, RetransmitSchedule schedule, Func<TimeSpan> started, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(build);
        ArgumentNullException.ThrowIfNull(schedule);
        ArgumentNullException.ThrowIfNull(started);
        var waiter = new Waiter(mac, expected);
        if (!_waiting.TryAdd(xid, waiter))
        {
            throw new InvalidOperationException($"xid 0x{xid:x8} is already waiting for a reply");
        }

        try
        {
            for (var send = 0; send < schedule.Sends; send++)
            {
                var seconds = (ushort)Math.Min(started().TotalSeconds, ushort.MaxValue);
                var packet = build(seconds).ToArray();
                foreach (var server in _servers)
                {
                    try
                    {
                        await _socket.SendToAsync(packet, SocketFlags.None, server, ct).ConfigureAwait(false);
                    }
                    catch (SocketException)
                    {
                        // A dead server's host may answer ICMP unreachable; the others still get the request.
                    }
                }

                _counters.DhcpSent(retransmission: send > 0);
                try
                {
                    return await waiter.Reply.Task.WaitAsync(schedule.Waits[send], ct).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                }
            }

            return null;
        }
        finally
        {
            _waiting.TryRemove(xid, out _);
        }
    }

    private async Task ReceiveAsync()
    {
        var buffer = new byte[4096];
        var any = new IPEndPoint(IPAddress.Any, 0);
        while (!_stop.IsCancellationRequested)
        {
            int length;
            try
            {
                var received = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, any, _stop.Token).ConfigureAwait(false);
                length = received.ReceivedBytes;
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException)
            {
                continue; // an ICMP error (port unreachable) for an earlier send: the exchange retransmits or gives up
            }

            if (DhcpPacket.TryParse(buffer.AsSpan(0, length), out var packet, out _)
                && _waiting.TryGetValue(packet.TransactionId, out var waiter)
                && FirmwarePackets.Answers(packet, packet.TransactionId, waiter.Mac, waiter.Expected))
            {
                waiter.Reply.TrySetResult(packet);
            }
            else
            {
                _counters.DhcpUnmatched();
            }
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _socket.Dispose();
        _ = _receiving.Wait(TimeSpan.FromSeconds(5));
        _stop.Dispose();
    }

    private sealed class Waiter(byte[] mac, DhcpMessageType[] expected)
    {
        public byte[] Mac { get; } = mac;

        public DhcpMessageType[] Expected { get; } = expected;

        public TaskCompletionSource<DhcpPacket> Reply { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
