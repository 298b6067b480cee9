using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Net.Http.Headers;

namespace Provisioner.Edge.Http;

/// <summary>
/// A whole large asset written by the kernel: <c>sendfile(2)</c> from the page cache straight onto the connection's
/// socket, as nginx serves files. Kestrel's own file path reads each block into a buffer and writes it to the
/// socket, two copies through user space per byte; on a 30 MiB initrd that measured 0.7x nginx.
/// <para>
/// Kestrel knows nothing of bytes written past it, so such a response takes its connection over: it writes the
/// status line and headers (<c>Connection: close</c>) and the file itself, closes its sending side, and aborts the
/// request so that Kestrel writes nothing after it. The client then opens a new connection for its next request,
/// which costs nothing next to megabytes of file. It is used only where that is safe, everything else takes
/// Kestrel's path (which implements ranges and revalidation):
/// <list type="bullet">
/// <item>the first request on its connection (<see cref="UseConnectionRequestCount"/> counts them), so nothing
/// Kestrel wrote for an earlier request can still be queued ahead of these bytes;</item>
/// <item>a GET over HTTP/1.x without a body, <c>Range</c> or conditional headers;</item>
/// <item>a file not served from memory (larger than <c>http.cache-max-file-bytes</c>), with <c>http.sendfile = on</c>.</item>
/// </list>
/// </para>
/// </summary>
public static class SendFileResponse
{
    /// <summary>Kestrel's default minimum response rate: a reader slower than this, after a 5 s grace, is cut off.</summary>
    private const double MinBytesPerSecond = 240;

    /// <summary>How long a client that has every byte may keep the connection before it is closed under it.</summary>
    private static readonly TimeSpan LingerLimit = TimeSpan.FromMinutes(2);

    private static readonly object CountKey = new();

    /// <summary>
    /// Counts the requests on each connection (in the connection's items) so <see cref="CanTake"/> knows a first
    /// request. Without it no response is sent with sendfile.
    /// </summary>
    public static IApplicationBuilder UseConnectionRequestCount(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        return app.Use(static (context, next) =>
        {
            if (context.Features.Get<IConnectionItemsFeature>()?.Items is { } items)
            {
                if (items.TryGetValue(CountKey, out var value) && value is RequestCount count)
                {
                    count.Value++;
                }
                else
                {
                    items[CountKey] = new RequestCount();
                }
            }

            return next(context);
        });
    }

    /// <summary>Whether this request may be answered with <see cref="SendAsync"/> (see the class summary).</summary>
    public static bool CanTake(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var request = context.Request;
        var headers = request.Headers;
        return HttpMethods.IsGet(request.Method)
            && (HttpProtocol.IsHttp11(request.Protocol) || HttpProtocol.IsHttp10(request.Protocol))
            && !context.Response.HasStarted
            && request.ContentLength is null or 0
            && headers.TransferEncoding.Count == 0
            && headers.Range.Count == 0
            && headers.IfMatch.Count == 0
            && headers.IfNoneMatch.Count == 0
            && headers.IfModifiedSince.Count == 0
            && headers.IfUnmodifiedSince.Count == 0
            && headers.IfRange.Count == 0
            && context.Features.Get<IConnectionItemsFeature>()?.Items is { } items
            && items.TryGetValue(CountKey, out var value) && value is RequestCount { Value: 1 }
            && context.Features.Get<IConnectionSocketFeature>()?.Socket is { Connected: true };
    }

    /// <summary>
    /// Writes a 200 with <paramref name="file"/>'s bytes, runs <paramref name="sent"/> once every byte is with the
    /// kernel, and ends the connection. False when that did not happen: the client went away or stalled, or the file
    /// could not be opened (nothing is reported then).
    /// </summary>
    public static async Task<bool> SendAsync(HttpContext context, FileInfo file, EntityTagHeaderValue etag, DateTimeOffset lastModified, string contentType, Func<Task> sent)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(etag);
        ArgumentNullException.ThrowIfNull(sent);
        var socket = context.Features.Get<IConnectionSocketFeature>()?.Socket
            ?? throw new InvalidOperationException("no socket under this connection; check CanTake first");
        var head = Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture,
            $"{context.Request.Protocol} 200 OK\r\nContent-Length: {file.Length}\r\nContent-Type: {contentType}\r\nDate: {HeaderUtilities.FormatDate(DateTimeOffset.UtcNow)}\r\nLast-Modified: {HeaderUtilities.FormatDate(lastModified)}\r\nETag: {etag}\r\nAccept-Ranges: bytes\r\nConnection: close\r\n\r\n"));
        context.Response.StatusCode = StatusCodes.Status200OK;

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        deadline.CancelAfter(TimeSpan.FromSeconds(Math.Min(5 + (file.Length / MinBytesPerSecond), int.MaxValue / 1000.0)));
        try
        {
            await socket.SendFileAsync(file.FullName, head, ReadOnlyMemory<byte>.Empty, TransmitFileOptions.UseDefaultWorkerThread, deadline.Token).ConfigureAwait(false);
            socket.Shutdown(SocketShutdown.Send); // FIN after the last byte
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException or IOException)
        {
            context.Abort();
            return false;
        }

        await sent().ConfigureAwait(false);
        // Aborting now lets Kestrel close the socket while the kernel still holds the tail of the file (up to a send
        // buffer): in the tests that close went out as a reset and the client lost the tail. So linger, as nginx
        // does: the client closes once it has read the body (Connection: close), which ends the request; a client
        // that does not (iPXE starts the kernel without closing) is cut off after LingerLimit, or when the node
        // stops: Kestrel would otherwise wait for this request through the whole of its shutdown timeout.
        deadline.CancelAfter(LingerLimit);
        var stopping = context.RequestServices?.GetService<IHostApplicationLifetime>()?.ApplicationStopping ?? CancellationToken.None;
        using var linger = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, stopping);
        try
        {
            await Task.Delay(Timeout.Infinite, linger.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        context.Abort();
        return true;
    }

    private sealed class RequestCount
    {
        public int Value { get; set; } = 1;
    }
}
