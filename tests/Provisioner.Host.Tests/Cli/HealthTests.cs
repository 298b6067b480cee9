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
        using (var up = await http.GetAsync(new Uri("/healthz", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.OK, up.StatusCode);
            Assert.Equal("ok\n", await up.Content.ReadAsStringAsync());
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
