using Akka.Hosting;
using Provisioner.Cluster.Hosting;
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
        builder.WebHost.UseUrls(settings.AdminListen);
        builder.Services.AddSingleton(clock ?? TimeProvider.System);
        builder.Services.AddAkka(ProvisionerAkka.ActorSystemName, (akka, _) =>
        {
            akka.ConfigureLoggers(loggers =>
            {
                loggers.ClearLoggers();
                loggers.AddLoggerFactory();
            });
            akka.AddProvisioner(settings, clock);
        });

        var app = builder.Build();
        AdminApi.Map(app, settings);
        return app;
    }
}
