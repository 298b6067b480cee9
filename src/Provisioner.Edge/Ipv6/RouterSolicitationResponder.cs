using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Provisioner.Edge.Ipv6;

/// <summary>
/// Answers IPv6 Router Solicitations on the edge interface with a Router Advertisement that says "no router, no
/// prefixes, no DHCPv6" (RFC 4861 §4.2: router lifetime 0, M = O = 0). iPXE configures IPv6 in parallel with DHCPv4
/// and otherwise waits ~13 s for an advertisement on every boot; with this answer it carries on at once. An RA with
/// lifetime 0 and no prefix never makes a host use us as a router or give itself an address, so it is harmless on
/// a segment that has a real IPv6 router — but it is still off unless <c>edge.ipv6.answer-router-solicitations</c>.
/// </summary>
public sealed partial class RouterSolicitationResponder(string interfaceName, ILogger<RouterSolicitationResponder> logger) : IAsyncDisposable
{
    private const byte RouterSolicitation = 133;
    private const byte RouterAdvertisement = 134;
    private static readonly IPAddress AllNodes = IPAddress.Parse("ff02::1");
    private static readonly IPAddress AllRouters = IPAddress.Parse("ff02::2");

    private readonly CancellationTokenSource _stop = new();
    private int _disposed;
    private Socket? _socket;
    private Task? _loop;

    public long Answered { get; private set; }

    public void Start()
    {
        var nic = NetworkInterface.GetAllNetworkInterfaces().FirstOrDefault(n => n.Name == interfaceName)
            ?? throw new InvalidOperationException($"ipv6: interface '{interfaceName}' not found");
        var index = nic.GetIPProperties().GetIPv6Properties().Index;
        var mac = nic.GetPhysicalAddress().GetAddressBytes();

        var socket = new Socket(AddressFamily.InterNetworkV6, SocketType.Raw, ProtocolType.IcmpV6);
        // SOL_SOCKET = 1, SO_BINDTODEVICE = 25: only this interface, never another.
        socket.SetRawSocketOption(1, 25, System.Text.Encoding.ASCII.GetBytes(interfaceName + "\0"));
        // RFC 4861 §6.1.2: hosts drop an RA whose hop limit is not 255.
        socket.SetSocketOption(SocketOptionLevel.IPv6, SocketOptionName.MulticastTimeToLive, 255);
        socket.SetSocketOption(SocketOptionLevel.IPv6, SocketOptionName.IpTimeToLive, 255);
        socket.SetSocketOption(SocketOptionLevel.IPv6, SocketOptionName.MulticastInterface, index);
        socket.SetSocketOption(SocketOptionLevel.IPv6, SocketOptionName.AddMembership, new IPv6MulticastOption(AllRouters, index));
        socket.Bind(new IPEndPoint(IPAddress.IPv6Any, 0));
        _socket = socket;

        var advertisement = Build(mac);
        var destination = new IPEndPoint(new IPAddress(AllNodes.GetAddressBytes(), index), 0);
        _loop = Task.Run(() => LoopAsync(socket, advertisement, destination, _stop.Token));
        LogStarted(logger, interfaceName);
    }

    /// <summary>
    /// <code>
    ///  0                   1                   2                   3
    /// | Type = 134    | Code = 0      | Checksum (kernel fills it)    |
    /// | Cur Hop Limit |M|O| reserved  | Router Lifetime = 0           |
    /// | Reachable Time = 0                                            |
    /// | Retrans Timer = 0                                             |
    /// | Option 1: source link-layer address (type 1, length 1 = 8 bytes) |
    /// </code>
    /// </summary>
    internal static byte[] Build(byte[] mac)
    {
        var packet = new byte[16 + (mac.Length == 6 ? 8 : 0)];
        packet[0] = RouterAdvertisement;
        packet[4] = 64;
        if (mac.Length == 6)
        {
            packet[16] = 1;
            packet[17] = 1;
            mac.CopyTo(packet, 18);
        }

        return packet;
    }

    private async Task LoopAsync(Socket socket, byte[] advertisement, IPEndPoint destination, CancellationToken cancellationToken)
    {
        var buffer = new byte[1500];
        EndPoint any = new IPEndPoint(IPAddress.IPv6Any, 0);
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                var received = await socket.ReceiveFromAsync(buffer, SocketFlags.None, any, cancellationToken).ConfigureAwait(false);
                if (received.ReceivedBytes < 8 || buffer[0] != RouterSolicitation || buffer[1] != 0)
                {
                    continue;
                }

                await socket.SendToAsync(advertisement, SocketFlags.None, destination, cancellationToken).ConfigureAwait(false);
                Answered++;
                LogAnswered(logger, received.RemoteEndPoint);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (SocketException e)
            {
                LogSocketError(logger, e);
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Stops answering; safe to call more than once (the host stops it, then its container disposes it).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        _socket?.Dispose();
        if (_loop is not null)
        {
            try
            {
                await _loop.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        _stop.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "ipv6: answering router solicitations on {Interface} (no router, no prefix)")]
    private static partial void LogStarted(ILogger logger, string @interface);

    [LoggerMessage(Level = LogLevel.Debug, Message = "ipv6: router solicitation from {Source} answered")]
    private static partial void LogAnswered(ILogger logger, EndPoint source);

    [LoggerMessage(Level = LogLevel.Warning, Message = "ipv6: router advertisement socket error")]
    private static partial void LogSocketError(ILogger logger, Exception e);
}
