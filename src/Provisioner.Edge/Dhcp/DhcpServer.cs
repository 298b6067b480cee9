using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using Provisioner.Protocols.Dhcp;

namespace Provisioner.Edge.Dhcp;

/// <summary>What the DHCP socket saw; public so operators, tests and benchmarks can read them.</summary>
public sealed class DhcpServerCounters
{
    private long _received;
    private long _malformed;
    private long _rateLimited;
    private long _replied;
    private long _silent;
    private long _failed;
    private Func<(long Full, long Stale)> _shed = () => (0, 0);
    private Func<long> _replayed = () => 0;
    private Func<long> _proxyNewRefused = () => 0;

    public long Received => Interlocked.Read(ref _received);

    /// <summary>Datagrams that did not parse as DHCP/BOOTP (RFC 2131 §2), dropped.</summary>
    public long Malformed => Interlocked.Read(ref _malformed);

    /// <summary>Packets dropped by the per-MAC rate limit.</summary>
    public long RateLimited => Interlocked.Read(ref _rateLimited);

    public long Replied => Interlocked.Read(ref _replied);

    /// <summary>Handled without a reply (another server's REQUEST, RELEASE, DECLINE, silence by policy).</summary>
    public long Silent => Interlocked.Read(ref _silent);

    /// <summary>Handling threw (a gateway timed out, a send failed); the client retransmits.</summary>
    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>Shed because the waiting queue was full (the oldest DISCOVER, or a new follow-up).</summary>
    public long ShedFull => _shed().Full;

    /// <summary>Shed unanswered because they waited longer than the firmware waits (<c>max-discover-wait</c>, <c>max-request-wait</c>).</summary>
    public long ShedStale => _shed().Stale;

    internal void CountReceived() => Interlocked.Increment(ref _received);

    internal void CountMalformed() => Interlocked.Increment(ref _malformed);

    internal void CountRateLimited() => Interlocked.Increment(ref _rateLimited);

    internal void CountReplied() => Interlocked.Increment(ref _replied);

    internal void CountSilent() => Interlocked.Increment(ref _silent);

    internal void CountFailed() => Interlocked.Increment(ref _failed);

    /// <summary>Retransmissions answered with the reply already sent for their exchange (no actor asked, nothing recorded again).</summary>
    public long Replayed => _replayed();

    internal void ReadShedFrom<T>(DhcpBacklog<T> backlog) => _shed = () => (backlog.ShedFull, backlog.ShedStale);

    /// <summary>proxyDHCP: DISCOVERs of never-journaled machines dropped over <c>dhcp.proxy-new-machines-per-second</c>.</summary>
    public long ProxyNewRefused => _proxyNewRefused();

    internal void ReadReplayedFrom(DhcpHandler handler)
    {
        _replayed = () => handler.RepliesReplayed;
        _proxyNewRefused = () => handler.ProxyNewMachinesRefused;
    }
}

/// <summary>
/// The DHCP socket: UDP on <c>0.0.0.0:port</c> bound to the configured interface (SO_BINDTODEVICE), SO_BROADCAST and
/// SO_REUSEADDR. A receive loop that never waits for handlers parses, rate-limits per MAC, stamps and queues each
/// packet (<see cref="DhcpBacklog{T}"/>: follow-ups first, DISCOVERs newest first, stale ones shed); a dispatcher
/// hands them to <see cref="DhcpHandler"/> with bounded concurrency and sends each reply where the plan says. Past
/// capacity the node answers at its capacity and sheds the rest before doing any work on them. Nothing a peer sends
/// can stop either loop.
/// </summary>
/// <remarks>
/// In proxyDHCP mode (<see cref="DhcpMode.Proxy"/>) a second socket on the PXE boot-server port (4011) is bound the
/// same way, on the same address and interface; its requests share the backlog and handlers, and its replies leave
/// from it.
/// Safety: without an interface name the server refuses to bind the wildcard address; an explicit bind address
/// (tests use loopback) is the only other way to start it. The edge never answers on a segment it was not told to.
/// </remarks>
public sealed partial class DhcpServer : IAsyncDisposable
{
    private const int SolSocket = 1;
    private const int SoBindToDevice = 25;
    private const int ReceiveBufferSize = 1 << 16;
    private const int SocketReceiveBuffer = 4 << 20;

