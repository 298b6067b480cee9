using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Provisioner.Protocols.Dhcp;

namespace Provisioner.Lab.Tests.Support;

/// <summary>
/// Any number of PXE BIOS machines at once, as a relay agent in a client namespace delivers them (RFC 2131 §4.1,
/// RFC 1542 §4): each request goes from RELAY:67 to SERVER:67 with giaddr = RELAY and hops = 1, and the server sends
/// every reply back to RELAY:67. One socket, one receive loop; a reply goes to the exchange waiting for its xid and
/// chaddr, anything else is dropped. Every exchange retransmits as firmware does (once a second, at most
/// <see cref="Tries"/> times), so every wait is bounded.
/// </summary>
public sealed class RelayedDhcpClient : IDisposable
{
    public const int Tries = 5;
    public const string PxeBiosClass = "PXEClient:Arch:00000:UNDI:002001";
    public static readonly TimeSpan Retransmit = TimeSpan.FromSeconds(1);

    private readonly Socket _socket;
    private readonly IPEndPoint _server;
    private readonly ConcurrentDictionary<uint, (byte[] Mac, TaskCompletionSource<DhcpPacket> Reply)> _waiting = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _receiving;

    public RelayedDhcpClient(string ns, IPAddress relay, IPAddress server)
    {
        ArgumentNullException.ThrowIfNull(relay);
        ArgumentNullException.ThrowIfNull(server);
        Relay = IPv4Address.TryFrom(relay, out var giaddr) ? giaddr : throw new ArgumentException($"{relay} is not IPv4", nameof(relay));
        _server = new IPEndPoint(server, 67);
        _socket = NetnsSocket.CreateUdp(ns, new IPEndPoint(relay, 67));
        _receiving = Task.Run(ReceiveAsync);
    }

    /// <summary>giaddr of every request: the relay's address in the client namespace.</summary>
    public IPv4Address Relay { get; }

    /// <summary>A locally administered MAC, distinct per (<paramref name="group"/>, <paramref name="index"/>).</summary>
    public static byte[] Mac(byte group, int index) => [0x02, 0xc7, group, (byte)(index >> 16), (byte)(index >> 8), (byte)index];

    public static string MacText(byte[] mac) => Convert.ToHexString(mac).ToLowerInvariant().Chunk(2).Select(c => new string(c)).Aggregate((a, b) => a + ":" + b);

    /// <summary>DHCPDISCOVER from PXE BIOS firmware (option 60 PXEClient, 93 = 0 x86 BIOS, 94 UNDI 2.1; RFC 4578).</summary>
    public DhcpPacket Discover(byte[] mac, uint xid)
    {
        var packet = Pxe(mac, xid);
        packet.MessageType = DhcpMessageType.Discover;
        return packet;
    }

    /// <summary>DHCPREQUEST in SELECTING state (RFC 2131 §4.3.2): option 54 names the server, option 50 the address.</summary>
    public DhcpPacket Request(byte[] mac, uint xid, IPv4Address server, IPv4Address address)
    {
        var packet = Pxe(mac, xid);
        packet.MessageType = DhcpMessageType.Request;
        packet.Options.ServerIdentifier = server;
        packet.Options.RequestedIPAddress = address;
        return packet;
    }

    /// <summary>The REQUEST that takes <paramref name="offer"/>: same xid and chaddr, its server id and yiaddr.</summary>
    public DhcpPacket RequestFor(DhcpPacket offer)
    {
        ArgumentNullException.ThrowIfNull(offer);
        var server = offer.Options.ServerIdentifier ?? throw new ArgumentException("an OFFER without option 54", nameof(offer));
        return Request(offer.ClientHardwareAddress.ToArray(), offer.TransactionId, server, offer.YourAddress);
    }

    /// <summary>
    /// Sends <paramref name="request"/> and retransmits it every second until a reply with its xid and chaddr comes
    /// back; null after <see cref="Tries"/> sends without one, or once <paramref name="ct"/> is cancelled. The xid must
    /// not be in use by another exchange.
    /// </summary>
    public async Task<DhcpPacket?> ExchangeAsync(DhcpPacket request, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var reply = new TaskCompletionSource<DhcpPacket>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_waiting.TryAdd(request.TransactionId, (request.ClientHardwareAddress.ToArray(), reply)))
        {
            throw new InvalidOperationException($"xid 0x{request.TransactionId:x8} is already waiting for a reply");
        }

        try
        {
            var bytes = request.ToArray();
            for (var i = 0; i < Tries && !ct.IsCancellationRequested; i++)
            {
                await _socket.SendToAsync(bytes, SocketFlags.None, _server, ct);
                try
                {
                    return await reply.Task.WaitAsync(Retransmit, ct);
                }
                catch (TimeoutException)
                {
                }
            }

            return null;
        }
        catch (OperationCanceledException)
        {
            return reply.Task.IsCompletedSuccessfully ? reply.Task.Result : null;
        }
        finally
        {
            _waiting.TryRemove(request.TransactionId, out _);
        }
    }

    private DhcpPacket Pxe(byte[] mac, uint xid)
    {
        var packet = new DhcpPacket { TransactionId = xid, Hops = 1, RelayAgentAddress = Relay };
        packet.SetClientHardwareAddress(mac);
        packet.Options.VendorClassIdentifier = PxeBiosClass;
        packet.Options.Set(DhcpOptionCode.ClientSystemArchitecture, [0, 0]);
        packet.Options.Set(DhcpOptionCode.ClientNetworkInterface, [1, 2, 1]);
        return packet;
    }

    private async Task ReceiveAsync()
    {
        var buffer = new byte[2048];
        while (!_stop.IsCancellationRequested)
        {
            int length;
            try
            {
                var received = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), _stop.Token);
                length = received.ReceivedBytes;
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException)
            {
                continue; // an ICMP error from a server that has just died; the exchanges retransmit or give up
            }

            if (DhcpPacket.TryParse(buffer.AsSpan(0, length), out var packet, out _)
                && packet.Op == DhcpOpCode.BootReply
                && _waiting.TryGetValue(packet.TransactionId, out var waiting)
                && packet.ClientHardwareAddress.SequenceEqual(waiting.Mac))
            {
                waiting.Reply.TrySetResult(packet);
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
}
