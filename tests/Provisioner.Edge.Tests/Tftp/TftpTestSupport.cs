using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Provisioner.Edge.Tftp;
using Provisioner.Protocols.Tftp;

namespace Provisioner.Edge.Tests.Tftp;

public sealed class RecordingObserver : ITftpTransferObserver
{
    public ConcurrentQueue<TftpTransferRecord> Completed { get; } = new();

    public ConcurrentQueue<(TftpTransferRecord Record, string Reason)> Failed { get; } = new();

    /// <summary>The name of the thread each report came on, in order (a dedicated transfer thread is named "tftp-transfer").</summary>
    public ConcurrentQueue<string> Threads { get; } = new();

    public void TransferCompleted(TftpTransferRecord record)
    {
        Threads.Enqueue(Thread.CurrentThread.Name ?? string.Empty);
        Completed.Enqueue(record);
    }

    public void TransferFailed(TftpTransferRecord record, string reason)
    {
        Threads.Enqueue(Thread.CurrentThread.Name ?? string.Empty);
        Failed.Enqueue((record, reason));
    }
}

public sealed class ListLogger<T> : ILogger<T>
{
    public ConcurrentQueue<(LogLevel Level, string Message)> Entries { get; } = new();

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    /// <summary>Lower levels are disabled (as Debug is in production), so callers must skip them.</summary>
    public LogLevel MinimumLevel { get; set; } = LogLevel.Trace;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= MinimumLevel;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (IsEnabled(logLevel))
        {
            Entries.Enqueue((logLevel, formatter(state, exception)));
        }
    }
}

/// <summary>A server on 127.0.0.1, port 0, over a fresh temporary root; disposing stops it and deletes the root.</summary>
public sealed class ServerScope : IAsyncDisposable
{
    private ServerScope(string root, TftpServer server, RecordingObserver observer, ListLogger<TftpServer> logger)
    {
        Root = root;
        Server = server;
        Observer = observer;
        Logger = logger;
    }

    public string Root { get; }

    public TftpServer Server { get; }

    public RecordingObserver Observer { get; }

    public ListLogger<TftpServer> Logger { get; }

    public IPEndPoint EndPoint => Server.LocalEndPoint!;

    public static async Task<ServerScope> StartAsync(Func<TftpServerOptions, TftpServerOptions>? configure = null, Action<string>? populate = null, ITftpVirtualFiles? virtualFiles = null)
    {
        var root = Path.Combine(Path.GetTempPath(), "tftp-test-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        populate?.Invoke(root);
        var options = new TftpServerOptions
        {
            Enabled = true,
            BindAddress = IPAddress.Loopback,
            Port = 0,
            Root = root,
            Timeout = TimeSpan.FromSeconds(5), // long: tests count DATA packets, a retransmission under load would skew them
            Retries = 5,
            CacheBytes = 64L * 1024 * 1024,
        };
        options = configure?.Invoke(options) ?? options;
        var observer = new RecordingObserver();
        var logger = new ListLogger<TftpServer>();
        var server = new TftpServer(options, observer, logger, virtualFiles: virtualFiles);
        await server.StartAsync(CancellationToken.None);
        return new ServerScope(root, server, observer, logger);
    }

    public string Write(string relative, byte[] content)
    {
        var path = Path.Combine(Root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, content);
        return path;
    }

    /// <summary>Waits until no transfer is running (the observer has been told about all of them).</summary>
    public async Task DrainAsync(TimeSpan? limit = null)
    {
        var deadline = DateTime.UtcNow + (limit ?? TimeSpan.FromSeconds(20));
        while (Server.ActiveTransfers > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        Assert.Equal(0, Server.ActiveTransfers);
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    public static byte[] RandomBytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}

public static class TftpSockets
{
    /// <summary>A UDP socket on 127.0.<paramref name="third"/>.<paramref name="fourth"/> (all of 127/8 is local on Linux), ephemeral port.</summary>
    public static Socket Loopback(int third = 0, int fourth = 1)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(new IPAddress([127, 0, (byte)third, (byte)fourth]), 0));
        return socket;
    }
}

/// <summary>A client driven packet by packet from a test, for sequences <see cref="TestTftpClient"/> does not make.</summary>
public static class TftpRaw
{
    private static readonly TimeSpan Reply = TimeSpan.FromSeconds(5);

    // Sends the RRQ and returns the transfer's TID with its first reply (DATA 1 without options, OACK with them).
    public static async Task<(IPEndPoint Tid, TftpOpcode Reply)> RequestAsync(Socket client, IPEndPoint server, string name, TftpOptions? options)
    {
        var request = TftpRequest.Read(name, TftpMode.Octet, options);
        var bytes = new byte[request.GetWrittenLength()];
        request.TryWrite(bytes, out _);
        client.SendTo(bytes, server);
        var buffer = new byte[70000];
        using var timeout = new CancellationTokenSource(Reply);
        var received = await client.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), timeout.Token);
        Assert.True(TftpPacket.TryParse(buffer.AsSpan(0, received.ReceivedBytes), out var packet, out _));
        return ((IPEndPoint)received.RemoteEndPoint, packet.Opcode);
    }

    public static async Task<TftpOpcode> ReceiveAsync(Socket client)
    {
        var buffer = new byte[70000];
        using var timeout = new CancellationTokenSource(Reply);
        var received = await client.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), timeout.Token);
        Assert.True(TftpPacket.TryParse(buffer.AsSpan(0, received.ReceivedBytes), out var packet, out _));
        return packet.Opcode;
    }

    public static async Task<int[]> ReceiveBlocksAsync(Socket client, int count)
    {
        var blocks = new int[count];
        var buffer = new byte[70000];
        for (var i = 0; i < count; i++)
        {
            using var timeout = new CancellationTokenSource(Reply);
            var received = await client.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), timeout.Token);
            Assert.True(TftpPacket.TryParse(buffer.AsSpan(0, received.ReceivedBytes), out var packet, out _));
            Assert.Equal(TftpOpcode.Data, packet.Opcode);
            blocks[i] = packet.Block;
        }

        return blocks;
    }

    public static void Ack(Socket client, IPEndPoint tid, ushort block)
    {
        var ack = new byte[4];
        TftpWriter.TryWriteAck(ack, block, out _);
        client.SendTo(ack, tid);
    }

    public static void SendError(Socket client, IPEndPoint tid)
    {
        var error = new byte[TftpWriter.GetErrorLength("abort")];
        TftpWriter.TryWriteError(error, TftpErrorCode.OptionNegotiationRefused, "abort", out var written);
        client.SendTo(error.AsSpan(0, written), tid);
    }
}

public static class Eventually
{
    /// <summary>Polls <paramref name="condition"/> every 10 ms until it holds; fails with <paramref name="what"/> after <paramref name="limit"/>.</summary>
    public static async Task TrueAsync(Func<bool> condition, string what, TimeSpan? limit = null)
    {
        var deadline = DateTime.UtcNow + (limit ?? TimeSpan.FromSeconds(10));
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"not within {limit ?? TimeSpan.FromSeconds(10)}: {what}");
            await Task.Delay(10);
        }
    }
}

/// <summary>A clock tests move by hand (Microsoft.Extensions.Time.Testing is not referenced here).</summary>
public sealed class StepClock : TimeProvider
{
    private long _ticks;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => Interlocked.Read(ref _ticks);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}
