using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using Provisioner.Domain.Machines;
using static Provisioner.Domain.Machines.MachineCommands;

namespace Provisioner.Edge.Tests.Http;

/// <summary>
/// Large whole files written with sendfile(2) on the request's own connection (<see cref="Edge.Http.SendFileResponse"/>),
/// checked on the wire: raw sockets, so the connection's fate (closed or kept) and every byte after the headers are seen.
/// </summary>
public sealed class SendFileResponseTests
{
    private const int BigLength = 8 * 1024 * 1024;

    private static readonly MachineId Mac = MachineId.Parse("aa:bb:cc:dd:ee:ff");

    [Fact]
    public async Task Large_whole_file_is_sent_exactly_with_its_headers_and_then_the_connection_closes()
    {
        await using var http = await BootHttpFixture.StartWithCacheLimitAsync(500);
        var big = WriteBig(http);
        using var connection = await ConnectAsync(http);

        await SendAsync(connection, "GET /assets/os/big.bin HTTP/1.1\r\nHost: edge\r\n\r\n");
        var response = await ReadResponseAsync(connection);

        Assert.Equal(200, response.Status);
        Assert.Equal(big, response.Body);
        Assert.Equal(BigLength.ToString(System.Globalization.CultureInfo.InvariantCulture), response.Headers["content-length"]);
        Assert.Equal("close", response.Headers["connection"]);
        Assert.Equal("application/octet-stream", response.Headers["content-type"]);
        Assert.Equal("bytes", response.Headers["accept-ranges"]);
        Assert.StartsWith("\"", response.Headers["etag"], StringComparison.Ordinal);
        Assert.True(DateTimeOffset.TryParse(response.Headers["last-modified"], out _));
        Assert.Equal(0, await ReadToEndAsync(connection)); // the server closed it, nothing after the body
    }

