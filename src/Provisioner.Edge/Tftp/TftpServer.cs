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
/// runs on a thread of its own with blocking socket calls while no more than
/// <see cref="TftpServerOptions.DedicatedThreads"/> run at once (<see cref="TftpDedicatedThreads"/>), else as an
/// async task. Files come from the root only (see <see cref="TftpPathResolver"/>), hot ones from an in-memory LRU
/// cache (<see cref="HotFileCache"/>).
/// WRQ is always refused: writes are not implemented.
/// <para>
/// Bounded against floods: every request is decided before anything is opened (<see cref="TftpAdmission"/>).
/// A refusal (WRQ, bad mode, bad or missing name, unreadable file) is one ERROR from the listening port,
/// rate-limited per client address (<see cref="TftpRefusalLimiter"/>); an RRQ over
/// <see cref="TftpServerOptions.MaxTransfers"/> or <see cref="TftpServerOptions.MaxTransfersPerClient"/> is
/// dropped unanswered (the client retransmits); the file is opened before the transfer socket, and a socket
/// the kernel will not give (EMFILE, ENOBUFS) drops the request. Each outcome is counted
/// (<see cref="Counters"/>) and logged at most once per cause per interval (<see cref="LogSummary{TCause}"/>).
/// </para>
/// </summary>
public sealed class TftpServer : IAsyncDisposable
{
    private const int RequestBufferLength = 4096;
    private const int ListenerReceiveBuffer = 4 << 20;
    private static readonly TimeSpan LogInterval = TimeSpan.FromSeconds(10);

    /// <summary>How long a virtual file may take to open (a state read from the cluster); past it the RRQ is dropped and the client retransmits.</summary>
    private static readonly TimeSpan VirtualOpenTimeout = TimeSpan.FromSeconds(3);

    private readonly TftpServerOptions _options;
    private readonly ITftpTransferObserver _observer;
    private readonly ILogger<TftpServer> _logger;
    private readonly HotFileCache _cache;
    private readonly ConcurrentDictionary<long, Task> _active = new();
    private readonly TftpTransferTable _transfers = new();
    private readonly TftpRefusalLimiter _refusals;
    private readonly LogSummary<TftpLogCause> _summary;
    private readonly CancellationTokenSource _stop = new();
    private readonly TftpDedicatedThreads _dedicated;
    private readonly ITftpVirtualFiles? _virtualFiles;
    private Socket? _socket;
    private Task? _loop;
    private string _realRoot = "/";
    private int _stopped;
    private int _running;

    /// <summary>Creates a stopped server; <paramref name="time"/> clocks the refusal limiter and the log summaries (default: the system's).</summary>
    public TftpServer(TftpServerOptions options, ITftpTransferObserver observer, ILogger<TftpServer> logger, TimeProvider? time = null, ITftpVirtualFiles? virtualFiles = null)
    {
        _virtualFiles = virtualFiles;
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(observer);
        ArgumentNullException.ThrowIfNull(logger);
        _options = options;
        _observer = observer;
        _logger = logger;
        _cache = new HotFileCache(options.CacheBytes);
        time ??= TimeProvider.System;
        _refusals = new TftpRefusalLimiter(options.RefusalRate, options.RefusalBurst, options.RefusalClients, time);
        _summary = new LogSummary<TftpLogCause>(LogInterval, time, Enum.GetValues<TftpLogCause>().Length);
        _dedicated = new TftpDedicatedThreads(options.DedicatedThreads, "tftp-transfer");
    }

    /// <summary>The listening address and port once started (port 0 in the options becomes the real one).</summary>
    public IPEndPoint? LocalEndPoint { get; private set; }

    /// <summary>Transfers in progress (each holds one socket; never more than <see cref="TftpServerOptions.MaxTransfers"/>).</summary>
    public int ActiveTransfers => _transfers.Count;

    /// <summary>Transfers running on a thread of their own (never more than <see cref="TftpServerOptions.DedicatedThreads"/>).</summary>
    public int DedicatedTransfers => _dedicated.Running;

    /// <summary>Dedicated threads that exist, busy or parked (they are kept between transfers; none after <see cref="StopAsync"/>).</summary>
    internal int DedicatedThreadsAlive => _dedicated.Alive;

    /// <summary>What the server did with every datagram and transfer so far.</summary>
    public TftpServerCounters Counters { get; } = new();

