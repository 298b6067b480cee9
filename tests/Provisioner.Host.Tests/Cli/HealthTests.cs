using System.Net;
using Microsoft.Extensions.DependencyInjection;

namespace Provisioner.Host.Tests.Cli;

/// <summary>
/// <c>/healthz</c>: 200 "ok" once the node is up and nothing is being prepared; 503 naming what is still being
/// prepared (the DHCP warm-up) so that whoever waits for it starts sending when the node answers at its rate.
/// </summary>
public sealed class HealthTests
{
    [Fact]
    public async Task Healthz_answers_503_naming_what_is_being_prepared_and_ok_once_it_is_ready()
    {
        await using var node = await LiveNode.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(node.Server), Timeout = TimeSpan.FromSeconds(10) };
        var readiness = node.Services.GetRequiredService<NodeReadiness>();
        // Right after the start the node may still be joining its own cluster (seen under CI load): that is a 503 too,
        // and it must say so. Bounded wait for the first ok.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            using var up = await http.GetAsync(new Uri("/healthz", UriKind.Relative));
            var body = await up.Content.ReadAsStringAsync();
            if (up.StatusCode == HttpStatusCode.OK)
            {
                Assert.Equal("ok\n", body);
                break;
            }

            Assert.Equal(HttpStatusCode.ServiceUnavailable, up.StatusCode);
            Assert.True(body.StartsWith("cluster member is ", StringComparison.Ordinal) || body.StartsWith("preparing: ", StringComparison.Ordinal), $"a 503 that does not say why: '{body}'");
            Assert.True(DateTime.UtcNow < deadline, $"/healthz still answered '{body.TrimEnd()}' 30 s after the start");
            await Task.Delay(100);
        }

        readiness.Preparing("dhcp", "waking subnets and warming up");
        using (var preparing = await http.GetAsync(new Uri("/healthz", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, preparing.StatusCode);
            Assert.Equal("preparing: dhcp: waking subnets and warming up\n", await preparing.Content.ReadAsStringAsync());
        }

        readiness.Ready("dhcp");
        using var ready = await http.GetAsync(new Uri("/healthz", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
    }
}
