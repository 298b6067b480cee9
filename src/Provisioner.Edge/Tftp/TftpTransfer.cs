using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Provisioner.Protocols.Tftp;

namespace Provisioner.Edge.Tftp;

/// <summary>
/// One request, start to end, on its own socket (the server's TID for this client).
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
/// </summary>
internal sealed class TftpTransfer
{
    private const int ReceiveBufferLength = 1024;

    private readonly TftpServer _server;
    private readonly TftpServerOptions _options;
    private readonly IPEndPoint _client;
    private readonly TftpRequest _request;
    private readonly CancellationToken _stop;
    private readonly long _started = Stopwatch.GetTimestamp();
    private CancellationTokenSource _timer;
    private Socket? _socket;
    private string? _resolved;
    private int _blockSize = TftpOptions.DefaultBlockSize;
    private int _windowSize = 1;
    private long _acknowledgedBytes;
    private bool _segmented;

    public TftpTransfer(TftpServer server, IPEndPoint client, TftpRequest request, CancellationToken stop)
    {
        _server = server;
        _options = server.Options;
        _client = client;
        _request = request;
        _stop = stop;
        _timer = CancellationTokenSource.CreateLinkedTokenSource(stop);
    }

    private enum Wait
    {
        Packet,
        TimedOut,
        Unreachable,
    }

    public async Task RunAsync()
    {
        var receive = ArrayPool<byte>.Shared.Rent(ReceiveBufferLength);
        try
        {
            _socket = _server.CreateSocket(new IPEndPoint(_options.BindAddress, 0));
            _socket.Connect(_client);
            await ServeAsync(receive).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            Fail("server stopping", null);
        }
        catch (SocketException e)
        {
            // e.g. ECONNREFUSED on a send: an ICMP port unreachable from a client that went away
            Fail($"socket error {e.SocketErrorCode}", null);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(receive);
            _socket?.Dispose();
            _timer.Dispose();
        }
    }

    private async Task ServeAsync(byte[] receive)
    {
        TftpLog.Request(_server.Logger, _client, _request.FileName, _request.ModeText, _request.Options.ToString());
        if (_request.Opcode == TftpOpcode.WriteRequest)
        {
            await RefuseAsync(TftpErrorCode.AccessViolation, "Access violation: this server is read-only", "write request (writes are not implemented)").ConfigureAwait(false);
            return;
        }

        if (_request.Mode is not (TftpMode.Octet or TftpMode.NetAscii))
        {
            await RefuseAsync(TftpErrorCode.IllegalOperation, "Unknown mode", $"mode '{_request.ModeText}' not supported").ConfigureAwait(false);
            return;
        }

        var resolved = TftpPathResolver.Resolve(_server.RealRoot, _request.FileName);
        if (!resolved.Succeeded)
        {
            var code = resolved.Error!.Value;
            await RefuseAsync(code, code == TftpErrorCode.FileNotFound ? "File not found" : "Access violation", resolved.Reason!).ConfigureAwait(false);
            return;
        }

        _resolved = resolved.RelativePath;
        TftpBlockSource source;
        try
        {
            source = Open(resolved.FullPath!);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            await RefuseAsync(TftpErrorCode.FileNotFound, "File not found", "file not found").ConfigureAwait(false);
            return;
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            await RefuseAsync(TftpErrorCode.AccessViolation, "Access violation", $"cannot read: {e.Message}").ConfigureAwait(false);
            return;
        }

        using (source)
        {
            var oack = Negotiate(source.Length, out var timeout);
            if (oack is not null && !await SendOptionAcknowledgementAsync(oack, timeout, receive).ConfigureAwait(false))
            {
                return;
            }

            await SendFileAsync(source, timeout, receive).ConfigureAwait(false);
        }
    }