    /// <summary>Test hook: creates transfer sockets instead of <see cref="CreateSocket"/> (to make them fail).</summary>
    internal Func<IPEndPoint, Socket>? TransferSocketFactory { get; set; }

    /// <summary>The hot-file cache (exposed for diagnostics and tests).</summary>
    public HotFileCache Cache => _cache;

    internal TftpServerOptions Options => _options;

    internal ITftpTransferObserver Observer => _observer;

    internal ILogger Logger => _logger;

    /// <summary>Transfers running now, read on every block by dedicated ones (a plain counter: the table's count takes its lock).</summary>
    internal int RunningTransfers => Volatile.Read(ref _running);

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

        // A rollout's RRQs arrive in one burst (thousands within a few ms) while the loop also opens files and sockets;
        // the default buffer holds a few hundred, and a dropped RRQ costs its client a retransmission timeout of
        // seconds. The kernel caps this at net.core.rmem_max.
        _socket.ReceiveBufferSize = ListenerReceiveBuffer;
        LocalEndPoint = (IPEndPoint)_socket.LocalEndPoint!;
        if (_options.WriteDirectory.Length > 0)
        {
            TftpLog.WritesNotImplemented(_logger, _options.WriteDirectory);
        }

        TftpLog.Listening(_logger, LocalEndPoint, _realRoot, _options.Interface, _options.MaxBlockSize, _options.MaxWindowSize, _options.MaxTransfers, _options.MaxTransfersPerClient);
        TftpMetrics.Register(this, LocalEndPoint.ToString());
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

        TftpMetrics.Unregister(this);
        await _stop.CancelAsync().ConfigureAwait(false);
        _dedicated.Stop();
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

                    if (_summary.TryLog(TftpLogCause.ReceiveFailed, out var suppressed))
                    {
                        TftpLog.ReceiveFailed(_logger, LocalEndPoint!, e.SocketErrorCode.ToString(), suppressed);
                    }

                    continue;
                }

                var client = (IPEndPoint)received.RemoteEndPoint;
                try
                {
                    Dispatch(buffer.AsSpan(0, received.ReceivedBytes), client, stop);
                }
#pragma warning disable CA1031 // one bad datagram must never end the receive loop
                catch (Exception e)
