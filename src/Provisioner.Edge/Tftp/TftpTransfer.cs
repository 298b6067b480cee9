using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Provisioner.Protocols.Tftp;

namespace Provisioner.Edge.Tftp;

/// <summary>
/// One admitted read request, after the server has resolved its name, opened its file and created its socket
/// (the server's TID for this client, connected to it): load, negotiate, send. Refusals never get here.
/// <para>
/// Sending (RFC 1350 lock-step is windowsize 1 of RFC 7440): blocks are numbered by a 64-bit index from 1;
/// the wire carries the low 16 bits, so block 65535 is followed by 0 (tftp-hpa, atftp and curl do the
/// same). The current window lives in a pooled ring of prepared DATA packets, so a retransmission never
/// re-reads the file. An ACK moves the window to the block after the one it names: a whole window acked
/// sends the next one, a partial one resends from the first missing block (RFC 7440 section 4). An ACK
/// for a block already acknowledged (a duplicate) or not yet sent is ignored: resending on it is the
/// Sorcerer's Apprentice bug. Silence resends from the first unacknowledged block, the timeout doubling
/// each time, until <see cref="TftpServerOptions.Retries"/> is exhausted. The last block is the first
/// short one, empty when the size is a multiple of the block size.
/// </para>
/// <para>
/// Blocking mode (<see cref="TftpDedicatedThreads"/>): every send and receive is a blocking system call on the
/// caller's thread, so each await below completes at once and <see cref="RunAsync"/> runs to its end on that thread
/// with no thread-pool hop per ACK. The socket must not have seen an async operation (the runtime then makes it
/// non-blocking and routes synchronous calls through its event loop). A receive waits in slices of at most
/// <see cref="StopPollInterval"/>, checking for shutdown between them; timeouts, retries, logs, counters and
/// observer calls are the same code as on the async path. Once more transfers run than
/// <see cref="TftpServerOptions.DedicatedThreads"/>, the transfer drops to async calls at its next ACK (the socket
/// may go from blocking to async, not back): the first await that does not complete at once frees the thread, and
/// the transfer goes on as a task. Under that load, a worker that takes many completions per wake-up does more
/// than hundreds of threads each woken per ACK.
/// </para>
/// </summary>
internal sealed class TftpTransfer
{
    private const int ReceiveBufferLength = 1024;

    /// <summary>How long a blocked receive may go without noticing that the server is stopping.</summary>
    internal static readonly TimeSpan StopPollInterval = TimeSpan.FromMilliseconds(100);

    private readonly TftpServer _server;
    private readonly TftpServerOptions _options;
    private readonly IPEndPoint _client;
    private readonly TftpRequest _request;
    private readonly TftpOpenedFile _file;
    private readonly Socket _socket;
    private readonly CancellationToken _stop;
    private bool _blocking;
    private readonly long _started = Stopwatch.GetTimestamp();
    private CancellationTokenSource _timer;
    private int _blockSize = TftpOptions.DefaultBlockSize;
    private int _windowSize = 1;
    private long _acknowledgedBytes;
    private bool _segmented;
    private int _receiveTimeoutMs;
    private TftpAckSpin _spin;

    /// <summary>
    /// Takes ownership of <paramref name="file"/> and <paramref name="socket"/>; <paramref name="blocking"/> makes every
    /// socket call a blocking one on the thread that runs <see cref="RunAsync"/> (see the class remarks).
    /// </summary>
    public TftpTransfer(TftpServer server, IPEndPoint client, TftpRequest request, TftpOpenedFile file, Socket socket, CancellationToken stop, bool blocking = false)
    {
        _server = server;
        _options = server.Options;
        _client = client;
        _request = request;
        _file = file;
        _socket = socket;
        _stop = stop;
        _blocking = blocking;
        _timer = CancellationTokenSource.CreateLinkedTokenSource(stop);
    }

    private enum Wait
    {
        Packet,
        TimedOut,
        Unreachable,
    }

    /// <summary>True once the transfer has been reported (completed, failed or probed).</summary>
    public bool Ended { get; private set; }

    /// <summary>The client acknowledged the whole file.</summary>
    public bool Succeeded { get; private set; }

    public async Task RunAsync()
    {
        var receive = ArrayPool<byte>.Shared.Rent(ReceiveBufferLength);
        try
        {
            await ServeAsync(receive).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            Fail(TftpFailureCause.Stopping, "server stopping", null);
        }
        catch (SocketException e)
        {
            // e.g. ECONNREFUSED on a send: an ICMP port unreachable from a client that went away
            Fail(e.SocketErrorCode is SocketError.ConnectionRefused or SocketError.ConnectionReset ? TftpFailureCause.Unreachable : TftpFailureCause.SocketError,
                $"socket error {e.SocketErrorCode}", null);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(receive);
            _file.Dispose();
            _socket.Dispose();
            _timer.Dispose();
        }
    }