    private readonly DhcpServerOptions _options;
    private readonly DhcpHandler _handler;
    private readonly ILogger<DhcpServer> _logger;
    private readonly IPAddress _bindAddress;
    private readonly MacRateLimiter _rateLimiter;
    private readonly SemaphoreSlim _concurrency;
    private readonly DhcpBacklog<(DhcpPacket Packet, IPEndPoint Source, bool BootServer)> _queue;
    private readonly TimeProvider _clock;
    private readonly LogSummary<ServerWarning> _warnings;
    private readonly CancellationTokenSource _stop = new();
    private Socket? _socket;
    private Socket? _bootServerSocket;
    private Task _loop = Task.CompletedTask;
    private Task _bootServerLoop = Task.CompletedTask;
    private Task _dispatch = Task.CompletedTask;

    public DhcpServer(DhcpServerOptions options, DhcpHandler handler, ILogger<DhcpServer> logger, TimeProvider? clock = null, IPAddress? bindAddress = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(handler);
        ArgumentNullException.ThrowIfNull(logger);
        _options = options;
        _handler = handler;
        _logger = logger;
        _clock = clock ?? TimeProvider.System;
        _bindAddress = bindAddress ?? IPAddress.Any;
        _rateLimiter = new MacRateLimiter(options.PerMacRate, _clock);
        _warnings = new LogSummary<ServerWarning>(TimeSpan.FromSeconds(10), _clock);
        _concurrency = new SemaphoreSlim(options.MaxInFlight);
        _queue = new DhcpBacklog<(DhcpPacket, IPEndPoint, bool)>(options.QueueCapacity, options.MaxDiscoverWait, options.MaxRequestWait, _clock);
        Counters.ReadShedFrom(_queue);
        Counters.ReadReplayedFrom(handler);
    }

    public DhcpServerCounters Counters { get; } = new();

    /// <summary>Requests waiting for a handler now.</summary>
    public int Backlog => _queue.Count;

    /// <summary>Where the socket is bound (valid after <see cref="Start"/>).</summary>
    public IPEndPoint LocalEndPoint => (IPEndPoint)(_socket?.LocalEndPoint ?? throw new InvalidOperationException("not started"));

    /// <summary>Where the PXE boot-server socket (proxyDHCP, port 4011) is bound; null when not in proxy mode.</summary>
    public IPEndPoint? BootServerEndPoint => (IPEndPoint?)_bootServerSocket?.LocalEndPoint;

    /// <summary>
    /// Binds the socket now (a bad interface or port fails here) and starts serving once <paramref name="serveAfter"/>
    /// completes (null: at once); what arrives in between waits in the socket's receive buffer.
    /// </summary>
    public void Start(Task? serveAfter = null)
    {
        if (_socket is not null)
        {
            throw new InvalidOperationException("already started");
        }

        if (_bindAddress.Equals(IPAddress.Any) && string.IsNullOrEmpty(_options.Interface))
        {
            throw new InvalidOperationException("provisioner.edge.interface must name the interface to serve DHCP on; refusing to answer on every interface");
        }

        _socket = Bind(_options.Port);
        if (_options.Mode == DhcpMode.Proxy)
        {
            try
            {
                _bootServerSocket = Bind(_options.ProxyPort);
            }
            catch
            {
                _socket.Dispose();
                _socket = null;
                throw;
            }
        }

        LogStarted(LocalEndPoint, _options.Interface, _options.Subnets.Count, _options.Mode, BootServerEndPoint);
        DhcpMetrics.Register(this, LocalEndPoint.ToString());
        _loop = StartReceiving(serveAfter, _socket, bootServer: false, "dhcp-receive");
        if (_bootServerSocket is not null)
        {
            _bootServerLoop = StartReceiving(serveAfter, _bootServerSocket, bootServer: true, "pxe-4011-receive");
        }

        _dispatch = Task.Run(() => DispatchLoopAsync(_stop.Token));
    }