    private TftpBlockSource Open(string fullPath)
    {
        var info = new FileInfo(fullPath);
        var length = info.Length;
        var content = _server.Cache.GetOrLoad(fullPath, length, info.LastWriteTimeUtc);
        TftpBlockSource Raw() => content is not null
            ? new MemoryBlockSource(content)
            : new FileBlockSource(File.OpenHandle(fullPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete), content?.LongLength ?? length);

        if (_request.Mode != TftpMode.NetAscii)
        {
            return Raw();
        }

        long encoded;
        if (content is not null)
        {
            encoded = NetasciiEncoder.GetEncodedLength(content);
        }
        else
        {
            using var measure = Raw();
            encoded = NetasciiBlockSource.MeasureEncodedLength(measure);
        }

        return new NetasciiBlockSource(Raw(), encoded);
    }

    // RFC 2347: answer only options we understand, each with the value we will use; none -> no OACK.
    private TftpOptionAcknowledgement? Negotiate(long length, out TimeSpan timeout)
    {
        var requested = _request.Options;
        timeout = _options.Timeout;
        int? blockSize = null;
        long? transferSize = null;
        int? timeoutSeconds = null;
        int? windowSize = null;
        if (requested.BlockSize is { } b)
        {
            blockSize = Math.Min(b, _options.MaxBlockSize);
            _blockSize = blockSize.Value;
        }

        if (requested.TransferSize is not null)
        {
            transferSize = length; // RFC 2349: an RRQ sends 0, the OACK carries the size (encoded size in netascii)
        }

        if (requested.TimeoutSeconds is { } t)
        {
            timeoutSeconds = t;
            timeout = TimeSpan.FromSeconds(t);
        }

        if (requested.WindowSize is { } w)
        {
            windowSize = Math.Min(w, Math.Min(_options.MaxWindowSize, TftpServerOptions.WindowSizeLimit));
            _windowSize = windowSize.Value;
        }

        var options = TftpOptions.Create(blockSize, transferSize, timeoutSeconds, windowSize);
        return options.Count == 0 ? null : new TftpOptionAcknowledgement(options);
    }

