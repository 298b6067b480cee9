using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Provisioner.Host.Simulate;

/// <summary>
/// One machine's HTTP client: its own connections (a real machine shares none with its neighbours), from its leased
/// address when the host has it. iPXE fetches the script, kernel and initrd once each (a failed fetch fails the boot);
/// the installer's kickstart fetch and %post's phone-home retry like <c>curl --retry 5 --retry-delay 3</c>.
/// </summary>
public sealed class MachineHttp : IDisposable
{
    public const string IpxeAgent = "iPXE/1.21.1 (provisioner simulate)";
    public const string InstallerAgent = "anaconda/21.48.22.159 (provisioner simulate)";
    public const int Retries = 5;
    public static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(3);

    /// <summary>Scripts and kickstarts are small; a larger answer is not one.</summary>
    private const int MaxTextBytes = 1 << 20;

    private readonly HttpClient _http;

    public MachineHttp(IPAddress? source, SourceAddresses sources)
    {
        ArgumentNullException.ThrowIfNull(sources);
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = true,
            MaxAutomaticRedirections = 5,
            UseProxy = false,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectCallback = async (context, ct) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    sources.Bind(socket, source);
                    await socket.ConnectAsync(context.DnsEndPoint, ct).ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        _http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
    }

    /// <summary>GET a script or kickstart as text.</summary>
    public async Task<string> GetTextAsync(Uri url, string agent, bool retry, CancellationToken ct)
    {
        var body = await GetAsync(url, agent, retry, keep: true, ct).ConfigureAwait(false);
        return Encoding.UTF8.GetString(body.Text!);
    }

    /// <summary>GET a kernel or initrd to its end; its length must be the Content-Length announced. Returns the bytes read.</summary>
    public async Task<long> DownloadAsync(Uri url, CancellationToken ct) =>
        (await GetAsync(url, IpxeAgent, retry: false, keep: false, ct).ConfigureAwait(false)).Length;

    private async Task<(long Length, byte[]? Text)> GetAsync(Uri url, string agent, bool retry, bool keep, CancellationToken ct)
    {
        for (var attempt = 0; ; attempt++)
        {
            string failure;
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, url);
                request.Headers.TryAddWithoutValidation("User-Agent", agent);
                using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
                if (response.IsSuccessStatusCode)
                {
                    return await ReadAsync(response, keep, ct).ConfigureAwait(false);
                }

                failure = string.Create(CultureInfo.InvariantCulture, $"HTTP {(int)response.StatusCode} {response.ReasonPhrase}");
                if (!retry || !Transient(response.StatusCode))
                {
                    throw new SimulationFailedException(failure);
                }
            }
            catch (HttpRequestException e) when (!ct.IsCancellationRequested)
            {
                failure = "HTTP: " + (e.InnerException?.Message ?? e.Message);
                if (!retry)
                {
                    throw new SimulationFailedException(failure);
                }
            }

            if (attempt == Retries)
            {
                throw new SimulationFailedException($"{failure} (after {Retries} retries)");
            }

            await Task.Delay(RetryDelay, ct).ConfigureAwait(false);
        }
    }

    private static async Task<(long Length, byte[]? Text)> ReadAsync(HttpResponseMessage response, bool keep, CancellationToken ct)
    {
        var announced = response.Content.Headers.ContentLength;
        if (keep && announced > MaxTextBytes)
        {
            throw new SimulationFailedException($"a text of {announced} bytes, more than a script or kickstart can be");
        }

        await using var stream = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        using var text = keep ? new MemoryStream() : null;
        var buffer = new byte[64 * 1024];
        long length = 0;
        int read;
        while ((read = await stream.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
        {
            length += read;
            if (text is not null)
            {
                if (length > MaxTextBytes)
                {
                    throw new SimulationFailedException("a text of more than 1 MiB, more than a script or kickstart can be");
                }

                text.Write(buffer, 0, read);
            }
        }

        if (announced is { } expected && expected != length)
        {
            throw new SimulationFailedException(string.Create(CultureInfo.InvariantCulture, $"body ended after {length} of {expected} bytes"));
        }

        return (length, text?.ToArray());
    }

    /// <summary>What curl --retry retries: 408, 429, 500, 502, 503, 504.</summary>
    public static bool Transient(HttpStatusCode status) =>
        status is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests or HttpStatusCode.InternalServerError
            or HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout;

    public void Dispose() => _http.Dispose();
}