    /// <summary>A UDP socket on the server's bind address and <paramref name="port"/>, bound to the configured interface.</summary>
    private Socket Bind(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Broadcast, true);
            // Boot storms and relay agents arrive in bursts; the kernel caps this at net.core.rmem_max.
            socket.ReceiveBufferSize = SocketReceiveBuffer;
            if (!string.IsNullOrEmpty(_options.Interface))
            {
                // SO_BINDTODEVICE: receive and send only on this interface (broadcasts included).
                socket.SetRawSocketOption(SolSocket, SoBindToDevice, Encoding.ASCII.GetBytes(_options.Interface + "\0"));
            }

            socket.Bind(new IPEndPoint(_bindAddress, port));
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        return socket;
    }

    /// <summary>
    /// The receive loop runs on its own thread, blocked in recvfrom: on a saturated node it is woken by the kernel like
    /// any runnable thread instead of queueing behind the handlers' continuations in the thread pool. A receive loop
    /// that falls behind leaves packets ageing unseen in the socket's buffer (a FIFO of up to seconds at 4 MiB), where
    /// the backlog can neither put the newest DISCOVERs first nor shed the stale ones. The socket is only ever used
    /// synchronously (replies are sent with a non-blocking UDP send), so these are plain blocking system calls.
    /// </summary>
    private Task StartReceiving(Task? serveAfter, Socket socket, bool bootServer, string name)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(
            () =>
            {
                try
                {
                    if (serveAfter is not null)
                    {
                        // Whatever the gate's outcome, the server serves once it is done (or stops if stopped first).
                        try
                        {
                            serveAfter.Wait(_stop.Token);
                        }
                        catch (AggregateException)
                        {
                        }
                    }

                    ReceiveLoop(socket, bootServer, _stop.Token);
                    done.TrySetResult();
                }
                catch (OperationCanceledException) when (_stop.IsCancellationRequested)
                {
                    done.TrySetResult();
                }
#pragma warning disable CA1031 // surfaced through the task StopAsync awaits
                catch (Exception e)
#pragma warning restore CA1031
                {
                    done.TrySetException(e);
                }
            })
        {
            IsBackground = true,
            Name = name,
        };
        thread.Start();
        return done.Task;
    }

    private void ReceiveLoop(Socket socket, bool bootServer, CancellationToken ct)
    {
        var buffer = new byte[ReceiveBufferSize];
        while (!ct.IsCancellationRequested)
        {
            EndPoint remote = new IPEndPoint(IPAddress.Any, 0);
            int receivedBytes;
            try
            {
                receivedBytes = socket.ReceiveFrom(buffer, SocketFlags.None, ref remote);
            }
            catch (ObjectDisposedException)
            {
                break;
            }
            catch (SocketException) when (ct.IsCancellationRequested)
            {
                break;
            }
            catch (SocketException e)
            {
                // E.g. ICMP port unreachable from an earlier send surfacing here: not fatal.
                if (_warnings.TryLog(ServerWarning.ReceiveError, out var more))
                {
                    LogReceiveError(e.SocketErrorCode, more);
                }

                continue;
            }

            var receivedAt = _clock.GetTimestamp();
            Counters.CountReceived();
            var source = (IPEndPoint)remote;
            if (!DhcpPacket.TryParse(buffer.AsSpan(0, receivedBytes), out var packet, out var error))
            {
                Counters.CountMalformed();
                LogMalformed(source, receivedBytes, error);
                continue;
            }

            if (packet.Op != DhcpOpCode.BootRequest)
            {
                // Another server's reply seen on the segment.
                Counters.CountSilent();
                continue;
            }

            if (!_rateLimiter.TryAcquire(packet.ClientHardwareAddress))
            {
                Counters.CountRateLimited();
                LogRateLimited(packet);
                continue;
            }

            _queue.Enqueue((packet, source, bootServer), packet.MessageType == DhcpMessageType.Discover, receivedAt);
        }
    }

    /// <summary>Takes a handler slot, then the next request still worth answering, and starts it.</summary>
    private async Task DispatchLoopAsync(CancellationToken ct)
    {
        var inFlight = new HashSet<Task>();
        while (!ct.IsCancellationRequested)
        {
            (DhcpPacket Packet, IPEndPoint Source, bool BootServer) next;
            try
            {
                await _concurrency.WaitAsync(ct).ConfigureAwait(false);
                try
                {
                    next = await _queue.DequeueAsync(ct).ConfigureAwait(false);
                }
                catch
                {
                    _concurrency.Release();
                    throw;
                }
            }
            catch (OperationCanceledException)
            {
                break;
            }

            var context = new DhcpReceiveContext(_options.Address, next.Source, !next.Packet.RelayAgentAddress.IsAny, next.BootServer);
            var task = HandleOneAsync(next.Packet, context, ct);
            lock (inFlight)
            {
                inFlight.Add(task);
            }

            _ = task.ContinueWith(
                t =>
                {
                    lock (inFlight)
                    {
                        inFlight.Remove(t);
                    }
                },
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
        }

        Task[] pending;
        lock (inFlight)
        {
            pending = [.. inFlight];
        }

        await Task.WhenAll(pending).ConfigureAwait(false);
    }

    private async Task HandleOneAsync(DhcpPacket packet, DhcpReceiveContext context, CancellationToken ct)
    {
        try
        {
            await Task.Yield();
            var plan = await _handler.HandleAsync(packet, context, ct).ConfigureAwait(false);
            if (plan is null)
            {
                Counters.CountSilent();
                return;
            }

            // Synchronous on purpose (see StartReceiving): a UDP send only copies into the socket buffer.
            // A boot-server ACK leaves from port 4011, where its client sent the REQUEST. An OFFER or ACK was encoded
            // already, when the reply memory kept it.
            (context.BootServerPort ? _bootServerSocket! : _socket!).SendTo(plan.ToDatagram(), SocketFlags.None, plan.Destination);

            Counters.CountReplied();
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
#pragma warning disable CA1031 // The loop must survive anything one packet causes.
        catch (Exception e)
#pragma warning restore CA1031
        {
            Counters.CountFailed();
            if (_warnings.TryLog(ServerWarning.HandleFailed, out var more))
            {
                LogHandleFailed(e, packet, more);
            }

        }
        finally
        {
            _concurrency.Release();
        }
    }

    public async Task StopAsync()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        DhcpMetrics.Unregister(this);
        _socket?.Dispose();
        _bootServerSocket?.Dispose();
        try
        {
            await Task.WhenAll(_loop, _bootServerLoop, _dispatch).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _stop.Dispose();
        _concurrency.Dispose();
        _queue.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "DHCP server listening on {EndPoint} (interface {Interface}), {Subnets} subnets, mode {Mode} (PXE boot server on {BootServerEndPoint})")]
    private partial void LogStarted(IPEndPoint endPoint, string @interface, int subnets, DhcpMode mode, IPEndPoint? bootServerEndPoint);

    [LoggerMessage(Level = LogLevel.Debug, Message = "DHCP malformed datagram from {Source} ({Length} bytes): {Error}; dropped")]
    private partial void LogMalformed(IPEndPoint source, int length, DhcpParseError error);

    [LoggerMessage(Level = LogLevel.Debug, Message = "DHCP {Packet}: over the per-MAC rate; dropped")]
    private partial void LogRateLimited(DhcpPacket packet);

    [LoggerMessage(Level = LogLevel.Warning, Message = "DHCP receive error {Error}; continuing ({Suppressed} more not logged since the last line)")]
    private partial void LogReceiveError(SocketError error, long suppressed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "DHCP {Packet}: handling failed; the client will retransmit ({Suppressed} more failures not logged since the last line)")]
    private partial void LogHandleFailed(Exception exception, DhcpPacket packet, long suppressed);

    private enum ServerWarning
    {
        ReceiveError,
        HandleFailed,
    }
}
