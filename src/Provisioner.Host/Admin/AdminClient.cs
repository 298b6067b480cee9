using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;

namespace Provisioner.Host.Admin;

/// <summary>A typed client for the admin API; the CLI's only way to talk to a node.</summary>
public sealed class AdminClient(HttpClient http) : IDisposable
{
    public static AdminClient Create(string server, string? token)
    {
        var http = new HttpClient { BaseAddress = new Uri(server.TrimEnd('/') + "/"), Timeout = TimeSpan.FromSeconds(30) };
        if (!string.IsNullOrEmpty(token))
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        http.DefaultRequestHeaders.Add("X-Requested-By", "cli:" + Environment.UserName);
        return new AdminClient(http);
    }

    public Task<MachineListDto> ListMachinesAsync(string? stage, CancellationToken ct = default) =>
        GetAsync<MachineListDto>("api/v1/machines" + (string.IsNullOrEmpty(stage) ? string.Empty : "?stage=" + Uri.EscapeDataString(stage)), ct);

    public Task<MachineDto> GetMachineAsync(string mac, CancellationToken ct = default) =>
        GetAsync<MachineDto>("api/v1/machines/" + Uri.EscapeDataString(mac), ct);

    public async Task<CommandResultDto> ReprovisionAsync(string mac, CancellationToken ct = default)
    {
        using var response = await Send(() => http.PostAsync(new Uri("api/v1/machines/" + Uri.EscapeDataString(mac) + "/reprovision", UriKind.Relative), null, ct));
        return await Read<CommandResultDto>(response, ct);
    }

    public Task<MachineWhereDto> GetMachineWhereAsync(string mac, CancellationToken ct = default) =>
        GetAsync<MachineWhereDto>("api/v1/machines/" + Uri.EscapeDataString(mac) + "/where", ct);

    public Task<ClusterDto> GetClusterAsync(CancellationToken ct = default) => GetAsync<ClusterDto>("api/v1/cluster", ct);

    public Task<ShardsDto> GetShardsAsync(CancellationToken ct = default) => GetAsync<ShardsDto>("api/v1/cluster/shards", ct);

    /// <param name="verb">"leave" or "down".</param>
    public async Task<MembershipResultDto> ChangeMembershipAsync(string verb, string node, CancellationToken ct = default)
    {
        using var response = await Send(() => http.PostAsJsonAsync(new Uri("api/v1/cluster/" + verb, UriKind.Relative), new MembershipRequestDto(node), AdminJson.Options, ct));
        return await Read<MembershipResultDto>(response, ct);
    }

    public async Task<SubnetHandoverDto> HandOverSubnetAsync(string subnet, string node, CancellationToken ct = default)
    {
        using var response = await Send(() => http.PostAsJsonAsync(new Uri($"api/v1/subnets/{Uri.EscapeDataString(subnet)}/handover", UriKind.Relative), new MembershipRequestDto(node), AdminJson.Options, ct));
        return await Read<SubnetHandoverDto>(response, ct);
    }

    public Task<NodeDto> GetNodeAsync(CancellationToken ct = default) => GetAsync<NodeDto>("api/v1/node", ct);

    public async Task<NodeDto> CollectGarbageAsync(CancellationToken ct = default)
    {
        using var response = await Send(() => http.PostAsync(new Uri("api/v1/node/gc", UriKind.Relative), null, ct));
        return await Read<NodeDto>(response, ct);
    }

    public void Dispose() => http.Dispose();

    private async Task<T> GetAsync<T>(string path, CancellationToken ct)
    {
        using var response = await Send(() => http.GetAsync(new Uri(path, UriKind.Relative), ct));
        return await Read<T>(response, ct);
    }

    private async Task<HttpResponseMessage> Send(Func<Task<HttpResponseMessage>> send)
    {
        try
        {
            return await send();
        }
        catch (HttpRequestException e)
        {
            throw new AdminApiException($"cannot reach the admin API at {http.BaseAddress}: {e.Message} (is `provisioner serve` running? set --server or PROVISIONER_SERVER)");
        }
        catch (TaskCanceledException)
        {
            throw new AdminApiException($"the admin API at {http.BaseAddress} did not answer in {http.Timeout.TotalSeconds:0} s");
        }
    }

    private static async Task<T> Read<T>(HttpResponseMessage response, CancellationToken ct)
    {
        if (!response.IsSuccessStatusCode && response.StatusCode != HttpStatusCode.Conflict)
        {
            ErrorDto? error = null;
            try
            {
                error = await response.Content.ReadFromJsonAsync<ErrorDto>(AdminJson.Options, ct);
            }
            catch (System.Text.Json.JsonException)
            {
            }

            throw new AdminApiException(error?.Error ?? $"admin API answered {(int)response.StatusCode} {response.ReasonPhrase}", response.StatusCode);
        }

        return await response.Content.ReadFromJsonAsync<T>(AdminJson.Options, ct)
            ?? throw new AdminApiException("admin API answered with an empty body");
    }
}

public sealed class AdminApiException(string message, HttpStatusCode? status = null) : Exception(message)
{
    public HttpStatusCode? Status { get; } = status;
}
