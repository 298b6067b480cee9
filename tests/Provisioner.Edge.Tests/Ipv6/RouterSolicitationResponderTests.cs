using Microsoft.Extensions.Logging.Abstractions;
using Provisioner.Edge.Ipv6;

namespace Provisioner.Edge.Tests.Ipv6;

public sealed class RouterSolicitationResponderTests
{
    [Fact]
    public async Task Disposing_twice_is_harmless()
    {
        // The host stops the responder, then the container disposes it: the second call used to throw
        // ObjectDisposedException and crash `provisioner serve` on SIGTERM.
        var responder = new RouterSolicitationResponder("lo", NullLogger<RouterSolicitationResponder>.Instance);

        await responder.DisposeAsync();
        await responder.DisposeAsync();
    }
}