    [Fact]
    public async Task A_client_that_keeps_the_connection_after_the_body_does_not_hold_up_the_node_stopping()
    {
        var http = await BootHttpFixture.StartWithCacheLimitAsync(500);
        var big = WriteBig(http);
        using var connection = await ConnectAsync(http);
        await SendAsync(connection, "GET /assets/os/big.bin HTTP/1.1\r\nHost: edge\r\n\r\n");
        Assert.Equal(big, (await ReadResponseAsync(connection)).Body);

        // As iPXE does when it starts the kernel: every byte read, the connection never closed.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await http.DisposeAsync();

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"stopping took {clock.Elapsed}");
    }

    [Fact]
    public async Task Its_etag_revalidates_and_ranges_of_it_take_kestrels_path()
    {
        await using var http = await BootHttpFixture.StartWithCacheLimitAsync(500);
        var big = WriteBig(http);

        var whole = await http.Client.GetAsync("/assets/os/big.bin");
        using var revalidate = new HttpRequestMessage(HttpMethod.Get, "/assets/os/big.bin");
        revalidate.Headers.IfNoneMatch.Add(whole.Headers.ETag!);
        using var range = new HttpRequestMessage(HttpMethod.Get, "/assets/os/big.bin");
        range.Headers.Range = new RangeHeaderValue(BigLength - 100, null);

        Assert.Equal(big, await whole.Content.ReadAsByteArrayAsync());
        Assert.True(whole.Headers.ConnectionClose);
        Assert.Equal(HttpStatusCode.NotModified, (await http.Client.SendAsync(revalidate)).StatusCode);
        var tail = await http.Client.SendAsync(range);
        Assert.Equal(HttpStatusCode.PartialContent, tail.StatusCode);
        Assert.Equal(big[^100..], await tail.Content.ReadAsByteArrayAsync());
        Assert.NotEqual(true, tail.Headers.ConnectionClose);
    }

    [Fact]
    public async Task A_later_request_on_a_kept_connection_takes_kestrels_path_even_when_pipelined()
    {
        await using var http = await BootHttpFixture.StartWithCacheLimitAsync(500);
        var big = WriteBig(http);
        using var connection = await ConnectAsync(http);

        // Both requests in one write: the second is parsed while the first response may still be queued in Kestrel.
        await SendAsync(connection,
            "GET /assets/os/readme.txt HTTP/1.1\r\nHost: edge\r\n\r\n" +
            "GET /assets/os/big.bin HTTP/1.1\r\nHost: edge\r\n\r\n");
        var first = await ReadResponseAsync(connection);
        var second = await ReadResponseAsync(connection);
        await SendAsync(connection, "GET /assets/os/readme.txt HTTP/1.1\r\nHost: edge\r\n\r\n");
        var third = await ReadResponseAsync(connection);

        Assert.Equal("not a boot file", Encoding.ASCII.GetString(first.Body));
        Assert.Equal(200, second.Status);
        Assert.Equal(big, second.Body);
        Assert.False(second.Headers.ContainsKey("connection"));
        Assert.Equal("not a boot file", Encoding.ASCII.GetString(third.Body)); // the connection was kept
    }

    [Fact]
    public async Task With_sendfile_off_a_large_file_goes_through_kestrel_and_connections_are_kept()
    {
        await using var http = await BootHttpFixture.StartWithCacheLimitAsync(500, sendFile: false);
        var big = WriteBig(http);

        var response = await http.Client.GetAsync("/assets/os/big.bin");
        using var ipxe = new HttpRequestMessage(HttpMethod.Get, "/boot/aa:bb:cc:dd:ee:ff.ipxe");
        ipxe.Headers.UserAgent.ParseAdd("iPXE/1.21.1+");
        var script = await http.Client.SendAsync(ipxe);

        Assert.Equal(big, await response.Content.ReadAsByteArrayAsync());
        Assert.NotEqual(true, response.Headers.ConnectionClose);
        Assert.NotEqual(true, script.Headers.ConnectionClose); // nothing to gain from a fresh connection then
    }

    [Fact]
    public async Task A_kernel_sent_with_sendfile_is_reported_to_its_machine_and_a_head_is_not()
    {
        await using var http = await BootHttpFixture.StartWithCacheLimitAsync(500); // the 1000-byte kernel is not cached
        using var head = new HttpRequestMessage(HttpMethod.Head, "/assets/os/vmlinuz?mac=aa:bb:cc:dd:ee:ff");
        Assert.Equal(HttpStatusCode.OK, (await http.Client.SendAsync(head)).StatusCode);
        Assert.Empty(http.Gateway.Commands);
        using var connection = await ConnectAsync(http);

        await SendAsync(connection, "GET /assets/os/vmlinuz?mac=aa:bb:cc:dd:ee:ff HTTP/1.1\r\nHost: edge\r\n\r\n");
        var response = await ReadResponseAsync(connection);

        Assert.Equal(http.Kernel, response.Body);
        Assert.Equal("close", response.Headers["connection"]);
        Assert.Equal("os/vmlinuz", Assert.Single(await http.Gateway.SentEventuallyAsync<ReportKernelFetched>(Mac)).Path);
    }

    [Fact]
    public async Task A_client_that_leaves_mid_file_is_not_reported_and_the_server_keeps_serving()
    {
        await using var http = await BootHttpFixture.StartWithCacheLimitAsync(500);
        var huge = new byte[64 * 1024 * 1024];
        Random.Shared.NextBytes(huge);
        File.WriteAllBytes(Path.Combine(http.AssetsDir, "os", "initrd.img"), huge);
        using (var connection = await ConnectAsync(http))
        {
            connection.ReceiveBufferSize = 4096;
            await SendAsync(connection, "GET /assets/os/initrd.img?mac=aa:bb:cc:dd:ee:ff HTTP/1.1\r\nHost: edge\r\n\r\n");
            var some = new byte[4096];
            Assert.True(await connection.ReceiveAsync(some) > 0);
            connection.LingerState = new LingerOption(true, 0); // leave with a reset, the rest unread
        }

        var again = await http.Client.GetByteArrayAsync("/assets/os/initrd.img");

        Assert.Equal(huge, again);
        await Task.Delay(200); // a report would have been sent right after the send completed
        Assert.Empty(http.Gateway.Sent<ReportInitrdFetched>(Mac));
    }

    private static byte[] WriteBig(BootHttpFixture http)
    {
        var big = new byte[BigLength];
        new Random(7).NextBytes(big);
        File.WriteAllBytes(Path.Combine(http.AssetsDir, "os", "big.bin"), big);
        return big;
    }

    private static async Task<Socket> ConnectAsync(BootHttpFixture http)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveTimeout = 30_000 };
        await socket.ConnectAsync(new Uri(http.BaseUrl).Host, new Uri(http.BaseUrl).Port);
        return socket;
    }

    private static async Task SendAsync(Socket socket, string request) =>
        await socket.SendAsync(Encoding.ASCII.GetBytes(request));

    /// <summary>Bytes left until the peer closes (bounded by 30 s).</summary>
    private static async Task<int> ReadToEndAsync(Socket socket)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var total = 0;
        var buffer = new byte[65536];
        int n;
        while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0)
        {
            total += n;
        }

        return total;
    }

    private sealed record RawResponse(int Status, Dictionary<string, string> Headers, byte[] Body);

    /// <summary>One HTTP/1.1 response with a Content-Length body, read byte by byte up to the blank line, then exactly the body.</summary>
    private static async Task<RawResponse> ReadResponseAsync(Socket socket)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var head = new List<byte>();
        var one = new byte[1];
        while (head.Count < 4 || !(head[^4] == '\r' && head[^3] == '\n' && head[^2] == '\r' && head[^1] == '\n'))
        {
            if (await socket.ReceiveAsync(one, SocketFlags.None, timeout.Token) == 0)
            {
                throw new IOException($"closed inside the headers after {head.Count} bytes");
            }

            head.Add(one[0]);
        }

        var lines = Encoding.ASCII.GetString(head.ToArray()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        var status = int.Parse(lines[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        var headers = lines.Skip(1).Select(l => l.Split(':', 2)).ToDictionary(p => p[0].Trim().ToLowerInvariant(), p => p[1].Trim());
        var body = new byte[int.Parse(headers["content-length"], System.Globalization.CultureInfo.InvariantCulture)];
        var read = 0;
        while (read < body.Length)
        {
            var n = await socket.ReceiveAsync(body.AsMemory(read), SocketFlags.None, timeout.Token);
            if (n == 0)
            {
                throw new IOException($"closed after {read} of {body.Length} body bytes");
            }

            read += n;
        }

        return new RawResponse(status, headers, body);
    }
}
