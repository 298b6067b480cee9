using Akka.Actor;
using Akka.Hosting;
using Provisioner.Cluster.Hosting;
using Provisioner.Cluster.Machines;
using Provisioner.Domain.Profiles;
using Provisioner.Edge;
using Provisioner.Cluster.Leases;
using Provisioner.Edge.Clients;
using Provisioner.Edge.Dhcp;
using Provisioner.Edge.Http;
using Provisioner.Edge.Ipv6;
using Provisioner.Edge.Tftp;

namespace Provisioner.Host;

/// <summary>
/// Wires the edge services a node's HOCON enables (<c>provisioner.edge.*.enabled</c>) into <c>provisioner serve</c>:
/// TFTP and DHCP as hosted services on the configured interface, the HTTP boot endpoints on their own listener.
/// Everything is validated here, at start-up, so a bad profile or key stops the node with file, line and reason.
/// </summary>
public static class EdgeServices
{
    public sealed record Plan(bool Tftp, bool Http, bool Dhcp, string? HttpListen);

    public static Plan Add(WebApplicationBuilder builder, ProvisionerSettings settings)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(settings);

        var services = builder.Services;
        services.AddSingleton<IMachineGateway>(sp => new ClusterMachineGateway(
            sp.GetRequiredService<IRequiredActor<MachineRegion>>(),
            settings.AskTimeout,
            sp.GetService<BootHttpOptions>() is { StateCacheMachines: > 0 } http
                ? new MachineStateCache(sp.GetRequiredService<ActorSystem>(), settings.AskTimeout, http.StateCacheMachines)
                : null));
        services.AddSingleton(_ => new ClientAddressBook());

        if (!settings.IsEdge || !settings.Hocon.HasPath("provisioner.edge"))
        {
            return new Plan(false, false, false, null);
        }

        var edge = settings.Hocon.GetConfig("provisioner.edge");

        var tftp = TftpServerOptions.FromConfig(edge);
        var dhcp = DhcpServerOptions.FromConfig(edge);
        // One boot policy for DHCP, TFTP and HTTP alike.
        var bootPolicy = BootPolicy.For(dhcp);
        services.AddSingleton<IBootPolicy>(bootPolicy);
        if (tftp.Enabled)
        {
            var source = edge.GetString("tftp.nbp-source", "/usr/lib/ipxe");
            if (Path.GetFullPath(source) != Path.GetFullPath(tftp.Root))
            {
                using var loggers = LoggerFactory.Create(l => l.AddSimpleConsole(o => o.SingleLine = true));
                NbpStaging.Stage(source, tftp.Root, bootPolicy.NetworkBootPrograms, loggers.CreateLogger(typeof(NbpStaging)));
            }

            services.AddSingleton(tftp);
            services.AddSingleton<ITftpTransferObserver, NbpReporter>();
            services.AddSingleton<TftpServer>();
            services.AddHostedService<TftpHostedService>();
        }

        if (dhcp.Enabled)
        {
            services.AddSingleton(dhcp);
            services.AddSingleton<ILeaseGateway>(sp => new RecordingLeaseGateway(
                new ClusterLeaseGateway(sp.GetRequiredService<IRequiredActor<SubnetLeaseRegion>>(), settings.AskTimeout),
                sp.GetRequiredService<ClientAddressBook>()));
            services.AddSingleton(sp =>
            {
                var catalog = sp.GetService<ProfileCatalog>();
                return new DhcpHandler(
                    dhcp,
                    sp.GetRequiredService<ILeaseGateway>(),
                    sp.GetRequiredService<IMachineGateway>(),
                    sp.GetRequiredService<TimeProvider>(),
                    sp.GetRequiredService<ILogger<DhcpHandler>>(),
                    catalog is null ? null : (mac, address) => catalog.Resolve(mac, address).Profile?.Name,
                    sp.GetRequiredService<IBootPolicy>());
            });
            services.AddSingleton(sp => new DhcpServer(dhcp, sp.GetRequiredService<DhcpHandler>(), sp.GetRequiredService<ILogger<DhcpServer>>(), sp.GetRequiredService<TimeProvider>()));
            services.AddHostedService<DhcpHostedService>();
        }

        if (edge.GetBoolean("ipv6.answer-router-solicitations", false))
        {
            var name = edge.GetString("interface", string.Empty);
            if (string.IsNullOrEmpty(name))
            {
                throw new Akka.Configuration.ConfigurationException("provisioner.edge.ipv6.answer-router-solicitations: needs provisioner.edge.interface");
            }

            services.AddSingleton(sp => new RouterSolicitationResponder(name, sp.GetRequiredService<ILogger<RouterSolicitationResponder>>()));
            services.AddHostedService<RouterAdvertisementHostedService>();
        }

        string? httpListen = null;
        var httpEnabled = edge.GetBoolean("http.enabled", false);
        if (httpEnabled)
        {
            var http = BootHttpOptions.FromConfig(edge, settings.DataDirectory);
            var catalog = ProfileCatalog.Load(http.ConfigDirectory);
            Directory.CreateDirectory(settings.DataDirectory);
            var tokens = KickstartTokens.FromSecret(TokenSecret.LoadOrCreate(http.TokenKeyPath));
            services.AddSingleton(http);
            services.AddSingleton(catalog);
            services.AddSingleton(tokens);
            services.AddSingleton<IMachineHostnames>(new ReservationHostnames(dhcp.Subnets));
            services.AddBootEndpoints();
            httpListen = http.Listen;
        }

        return new Plan(tftp.Enabled, httpEnabled, dhcp.Enabled, httpListen);
    }

    private sealed class RouterAdvertisementHostedService(RouterSolicitationResponder responder) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            responder.Start();
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => responder.DisposeAsync().AsTask();
    }

    private sealed class DhcpHostedService(DhcpServer server) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            server.Start();
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => server.StopAsync();
    }

    private sealed class TftpHostedService(TftpServer server) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => server.StartAsync(cancellationToken);

        public Task StopAsync(CancellationToken cancellationToken) => server.StopAsync(cancellationToken);
    }
}