#pragma warning restore CA1031
                {
                    Counters.CountUnexpected();
                    if (_summary.TryLog(TftpLogCause.Unexpected, out _))
                    {
                        TftpLog.Unexpected(_logger, client, "(request)", e);
                    }
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    internal void TransferFailed(TftpFailureCause cause, IPEndPoint client, string file, long bytes, TimeSpan duration, string reason)
    {
        Counters.CountFailed(cause);
        if (_summary.TryLog(TftpLogCause.FailedTimedOut + (int)cause, out var suppressed))
        {
            TftpLog.Failed(_logger, client, file, bytes, (long)duration.TotalMilliseconds, reason, suppressed);
        }
    }

    // On the receive loop: everything up to the start of a transfer is decided here, in order, without a task.
    private void Dispatch(ReadOnlySpan<byte> datagram, IPEndPoint client, CancellationToken stop)
    {
        Counters.CountReceived();
        if (!TftpPacket.TryParse(datagram, out var packet, out var error))
        {
            Counters.CountMalformed();
            if (_summary.TryLog(TftpLogCause.Malformed, out var suppressed))
            {
                TftpLog.Malformed(_logger, client, error, suppressed);
            }

            return;
        }

        if (!packet.IsRequest)
        {
            Counters.CountIgnored(); // a stray DATA/ACK/ERROR on the listening port: no transfer owns it, stay silent like tftpd-hpa
            return;
        }

        var request = packet.ToRequest()!;
        if (_logger.IsEnabled(LogLevel.Debug))
        {
            TftpLog.Request(_logger, client, request.Opcode, request.FileName, request.ModeText, request.Options.ToString());
        }

        // The same request again from the same port while its transfer runs is a retransmission (the client
        // has not seen our first reply yet): the running transfer retransmits on its own timer, so it is
        // dropped. A different request from that port means the client gave up on the first one (EDK2 sends
        // ERROR 8 after a tsize probe and asks again at once, possibly from the same port): serve it.
        if (_transfers.IsRetransmission(client, request))
        {
            Counters.CountRetransmission();
            return;
        }

        var decision = _transfers.TryAdmit(client, request, _options.MaxTransfers, _options.MaxTransfersPerClient, out var id);
        if (decision.Outcome == TftpAdmissionOutcome.Refuse)
        {
            Refuse(client, request, decision.Refusal!);
            return;
        }

        if (decision.Outcome == TftpAdmissionOutcome.Shed)
        {
            var cause = decision.Shed!.Value;
            Counters.CountShed(cause);
            if (_summary.TryLog(cause == TftpShedCause.Global ? TftpLogCause.ShedGlobal : TftpLogCause.ShedPerClient, out var suppressed))
            {
                TftpLog.Shed(_logger, client, cause == TftpShedCause.Global ? "tftp.max-transfers" : "tftp.max-transfers-per-client",
                    cause == TftpShedCause.Global ? _options.MaxTransfers : _options.MaxTransfersPerClient, suppressed);
            }

            return;
        }

        // Admitted: the slot is held from here. Name, then file, then socket; every way out releases it.
        try
        {
            Start(client, request, id, stop);
        }
        catch
        {
            _transfers.Release(id);
            throw;
        }
    }

    private void Start(IPEndPoint client, TftpRequest request, long id, CancellationToken stop)
    {
        if (_virtualFiles is not null && TftpVirtualName.Normalize(request.FileName) is { } name && _virtualFiles.Claims(name))
        {
            // Rendered or looked up per client, which may ask the cluster: off the receive loop. The slot stays held,
            // so a retransmitted RRQ meanwhile is recognised and dropped.
            _ = StartVirtualAsync(client, request, id, name, stop);
            return;
        }

        var resolved = TftpPathResolver.Resolve(_realRoot, request.FileName);
        if (TftpAdmission.ForPath(resolved) is { } refusal)
        {
            _transfers.Release(id);
            Refuse(client, request, refusal);
            return;
        }

        TftpOpenedFile file;
        try
        {
            file = TftpOpenedFile.Open(resolved.FullPath!, resolved.RelativePath!);
        }
        catch (IOException e) when (IsOutOfResources(e.HResult))
        {
            _transfers.Release(id);
            NoResources(client, e.Message);
            return;
        }
        catch (Exception e) when (TftpAdmission.ForOpenFailure(e) is { } openRefusal)
        {
            _transfers.Release(id);
            Refuse(client, request, openRefusal);
            return;
        }

        Begin(client, request, id, file, stop);
    }

    private async Task StartVirtualAsync(IPEndPoint client, TftpRequest request, long id, string name, CancellationToken stop)
    {
        TftpOpenedFile? file = null;
        TftpRefusal? refusal = null;
        try
        {
            using var bounded = CancellationTokenSource.CreateLinkedTokenSource(stop);
            bounded.CancelAfter(VirtualOpenTimeout);
            var opened = await _virtualFiles!.OpenAsync(client, name, bounded.Token).ConfigureAwait(false);
            if (opened.Content is { } content)
            {
                file = TftpOpenedFile.FromContent(name, content);
            }
            else if (opened.FullPath is { } path)
            {
                file = TftpOpenedFile.Open(path, name);
            }
            else
            {
                refusal = new TftpRefusal(TftpRefusalCause.FileNotFound, TftpErrorCode.FileNotFound, "File not found", opened.Reason ?? "file not found");
            }
        }
        catch (Exception e) when (TftpAdmission.ForOpenFailure(e) is { } openRefusal)
        {
            refusal = openRefusal;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            _transfers.Release(id); // stopping
            return;
        }
#pragma warning disable CA1031 // an answer that could not be had (no core reachable, a render that broke) drops the request: the client retransmits
        catch (Exception e)
#pragma warning restore CA1031
        {
            _transfers.Release(id);
            TftpLog.Unexpected(_logger, client, request.FileName, e);
            return;
        }

        if (file is null)
        {
            _transfers.Release(id);
            Refuse(client, request, refusal!);
            return;
        }

        try
        {
            Begin(client, request, id, file, stop);
        }
        catch
        {
            _transfers.Release(id);
            throw;
        }
    }

    private void Begin(IPEndPoint client, TftpRequest request, long id, TftpOpenedFile file, CancellationToken stop)
    {
        Socket socket;
        try
        {
            var bind = new IPEndPoint(_options.BindAddress, 0);
            socket = TransferSocketFactory?.Invoke(bind) ?? CreateSocket(bind);
        }
        catch (SocketException e)
        {
            file.Dispose();
            _transfers.Release(id);
            NoResources(client, e.SocketErrorCode.ToString());
            return;
        }

        try
        {
            socket.Connect(client);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            file.Dispose();
            _transfers.Release(id);
            NoResources(client, e.SocketErrorCode.ToString());
            return;
        }

        Counters.CountStarted();
        var done = new TaskCompletionSource();
        _active[id] = done.Task;
        var running = Interlocked.Increment(ref _running);

        // A transfer on a lightly loaded server, lock-step or windowed, gets a thread of its own: blocking calls there,
        // and since they complete at once, RunAsync runs on that thread until the transfer ends, or until more transfers
        // run than there are dedicated threads, when it goes on as a task and the thread is free (see TftpTransfer).
        if (running <= _options.DedicatedThreads
            && _dedicated.TryStart(() => _ = RunAsync(blocking: true)))
        {
            return;
        }

        _ = Task.Run(() => RunAsync(blocking: false), CancellationToken.None);

        async Task RunAsync(bool blocking)
        {
            var transfer = new TftpTransfer(this, client, request, file, socket, stop, blocking);
            try
            {
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
                if (!transfer.Ended)
                {
                    Counters.CountFailed(TftpFailureCause.SocketError);
                }

                Interlocked.Decrement(ref _running);
                _transfers.Release(id, transfer.Succeeded ? Environment.TickCount64 + (long)_options.Timeout.TotalMilliseconds : 0);
                _active.TryRemove(id, out _);
                done.SetResult();
            }
        }
    }

    // EMFILE (24), ENFILE (23), ENOMEM (12), ENOBUFS (105): the host is out of something, not the file's fault.
    private static bool IsOutOfResources(int errno) => errno is 12 or 23 or 24 or 105;

    private void NoResources(IPEndPoint client, string error)
    {
        Counters.CountSocketFailed();
        if (_summary.TryLog(TftpLogCause.SocketFailed, out var suppressed))
        {
            TftpLog.NoResources(_logger, client, error, suppressed);
        }
    }

    // One ERROR from the listening port (no transfer socket), if the client's refusal budget allows it.
    private void Refuse(IPEndPoint client, TftpRequest request, TftpRefusal refusal)
    {
        Counters.CountRefused(refusal.Cause);
        var limit = _refusals.TryAcquire(client.Address);
        if (limit != TftpRefusalLimit.None)
        {
            Counters.CountRefusalDropped(limit);
            if (_summary.TryLog(limit == TftpRefusalLimit.TableFull ? TftpLogCause.RefusalTableFull : TftpLogCause.RefusalRateLimited, out var dropped))
            {
                TftpLog.RefusalDropped(_logger, client, limit == TftpRefusalLimit.TableFull ? "the limiter's table of addresses is full (tftp.refusal-clients)" : "over tftp.refusal-rate", dropped);
            }

            return;
        }

        if (_summary.TryLog(TftpLogCause.RefusedWriteRequest + (int)refusal.Cause, out var suppressed))
        {
            TftpLog.Refused(_logger, client, request.FileName, refusal.Reason, (int)refusal.Code, suppressed);
        }

        // Reported before the ERROR leaves: a client (or a test) that has the ERROR can count on the report.
        Report(new TftpTransferRecord(client, request.FileName, null, 0, TimeSpan.Zero, TftpOptions.DefaultBlockSize, 1, null), refusal.Reason);
        Span<byte> packet = stackalloc byte[TftpWriter.GetErrorLength(refusal.Message)];
        TftpWriter.TryWriteError(packet, refusal.Code, refusal.Message, out var written);
        try
        {
            _socket!.SendTo(packet[..written], SocketFlags.None, client);
        }
        catch (SocketException)
        {
            Counters.CountErrorSendFailed(); // best effort: a full send buffer or a client that went away
        }
        catch (ObjectDisposedException)
        {
            // stopping
        }
    }
}

/// <summary>The causes the server logs at most once per interval (see <see cref="LogSummary{TCause}"/>).</summary>
internal enum TftpLogCause
{
    Malformed,
    ShedGlobal,
    ShedPerClient,
    RefusalRateLimited,
    RefusalTableFull,
    SocketFailed,
    ReceiveFailed,
    Unexpected,

    // one per TftpRefusalCause, in its order
    RefusedWriteRequest,
    RefusedUnknownMode,
    RefusedAccessViolation,
    RefusedFileNotFound,
    RefusedUnreadable,

    // one per TftpFailureCause, in its order
    FailedTimedOut,
    FailedUnreachable,
    FailedClientError,
    FailedSocketError,
    FailedReadError,
    FailedStopping,
}