    private async Task ServeAsync(byte[] receive)
    {
        TftpBlockSource source;
        try
        {
            source = _file.Load(_server.Cache, _request.Mode == TftpMode.NetAscii);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            await SendErrorAsync(TftpErrorCode.AccessViolation, "Access violation").ConfigureAwait(false);
            Fail(TftpFailureCause.ReadError, $"cannot read: {e.Message}", null);
            return;
        }

        using (source)
        {
            var negotiated = TftpNegotiation.Negotiate(_request.Options, source.Length, _options);
            _blockSize = negotiated.BlockSize;
            _windowSize = negotiated.WindowSize;
            if (negotiated.Acknowledgement is { } oack && !await SendOptionAcknowledgementAsync(oack, negotiated.Timeout, receive).ConfigureAwait(false))
            {
                return;
            }

            await SendFileAsync(source, negotiated.Timeout, receive).ConfigureAwait(false);
        }
    }

    private async Task<bool> SendOptionAcknowledgementAsync(TftpOptionAcknowledgement oack, TimeSpan timeout, byte[] receive)
    {
        var packet = new byte[oack.GetWrittenLength()];
        oack.TryWrite(packet, out _);
        var wait = timeout;
        for (var attempt = 0; ; attempt++)
        {
            await SendAsync(packet).ConfigureAwait(false);
            while (true)
            {
                var (outcome, length) = await ReceiveAsync(receive, wait).ConfigureAwait(false);
                if (outcome == Wait.Unreachable)
                {
                    Fail(TftpFailureCause.Unreachable, "client unreachable (ICMP) after the OACK", null);
                    return false;
                }

                if (outcome == Wait.TimedOut)
                {
                    break;
                }

                if (!TftpPacket.TryParse(receive.AsSpan(0, length), out var reply, out _))
                {
                    continue;
                }

                if (reply.Opcode == TftpOpcode.Acknowledgement && reply.Block == 0)
                {
                    return true;
                }

                if (reply.Opcode == TftpOpcode.Error)
                {
                    // EDK2 asks for tsize, reads it from the OACK and aborts (ERROR 8): not a failure.
                    if (_server.Logger.IsEnabled(Microsoft.Extensions.Logging.LogLevel.Debug))
                    {
                        TftpLog.AbortedAfterOack(_server.Logger, _client, _file.RelativePath, (int)reply.ErrorCode, reply.ErrorMessage);
                    }

                    Ended = true;
                    _server.Counters.CountProbe();
                    return false;
                }
            }

            if (attempt >= _options.Retries)
            {
                Fail(TftpFailureCause.TimedOut, $"no ACK of the OACK after {attempt + 1} attempts", null);
                return false;
            }

            wait *= 2;
        }
    }

