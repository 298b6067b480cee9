using System.Net;
using System.Net.Sockets;
using System.Text;
using Provisioner.Domain.Machines;
using static Provisioner.Domain.Machines.MachineCommands;

namespace Provisioner.Edge.Tests.Http;

/// <summary><c>/nbp/</c>: network boot programs for UEFI HTTP-boot firmware, from the TFTP root.</summary>
public sealed class NbpEndpointTests
{
    private static readonly MachineId Mac = MachineId.Parse("52:54:00:77:00:03");

    /// <summary>
    /// What EDK2's HttpBootDxe sends (seen in the lab capture, UefiHttpBootTests): HEAD for the size, then GET on the
    /// same connection, <c>User-Agent: UefiHttpBoot/1.0</c>, and a Host header without the port.
    /// </summary>
    [Theory]
    [InlineData(1024 * 1024)] // from memory
    [InlineData(500)] // from disk: over http.cache-max-file-bytes
    public async Task Edk2s_head_then_get_gets_the_length_without_a_body_then_the_nbp_and_the_machine_records_it(long cacheMaxFileBytes)
    {
        await using var http = await BootHttpFixture.StartWithCacheLimitAsync(cacheMaxFileBytes);
        http.Addresses.Record(IPAddress.Loopback, Mac);
        var port = new Uri(http.BaseUrl).Port;
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        var stream = tcp.GetStream();
        stream.ReadTimeout = 10_000;

        await SendAsync(stream, "HEAD");
        var (headStatus, headHeaders) = await ReadHeadAsync(stream);
        Assert.Equal(200, headStatus);
        Assert.Equal(http.Nbp.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), headHeaders["content-length"]);
        Assert.Empty(http.Gateway.Sent<ReportNbpServed>(Mac)); // a HEAD downloads nothing

        // No body after HEAD: the next bytes on the connection are the GET's status line.
        await SendAsync(stream, "GET");
        var (getStatus, getHeaders) = await ReadHeadAsync(stream);
        Assert.Equal(200, getStatus);
        var length = int.Parse(getHeaders["content-length"], System.Globalization.CultureInfo.InvariantCulture);
        var body = new byte[length];
        await stream.ReadExactlyAsync(body);
        Assert.Equal(http.Nbp, body);

        var served = Assert.Single(await http.Gateway.SentEventuallyAsync<ReportNbpServed>(Mac));
        Assert.Equal("ipxe.efi", served.File);
    }

    [Fact]
    public async Task Nbp_fetched_by_an_address_no_machine_was_given_is_served_and_reported_to_nobody()
    {
        await using var http = await BootHttpFixture.StartAsync();

        Assert.Equal(http.Nbp, await http.Client.GetByteArrayAsync("/nbp/ipxe.efi"));
        Assert.Equal(HttpStatusCode.NotFound, (await http.Client.GetAsync("/nbp/missing.efi")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.Client.GetAsync("/nbp/..%2Fassets%2Fos%2Fvmlinuz")).StatusCode);
        await Task.Delay(200);
        Assert.Empty(http.Gateway.Commands);
        Assert.Contains(http.Logs.Entries, e => e.Message.Contains("no machine is known at that address", StringComparison.Ordinal));
    }

    private static Task SendAsync(NetworkStream stream, string method) =>
        stream.WriteAsync(Encoding.ASCII.GetBytes(
            $"{method} /nbp/ipxe.efi HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: */*\r\nUser-Agent: UefiHttpBoot/1.0\r\n\r\n")).AsTask();

    /// <summary>Reads a status line and headers byte by byte (so nothing of a following body is consumed).</summary>
    private static async Task<(int Status, Dictionary<string, string> Headers)> ReadHeadAsync(NetworkStream stream)
    {
        var text = new StringBuilder();
        var one = new byte[1];
        while (!text.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            await stream.ReadExactlyAsync(one);
            text.Append((char)one[0]);
            Assert.True(text.Length < 8192, "response head too long");
        }

        var lines = text.ToString().Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        var headers = lines.Skip(1).Select(l => l.Split(':', 2)).ToDictionary(p => p[0].Trim().ToLowerInvariant(), p => p[1].Trim());
        return (int.Parse(lines[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture), headers);
    }
}
