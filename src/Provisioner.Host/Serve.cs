using Akka.Hosting;
using Provisioner.Cluster.Hosting;
using Provisioner.Cluster.Machines;
using Provisioner.Edge.Http;
using Provisioner.Host.Admin;

namespace Provisioner.Host;

/// <summary><c>provisioner serve</c>: one node (roles from its HOCON), the admin API on its configured address.</summary>
public static class Serve
{
    public static WebApplication Build(ProvisionerSettings settings, TimeProvider? clock = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
            o.UseUtcTimestamp = true;
        });
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        var edge = EdgeServices.Add(builder, settings);
        builder.WebHost.UseUrls(edge.HttpListen is null ? [settings.AdminListen] : [settings.AdminListen, edge.HttpListen]);
        builder.Services.AddSingleton(clock ?? TimeProvider.System);
        var newMachines = new NewMachineLimit(settings.MaxNewLive);
        builder.Services.AddSingleton(newMachines);
        builder.Services.AddAkka(ProvisionerAkka.ActorSystemName, (akka, _) =>
        {
            akka.ConfigureLoggers(loggers =>
            {
                loggers.ClearLoggers();
                loggers.AddLoggerFactory();
            });
            akka.AddProvisioner(settings, clock, newMachines);
        });

        var app = builder.Build();
        // One Kestrel, two listeners: the admin API answers only on its own port, the boot endpoints only on theirs
        // (decided by the local port the connection arrived on, never by the client's Host header).
        var bootPort = edge.HttpListen is null ? (int?)null : new Uri(edge.HttpListen.Replace("0.0.0.0", "localhost", StringComparison.Ordinal)).Port;
        AdminApi.Map(app, settings, bootPort);
        if (bootPort is { } port)
        {
            app.UseConnectionRequestCount();
            BootEndpoints.Map(app.MapGroup(string.Empty).AddEndpointFilter(async (context, next) =>
                context.HttpContext.Connection.LocalPort == port ? await next(context) : Results.NotFound()));
        }

        return app;
    }
}