    private async Task SendFileAsync(TftpBlockSource source, TimeSpan timeout, byte[] receive)
    {
        var blockSize = _blockSize;
        var window = _windowSize;
        var slotLength = TftpPacket.HeaderLength + blockSize;
        var ring = ArrayPool<byte>.Shared.Rent(window * slotLength);
        var lengths = ArrayPool<int>.Shared.Rent(window);
        try
        {
            var total = source.Length;
            var last = (total / blockSize) + 1; // index of the last (short or empty) block
            long first = 1;                      // first unacknowledged block
            long produced = 1;                   // next block to read into the ring
            long sentEnd = 1;                    // one past the highest block sent in the current window
            var wait = timeout;
            var retries = 0;

            // Block 1 takes slot 0, so a whole window (first = 1 + k * window) fills the ring from its start and goes
            // out as one run; only a window that starts mid-ring after a partial ACK wraps (two runs).
            int Slot(long block) => (int)((block - 1) % window);

            // One system call per window where the kernel segments UDP (see UdpSegmentation): full DATA
            // packets sit back to back in the ring, so consecutive slots are already the segmented layout.
            _segmented = window > 1 && UdpSegmentation.TrySet(_socket, slotLength);
            var perSend = UdpSegmentation.SegmentsPerSend(slotLength);

            // Pooled builders: these await once per window / per ACK, so a plain async ValueTask would box a
            // state machine for every round trip.
            [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
            async ValueTask SendWindowAsync()
            {
                var end = Math.Min(first + window, last + 1);
                for (var n = produced; n < end; n++)
                {
                    var slot = Slot(n);
                    var offset = (n - 1) * blockSize;
                    var payload = (int)Math.Min(blockSize, total - offset);
                    var span = ring.AsSpan(slot * slotLength, TftpPacket.HeaderLength + payload);
                    TftpWriter.TryWriteDataHeader(span, unchecked((ushort)n));
                    if (source.Read(span[TftpPacket.HeaderLength..]) != payload)
                    {
                        throw new IOException("the file shrank while it was being sent");
                    }

                    lengths[slot] = span.Length;
                    produced = n + 1;
                }

                // Runs of consecutive ring slots (the window may wrap around the ring's end).
                var next = first;
                while (next < end)
                {
                    var slot = Slot(next);
                    var count = _segmented ? (int)Math.Min(Math.Min(end - next, window - slot), perSend) : 1;
                    var bytes = ((count - 1) * slotLength) + lengths[slot + count - 1];
                    var packets = ring.AsMemory(slot * slotLength, bytes);
                    if (count > 1)
                    {
                        try
                        {
                            await SendAsync(packets).ConfigureAwait(false);
                        }
                        catch (SocketException e) when (e.SocketErrorCode is not (SocketError.ConnectionRefused or SocketError.ConnectionReset))
                        {
                            // e.g. EIO from a device without checksum offload: one datagram per block from now on
                            TftpLog.SegmentationRefused(_server.Logger, e.SocketErrorCode.ToString());
                            UdpSegmentation.Refused(_socket);
                            _segmented = false;
                            continue;
                        }
                    }
                    else
                    {
                        await SendAsync(packets).ConfigureAwait(false);
                    }

                    next += count;
                }

                sentEnd = end;
            }

            try
            {
                await SendWindowAsync().ConfigureAwait(false);
            }
            catch (IOException e)
            {
                await SendErrorAsync(TftpErrorCode.NotDefined, "File changed").ConfigureAwait(false);
                Fail(TftpFailureCause.ReadError, e.Message, null);
                return;
            }

            while (true)
            {
                var (outcome, length) = await ReceiveAsync(receive, wait).ConfigureAwait(false);
                if (outcome == Wait.Unreachable)
                {
                    // Linux reports an ICMP error before the datagrams already queued, and reading it clears it. A client
                    // that sent its last ACK and closed its port (as tftp clients exit) while a resend of ours was on its
                    // way has that ACK behind the error: read on while anything is queued.
                    if (_socket.Available > 0)
                    {
                        continue;
                    }

                    Fail(TftpFailureCause.Unreachable, "client unreachable (ICMP)", null);
                    return;
                }

                if (outcome == Wait.TimedOut)
                {
                    if (++retries > _options.Retries)
                    {
                        Fail(TftpFailureCause.TimedOut, $"timed out waiting for ACK of block {first} after {retries - 1} retransmissions", null);
                        return;
                    }

                    wait *= 2;
                    await SendWindowAsync().ConfigureAwait(false);
                    continue;
                }

                if (!TftpPacket.TryParse(receive.AsSpan(0, length), out var packet, out _))
                {
                    continue;
                }

                if (packet.Opcode == TftpOpcode.Error)
                {
                    Fail(TftpFailureCause.ClientError, $"client sent ERROR {(int)packet.ErrorCode} '{packet.ErrorMessage}'", packet.ErrorCode);
                    return;
                }

                if (packet.Opcode != TftpOpcode.Acknowledgement)
                {
                    continue;
                }

                // Which index does this 16-bit block number name? The only candidates are first-1 (a duplicate)
                // through sentEnd-1; the window is capped at 32768 so the distance is unambiguous.
                var distance = (ushort)(packet.Block - unchecked((ushort)(first - 1)));
                if (distance == 0 || distance > sentEnd - first)
                {
                    continue;
                }

                first += distance;
                _acknowledgedBytes = Math.Min((first - 1) * blockSize, total);
                retries = 0;
                wait = timeout;
                if (first > last)
                {
                    Complete(total);
                    return;
                }

                if (_blocking && _server.RunningTransfers > _options.DedicatedThreads)
                {
                    _blocking = false;
                }

                try
                {
                    await SendWindowAsync().ConfigureAwait(false);
                }
                catch (IOException e)
                {
                    await SendErrorAsync(TftpErrorCode.NotDefined, "File changed").ConfigureAwait(false);
                    Fail(TftpFailureCause.ReadError, e.Message, null);
                    return;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(ring);
            ArrayPool<int>.Shared.Return(lengths);
        }
    }

    private ValueTask<int> SendAsync(ReadOnlyMemory<byte> packet)
    {
        if (!_blocking)
        {
            return _socket.SendAsync(packet, SocketFlags.None, _stop);
        }

        _stop.ThrowIfCancellationRequested();
        return new ValueTask<int>(_socket.Send(packet.Span, SocketFlags.None));
    }

    private ValueTask<(Wait Outcome, int Length)> ReceiveAsync(byte[] buffer, TimeSpan timeout) =>
        _blocking ? new ValueTask<(Wait, int)>(Receive(buffer, timeout)) : ReceiveWithTimerAsync(buffer, timeout);

    // Blocking: SO_RCVTIMEO is the timer, set only when the slice changes (an ACK in time never touches it). Before the
    // first slice the thread may poll for a while (TftpAckSpin): a readable socket (or a pending ICMP error) ends it.
    private (Wait Outcome, int Length) Receive(byte[] buffer, TimeSpan timeout)
    {
        var start = Stopwatch.GetTimestamp();
        var deadline = start + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        var spin = Math.Min(_spin.Budget(_server.RunningTransfers, _windowSize), deadline - start);
        if (spin > 0)
        {
            var until = start + spin;
            while (!_socket.Poll(0, SelectMode.SelectRead) && Stopwatch.GetTimestamp() < until)
            {
                Thread.Yield(); // a client on this CPU (same machine) runs now rather than after the poll
            }
        }

        while (true)
        {
            _stop.ThrowIfCancellationRequested();
            var left = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), deadline);
            if (left <= TimeSpan.Zero)
            {
                return (Wait.TimedOut, 0);
            }

            var sliceMs = (int)Math.Ceiling(Math.Min(left.TotalMilliseconds, StopPollInterval.TotalMilliseconds));
            if (sliceMs != _receiveTimeoutMs)
            {
                _socket.ReceiveTimeout = sliceMs;
                _receiveTimeoutMs = sliceMs;
            }

            var n = _socket.Receive(buffer.AsSpan(0, ReceiveBufferLength), SocketFlags.None, out var error);
            switch (error)
            {
                case SocketError.Success:
                    _spin.Observe(Stopwatch.GetTimestamp() - start);
                    return (Wait.Packet, n);
                case SocketError.TimedOut or SocketError.WouldBlock or SocketError.Interrupted:
                    continue;
                case SocketError.ConnectionRefused or SocketError.ConnectionReset:
                    return (Wait.Unreachable, 0);
                default:
                    throw new SocketException((int)error);
            }
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<(Wait Outcome, int Length)> ReceiveWithTimerAsync(byte[] buffer, TimeSpan timeout)
    {
        _timer.CancelAfter(timeout);
        try
        {
            var n = await _socket.ReceiveAsync(buffer.AsMemory(0, ReceiveBufferLength), SocketFlags.None, _timer.Token).ConfigureAwait(false);
            return (Wait.Packet, n);
        }
        catch (OperationCanceledException) when (!_stop.IsCancellationRequested)
        {
            return (Wait.TimedOut, 0);
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionRefused or SocketError.ConnectionReset)
        {
            return (Wait.Unreachable, 0);
        }
        finally
        {
            if (!_timer.TryReset())
            {
                _timer.Dispose();
                _timer = CancellationTokenSource.CreateLinkedTokenSource(_stop);
            }
        }
    }

    private async Task SendErrorAsync(TftpErrorCode code, string message)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(TftpWriter.GetErrorLength(message));
        try
        {
            TftpWriter.TryWriteError(buffer, code, message, out var written);
            if (_segmented && written > TftpPacket.HeaderLength + _blockSize)
            {
                UdpSegmentation.TrySet(_socket, 0); // an ERROR longer than a DATA packet must not be split
            }

            await SendAsync(buffer.AsMemory(0, written)).ConfigureAwait(false);
        }
        catch (SocketException)
        {
            // best effort: the client may already be gone
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void Complete(long bytes)
    {
        Ended = true;
        Succeeded = true;
        var duration = Stopwatch.GetElapsedTime(_started);
        var seconds = Math.Max(duration.TotalSeconds, 1e-6);
        TftpLog.Completed(
            _server.Logger, _client, _file.RelativePath, bytes, (long)duration.TotalMilliseconds,
            Math.Round(bytes / seconds / 1_000_000, 1), _blockSize, _windowSize);
        _server.Counters.CountCompleted();
        _server.Report(Record(bytes, null), null);
    }

    private void Fail(TftpFailureCause cause, string reason, TftpErrorCode? clientError)
    {
        Ended = true;
        var duration = Stopwatch.GetElapsedTime(_started);
        _server.TransferFailed(cause, _client, _file.RelativePath, _acknowledgedBytes, duration, reason);
        _server.Report(Record(_acknowledgedBytes, clientError), reason);
    }

    private TftpTransferRecord Record(long bytes, TftpErrorCode? clientError) => new(
        _client, _request.FileName, _file.RelativePath, bytes, Stopwatch.GetElapsedTime(_started), _blockSize, _windowSize, clientError);
}
