using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using Provisioner.Protocols.Tftp;

namespace Provisioner.Edge.Tftp;

/// <summary>
/// Read-only TFTP server: RFC 1350 with options (RFC 2347 OACK, 2348 blksize, 2349 tsize and timeout,
/// 7440 windowsize). One socket listens for requests; every accepted RRQ gets its own ephemeral socket
/// (a new TID, RFC 1350 section 4) bound to the same address and device and connected to the client, and
/// runs as an async task (no thread per transfer). Files come from the root only (see
/// <see cref="TftpPathResolver"/>), hot ones from an in-memory LRU cache (<see cref="HotFileCache"/>).
/// WRQ is always refused: writes are not implemented.
/// </summary>
public sealed class TftpServer : IAsyncDisposable
{
    private const int RequestBufferLength = 4096;

    private readonly TftpServerOptions _options;
    private readonly ITftpTransferObserver _observer;
    private readonly ILogger<TftpServer> _logger;
    private readonly HotFileCache _cache;
    private readonly ConcurrentDictionary<long, Task> _active = new();
    private readonly ConcurrentDictionary<IPEndPoint, (long Id, TftpRequest Request)> _byClient = new();
    private readonly CancellationTokenSource _stop = new();
    private Socket? _socket;
    private Task? _loop;
    private string _realRoot = "/";
    private int _stopped;
    private long _nextId;

    /// <summary>Creates a stopped server.</summary>
    public TftpServer(TftpServerOptions options, ITftpTransferObserver observer, ILogger<TftpServer> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(observer);
        ArgumentNullException.ThrowIfNull(logger);
        _options = options;
        _observer = observer;
        _logger = logger;
        _cache = new HotFileCache(options.CacheBytes);
    }

    /// <summary>The listening address and port once started (port 0 in the options becomes the real one).</summary>
    public IPEndPoint? LocalEndPoint { get; private set; }

    /// <summary>Transfers in progress.</summary>
    public int ActiveTransfers => _active.Count;

    /// <summary>The hot-file cache (exposed for diagnostics and tests).</summary>
    public HotFileCache Cache => _cache;

    internal TftpServerOptions Options => _options;

    internal ITftpTransferObserver Observer => _observer;

    internal ILogger Logger => _logger;

    internal string RealRoot => _realRoot;

    /// <summary>Resolves the root, binds the socket and starts answering. Throws when the root is missing or the bind fails.</summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (_socket is not null)
        {
            throw new InvalidOperationException("The TFTP server is already started.");
        }

        if (!Directory.Exists(_options.Root))
        {
            throw new DirectoryNotFoundException($"TFTP root '{_options.Root}' does not exist");
        }

        _realRoot = TftpPathResolver.GetRealRoot(_options.Root);
        _socket = CreateSocket(new IPEndPoint(_options.BindAddress, _options.Port));
        LocalEndPoint = (IPEndPoint)_socket.LocalEndPoint!;
        if (_options.WriteDirectory.Length > 0)
        {
            TftpLog.WritesNotImplemented(_logger, _options.WriteDirectory);
        }

        TftpLog.Listening(_logger, LocalEndPoint, _realRoot, _options.Interface, _options.MaxBlockSize, _options.MaxWindowSize);
        _loop = Task.Run(() => ReceiveLoopAsync(_socket, _stop.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    /// <summary>Stops listening, abandons transfers in progress and waits for them to end.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        _socket?.Dispose();
        var pending = _active.Values.ToList();
        if (_loop is not null)
        {
            pending.Add(_loop);
        }

        try
        {
            await Task.WhenAll(pending).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // transfers end by cancellation; that is the point
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        _stop.Dispose();
    }

    /// <summary>A UDP socket on <paramref name="bind"/>, tied to the configured interface when there is one.</summary>
    internal Socket CreateSocket(IPEndPoint bind)
    {
        var socket = new Socket(bind.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            if (_options.Interface.Length > 0)
            {
                // SOL_SOCKET = 1, SO_BINDTODEVICE = 25 (Linux); the value is the NUL-terminated interface name.
                socket.SetRawSocketOption(1, 25, Encoding.ASCII.GetBytes(_options.Interface + "\0"));
            }

            socket.Bind(bind);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    internal void Report(TftpTransferRecord record, string? failure)
    {
        try
        {
            if (failure is null)
            {
                _observer.TransferCompleted(record);
            }
            else
            {
                _observer.TransferFailed(record, failure);
            }
        }
#pragma warning disable CA1031 // an observer's bug must not take the server down
        catch (Exception e)
#pragma warning restore CA1031
        {
            TftpLog.ObserverThrew(_logger, e);
        }
    }

    private async Task ReceiveLoopAsync(Socket socket, CancellationToken stop)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(RequestBufferLength);
        EndPoint any = new IPEndPoint(socket.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0);
        try
        {
            while (!stop.IsCancellationRequested)
            {
                SocketReceiveFromResult received;
                try
                {
                    received = await socket.ReceiveFromAsync(buffer.AsMemory(0, RequestBufferLength), SocketFlags.None, any, stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
                catch (ObjectDisposedException)
                {
                    break;
                }
                catch (SocketException e)
                {
                    if (stop.IsCancellationRequested)
                    {
                        break;
                    }

                    TftpLog.ReceiveFailed(_logger, LocalEndPoint!, e.SocketErrorCode.ToString());
                    continue;
                }

                Dispatch(buffer.AsSpan(0, received.ReceivedBytes), (IPEndPoint)received.RemoteEndPoint, stop);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void Dispatch(ReadOnlySpan<byte> datagram, IPEndPoint client, CancellationToken stop)
    {
        if (!TftpPacket.TryParse(datagram, out var packet, out var error))
        {
            TftpLog.Malformed(_logger, client, error.ToString());
            return;
        }

        if (!packet.IsRequest)
        {
            return; // a stray DATA/ACK/ERROR on the listening port: no transfer owns it, stay silent like tftpd-hpa
        }

        var request = packet.ToRequest()!;

        // The same request again from the same port while its transfer runs is a retransmission (the client
        // has not seen our first reply yet): the running transfer retransmits on its own timer, so it is
        // dropped. A different request from that port means the client gave up on the first one (EDK2 sends
        // ERROR 8 after a tsize probe and asks again at once, possibly from the same port): serve it.
        if (_byClient.TryGetValue(client, out var running) && running.Request == request)
        {
            return;
        }

        var id = Interlocked.Increment(ref _nextId);
        _byClient[client] = (id, request);
        var done = new TaskCompletionSource();
        _active[id] = done.Task;
        _ = Task.Run(
            async () =>
            {
                try
                {
                    var transfer = new TftpTransfer(this, client, request, stop);
                    await transfer.RunAsync().ConfigureAwait(false);
                }
#pragma warning disable CA1031 // one broken transfer must never stop the server
                catch (Exception e)
#pragma warning restore CA1031
                {
                    TftpLog.Unexpected(_logger, client, request.FileName, e);
                }
                finally
                {
                    _byClient.TryRemove(new KeyValuePair<IPEndPoint, (long, TftpRequest)>(client, (id, request)));
                    _active.TryRemove(id, out _);
                    done.SetResult();
                }
            },
            CancellationToken.None);
    }
}
