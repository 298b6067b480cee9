using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Provisioner.Edge.Http;

/// <summary>
/// The HTTP side of a network boot, hosted by the integrator on its own Kestrel listener (<c>edge.http.listen</c>),
/// apart from the admin API:
/// <code>
/// GET      /boot/{mac}.ipxe     iPXE script: install (from the profile), local disk (installed), or a message
/// GET/HEAD /assets/{**path}     files under http.assets; ?mac= on a kernel/initrd reports the fetch
/// GET/HEAD /nbp/{**path}        network boot programs (the TFTP root) for UEFI HTTP-boot firmware: NbpServed
/// GET      /ks/{token}          the kickstart of exactly the machine the token names
/// GET/POST /phone-home/{token}  %post: installed
/// GET/POST /booted/{token}      first boot of the installed system: done
/// </code>
/// </summary>
public static class BootEndpoints
{
    private static readonly string[] GetHead = [HttpMethods.Get, HttpMethods.Head];
    private static readonly string[] GetPost = [HttpMethods.Get, HttpMethods.Post];

    public static IEndpointRouteBuilder Map(IEndpointRouteBuilder routes)
    {
        ArgumentNullException.ThrowIfNull(routes);
        routes.MapGet("/boot/{mac}.ipxe", (string mac, HttpContext context, BootHttpHandler handler) => handler.BootScriptAsync(mac, context));
        routes.MapMethods("/assets/{**path}", GetHead, (string? path, HttpContext context, BootHttpHandler handler) => handler.AssetAsync(path, context));
        routes.MapMethods("/nbp/{**path}", GetHead, (string? path, HttpContext context, NbpHttpHandler handler) => handler.NbpAsync(path, context));
        routes.MapGet("/ks/{token}", (string token, HttpContext context, BootHttpHandler handler) => handler.KickstartAsync(token, context));
        routes.MapMethods("/phone-home/{token}", GetPost, (string token, HttpContext context, BootHttpHandler handler) => handler.PhoneHomeAsync(token, context));
        routes.MapMethods("/booted/{token}", GetPost, (string token, HttpContext context, BootHttpHandler handler) => handler.BootedAsync(token, context));
        return routes;
    }

    /// <summary>
    /// Registers <see cref="BootHttpHandler"/>, <see cref="NbpHttpHandler"/> (and <see cref="TimeProvider.System"/> if no clock is registered). The
    /// integrator also registers <see cref="IMachineGateway"/>, <see cref="Domain.Profiles.ProfileCatalog"/>,
    /// <see cref="Domain.Profiles.KickstartTokens"/>, <see cref="BootHttpOptions"/>, <see cref="Clients.ClientAddressBook"/>, <see cref="Outage.ReportOutbox"/> and, optionally, <see cref="IMachineHostnames"/>.
    /// </summary>
    public static IServiceCollection AddBootEndpoints(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<BootHttpHandler>();
        services.TryAddSingleton<NbpHttpHandler>();
        return services;
    }
}