    private async Task<bool> SendOptionAcknowledgementAsync(TftpOptionAcknowledgement oack, TimeSpan timeout, byte[] receive)
    {
        var packet = new byte[oack.GetWrittenLength()];
        oack.TryWrite(packet, out _);
        var wait = timeout;
        for (var attempt = 0; ; attempt++)
        {
            await _socket!.SendAsync(packet, SocketFlags.None, _stop).ConfigureAwait(false);
            while (true)
            {
                var (outcome, length) = await ReceiveAsync(receive, wait).ConfigureAwait(false);
                if (outcome == Wait.Unreachable)
                {
                    Fail("client unreachable (ICMP) after the OACK", null);
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
                    TftpLog.AbortedAfterOack(_server.Logger, _client, _resolved ?? _request.FileName, (int)reply.ErrorCode, reply.ErrorMessage);
                    return false;
                }
            }

            if (attempt >= _options.Retries)
            {
                Fail($"no ACK of the OACK after {attempt + 1} attempts", null);
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

            // One system call per window where the kernel segments UDP (see UdpSegmentation): full DATA
            // packets sit back to back in the ring, so consecutive slots are already the segmented layout.
            _segmented = window > 1 && UdpSegmentation.TrySet(_socket!, slotLength);
            var perSend = UdpSegmentation.SegmentsPerSend(slotLength);

            // Pooled builders: these await once per window / per ACK, so a plain async ValueTask would box a
            // state machine for every round trip.
            [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
            async ValueTask SendWindowAsync()
            {
                var end = Math.Min(first + window, last + 1);
                for (var n = produced; n < end; n++)
                {
                    var slot = (int)(n % window);
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
                    var slot = (int)(next % window);
                    var count = _segmented ? (int)Math.Min(Math.Min(end - next, window - slot), perSend) : 1;
                    var bytes = ((count - 1) * slotLength) + lengths[slot + count - 1];
                    var packets = ring.AsMemory(slot * slotLength, bytes);
                    if (count > 1)
                    {
                        try
                        {
                            await _socket!.SendAsync(packets, SocketFlags.None, _stop).ConfigureAwait(false);
                        }
                        catch (SocketException e) when (e.SocketErrorCode is not (SocketError.ConnectionRefused or SocketError.ConnectionReset))
                        {
                            // e.g. EIO from a device without checksum offload: one datagram per block from now on
                            TftpLog.SegmentationRefused(_server.Logger, e.SocketErrorCode.ToString());
                            UdpSegmentation.Refused(_socket!);
                            _segmented = false;
                            continue;
                        }
                    }
                    else
                    {
                        await _socket!.SendAsync(packets, SocketFlags.None, _stop).ConfigureAwait(false);
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
                Fail(e.Message, null);
                return;
            }

            while (true)
            {
                var (outcome, length) = await ReceiveAsync(receive, wait).ConfigureAwait(false);
                if (outcome == Wait.Unreachable)
                {
                    Fail("client unreachable (ICMP)", null);
                    return;
                }

                if (outcome == Wait.TimedOut)
                {
                    if (++retries > _options.Retries)
                    {
                        Fail($"timed out waiting for ACK of block {first} after {retries - 1} retransmissions", null);
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
                    Fail($"client sent ERROR {(int)packet.ErrorCode} '{packet.ErrorMessage}'", packet.ErrorCode);
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

                try
                {
                    await SendWindowAsync().ConfigureAwait(false);
                }
                catch (IOException e)
                {
                    await SendErrorAsync(TftpErrorCode.NotDefined, "File changed").ConfigureAwait(false);
                    Fail(e.Message, null);
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

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<(Wait Outcome, int Length)> ReceiveAsync(byte[] buffer, TimeSpan timeout)
    {
        _timer.CancelAfter(timeout);
        try
        {
            var n = await _socket!.ReceiveAsync(buffer.AsMemory(0, ReceiveBufferLength), SocketFlags.None, _timer.Token).ConfigureAwait(false);
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

    private async Task RefuseAsync(TftpErrorCode code, string message, string reason)
    {
        TftpLog.Refused(_server.Logger, _client, _request.FileName, reason, (int)code);
        await SendErrorAsync(code, message).ConfigureAwait(false);
        _server.Report(Record(0, null), reason);
    }

    private async Task SendErrorAsync(TftpErrorCode code, string message)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(TftpWriter.GetErrorLength(message));
        try
        {
            TftpWriter.TryWriteError(buffer, code, message, out var written);
            if (_segmented && written > TftpPacket.HeaderLength + _blockSize)
            {
                UdpSegmentation.TrySet(_socket!, 0); // an ERROR longer than a DATA packet must not be split
            }

            await _socket!.SendAsync(buffer.AsMemory(0, written), SocketFlags.None, _stop).ConfigureAwait(false);
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
        var duration = Stopwatch.GetElapsedTime(_started);
        var seconds = Math.Max(duration.TotalSeconds, 1e-6);
        TftpLog.Completed(
            _server.Logger, _client, _resolved ?? _request.FileName, bytes, (long)duration.TotalMilliseconds,
            Math.Round(bytes / seconds / 1_000_000, 1), _blockSize, _windowSize);
        _server.Report(Record(bytes, null), null);
    }

    private void Fail(string reason, TftpErrorCode? clientError)
    {
        var duration = Stopwatch.GetElapsedTime(_started);
        TftpLog.Failed(_server.Logger, _client, _resolved ?? _request.FileName, _acknowledgedBytes, (long)duration.TotalMilliseconds, reason);
        _server.Report(Record(_acknowledgedBytes, clientError), reason);
    }

    private TftpTransferRecord Record(long bytes, TftpErrorCode? clientError) => new(
        _client, _request.FileName, _resolved, bytes, Stopwatch.GetElapsedTime(_started), _blockSize, _windowSize, clientError);
}
