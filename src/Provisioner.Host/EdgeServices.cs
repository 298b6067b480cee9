using Akka.Actor;
using Akka.Hosting;
using Provisioner.Cluster.Hosting;
using Provisioner.Cluster.Machines;
using Provisioner.Cluster.Persistence;
using Provisioner.Domain.Boot;
using Provisioner.Domain.Machines;
using Provisioner.Domain.Profiles;
using Provisioner.Edge;
using Provisioner.Cluster.Leases;
using Provisioner.Edge.Clients;
using Provisioner.Edge.Dhcp;
using Provisioner.Edge.Http;
using Provisioner.Edge.Ipv6;
using Provisioner.Edge.Outage;
using Provisioner.Edge.Tftp;

namespace Provisioner.Host;

/// <summary>
/// Wires the edge services a node's HOCON enables (<c>provisioner.edge.*.enabled</c>) into <c>provisioner serve</c>:
/// TFTP and DHCP as hosted services on the configured interface, the HTTP boot endpoints on their own listener.
/// Everything is validated here, at start-up, so a bad profile or key stops the node with file, line and reason.
/// </summary>
public static partial class EdgeServices
{
    public sealed record Plan(bool Tftp, bool Http, bool Dhcp, string? HttpListen);

    /// <summary>
    /// Asks every subnet this node serves to have the machine record a first boot still pending there (one ask per
    /// subnet, answered from memory when nothing is pending); null when this node answers no DHCP.
    /// </summary>
    private static Func<MachineId, CancellationToken, Task>? FirstBootFlush(IServiceProvider sp)
    {
        if (sp.GetService<DhcpServerOptions>() is not { Enabled: true } dhcp || dhcp.Subnets.Count == 0)
        {
            return null;
        }

        var logger = sp.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(EdgeServices));
        var leases = sp.GetRequiredService<ILeaseGateway>();
        return async (mac, ct) =>
        {
            try
            {
                await Task.WhenAll(dhcp.Subnets.Select(s => leases.FlushFirstBootAsync(s.Id, mac, ct))).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // the report goes on: at worst the machine rejects it, as it would have without the flush
            catch (Exception e)
#pragma warning restore CA1031
            {
                FlushFailed(logger, mac, e);
            }
        };
    }

    private static readonly Action<ILogger, MachineId, Exception?> FlushFailed =
        LoggerMessage.Define<MachineId>(LogLevel.Warning, new EventId(1, "FirstBootFlushFailed"), "machine {Mac}: could not have a pending first boot recorded before reporting to it");

    /// <summary>Which profile a machine gets, from the profile catalog when this node serves HTTP (null otherwise).</summary>
    private static Func<MachineId, Protocols.Dhcp.IPv4Address?, string?>? ProfileOf(IServiceProvider sp) =>
        sp.GetService<ProfileCatalog>() is { } catalog ? (mac, address) => catalog.Resolve(mac, address).Profile?.Name : null;

    public static Plan Add(WebApplicationBuilder builder, ProvisionerSettings settings)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(settings);

        var services = builder.Services;
        // First boots ride on the lease only where this node answers DHCP and owns its whole journal. A proxyDHCP node
        // that owns it knows its new machines too (its rate of new machines is bounded), but no first boot rides on a
        // lease there, so there is nothing to flush.
        services.AddSingleton(sp => sp.GetService<DhcpServerOptions>() switch
        {
            { Enabled: true, FirstBootOnLease: true } when settings.IsCore => new FirstBoots(JournalPresence.Get(sp.GetRequiredService<ActorSystem>()).Known, FirstBootFlush(sp)),
            { Enabled: true, Mode: DhcpMode.Proxy } when settings.IsCore => new FirstBoots(JournalPresence.Get(sp.GetRequiredService<ActorSystem>()).Known, flush: null),
            _ => FirstBoots.None,
        });
        services.AddSingleton<IMachineGateway>(sp => new ClusterMachineGateway(
            sp.GetRequiredService<IRequiredActor<MachineRegion>>(),
            settings.AskTimeout,
            sp.GetService<BootHttpOptions>() is { StateCacheMachines: > 0 } http
                ? new MachineStateCache(sp.GetRequiredService<ActorSystem>(), settings.AskTimeout, http.StateCacheMachines)
                : null,
            sp.GetRequiredService<FirstBoots>()));
        services.AddSingleton(_ => new ClientAddressBook());
        services.AddSingleton(_ => new NodeReadiness());

        if (!settings.IsEdge || !settings.Hocon.HasPath("provisioner.edge"))
        {
            return new Plan(false, false, false, null);
        }

        var edge = settings.Hocon.GetConfig("provisioner.edge");

        var tftp = TftpServerOptions.FromConfig(edge);
        var dhcp = DhcpServerOptions.FromConfig(edge);
        var outbox = ReportOutboxOptions.FromConfig(edge);

        // While no core node is reachable the edge answers from what it holds instead of waiting for asks that cannot be
        // answered: renewals from its memory of grants, reports into the outbox, delivered by its loop afterwards
        // (README, "When an edge cannot reach the cores").
        services.AddSingleton<ICoreReachability>(sp => new ClusterCoreReachability(
            sp.GetRequiredService<ActorSystem>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<ClusterCoreReachability>>()));
        services.AddSingleton(outbox);
        services.AddSingleton<ReportOutbox>();
        services.AddHostedService<ReportOutboxDelivery>();

        // The profiles and rules are read before the boot policy: a profile's boot chain or boot files, or a machine's
        // boot file, decide what DHCP names, and the files they name are staged into the TFTP root below.
        var httpEnabled = edge.GetBoolean("http.enabled", false);
        var http = httpEnabled ? BootHttpOptions.FromConfig(edge, settings.DataDirectory) : null;
        var catalog = http is null ? null : ProfileCatalog.Load(http.ConfigDirectory);
        var chains = catalog?.Profiles.Select(p => p.BootChain).ToHashSet() ?? [];

        // One boot policy for DHCP, TFTP and HTTP alike.
        var bootPolicy = BootPolicy.For(dhcp, catalog);
        services.AddSingleton<IBootPolicy>(bootPolicy);
        if (tftp.Enabled)
        {
            // Staged into the TFTP root: served there over TFTP, and at /nbp/ over HTTP to UEFI HTTP-boot firmware.
            var source = edge.GetString("tftp.nbp-source", "/usr/lib/ipxe");
            using var loggers = LoggerFactory.Create(l => l.AddSimpleConsole(o => o.SingleLine = true));
            if (Path.GetFullPath(source) != Path.GetFullPath(tftp.Root))
            {
                NbpStaging.Stage(source, tftp.Root, bootPolicy.NetworkBootPrograms, loggers.CreateLogger(typeof(NbpStaging)));
            }

            services.AddSingleton(tftp);
            if (chains.Contains(BootChain.Shim) || chains.Contains(BootChain.Grub))
            {
                var signed = new Dictionary<string, string>(StringComparer.Ordinal)
                {
                    [GrubChain.ShimFile] = edge.GetString("tftp.secure-boot.shim", "/usr/lib/shim/shimx64.efi.signed"),
                    [GrubChain.GrubFile] = edge.GetString("tftp.secure-boot.grub", "/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed"),
                };
                if (chains.Contains(BootChain.Grub))
                {
                    signed[GrubChain.GrubArm64File] = edge.GetString("tftp.secure-boot.grub-arm64", "/usr/lib/grub/arm64-efi-signed/grubnetaa64.efi.signed");
                }

                NbpStaging.StageSigned(tftp.Root, signed, loggers.CreateLogger(typeof(NbpStaging)));
                services.AddSingleton<GrubChainFiles>();
                services.AddSingleton<ITftpVirtualFiles>(sp => sp.GetRequiredService<GrubChainFiles>());
            }

            services.AddSingleton<ITftpTransferObserver, NbpReporter>();
            services.AddSingleton(sp => new TftpServer(
                tftp,
                sp.GetRequiredService<ITftpTransferObserver>(),
                sp.GetRequiredService<ILogger<TftpServer>>(),
                sp.GetService<TimeProvider>(),
                sp.GetService<ITftpVirtualFiles>()));
            services.AddHostedService<TftpHostedService>();
        }

        if (dhcp.Enabled)
        {
            services.AddSingleton(dhcp);
            services.AddSingleton(sp => new LeaseAsks(sp.GetRequiredService<ActorSystem>(), settings.AskTimeout));
            services.AddSingleton(sp => new ClusterLeaseGateway(sp.GetRequiredService<IRequiredActor<SubnetLeaseRegion>>(), settings.AskTimeout, sp.GetRequiredService<LeaseAsks>()));
            services.AddSingleton(sp => new RememberingLeaseGateway(
                sp.GetRequiredService<ClusterLeaseGateway>(),
                new RememberedLeases(dhcp.RememberedLeases),
                sp.GetRequiredService<ICoreReachability>()));
            services.AddSingleton<ILeaseGateway>(sp => new RecordingLeaseGateway(sp.GetRequiredService<RememberingLeaseGateway>(), sp.GetRequiredService<ClientAddressBook>()));
            services.AddSingleton(sp => new DhcpHandler(
                dhcp,
                sp.GetRequiredService<ILeaseGateway>(),
                sp.GetRequiredService<IMachineGateway>(),
                sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<ILogger<DhcpHandler>>(),
                ProfileOf(sp),
                sp.GetRequiredService<IBootPolicy>()));
            // The warm-up's handler has the lease gateway that records nothing for TFTP and HTTP.
            services.AddSingleton(sp => new DhcpWarmUp(
                dhcp,
                sp.GetRequiredService<ClusterLeaseGateway>(),
                sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<IBootPolicy>(),
                ProfileOf(sp),
                sp.GetRequiredService<ILogger<DhcpWarmUp>>()));
            services.AddSingleton(sp => new DhcpServer(dhcp, sp.GetRequiredService<DhcpHandler>(), sp.GetRequiredService<ILogger<DhcpServer>>(), sp.GetRequiredService<TimeProvider>()));
            services.AddSingleton(new DhcpNode($"{settings.Hostname}:{settings.Port}"));
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
        if (http is not null && catalog is not null)
        {
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

    /// <summary>How this node names itself when it declares its subnets: its cluster address, <c>host:port</c>.</summary>
    private sealed record DhcpNode(string Name);

    private sealed partial class DhcpHostedService(
        DhcpServer server,
        DhcpServerOptions options,
        ILeaseGateway leases,
        DhcpWarmUp warmUp,
        DhcpHandler handler,
        DhcpNode node,
        TimeProvider clock,
        NodeReadiness readiness,
        ILogger<DhcpHostedService> logger) : IHostedService, IDisposable
    {
        /// <summary>After this long without an answer from the subnets' lease actors (core nodes not up yet?) the node says so, and keeps trying.</summary>
        private static readonly TimeSpan DeclareWarnAfter = TimeSpan.FromSeconds(60);

        /// <summary>Longest pause between two attempts to declare a subnet.</summary>
        private static readonly TimeSpan DeclareRetryMax = TimeSpan.FromSeconds(10);

        /// <summary>How often a refused subnet is declared again: an operator's handover (or a change of the defining node) then takes effect without a restart.</summary>
        private static readonly TimeSpan RefusedRetry = TimeSpan.FromSeconds(30);

        /// <summary>How long the warm-up may take; the node serves after it (or after this) whatever happened.</summary>
        private static readonly TimeSpan WarmUpBound = TimeSpan.FromSeconds(15);

        /// <summary>The warm-up's exchanges at once: enough to batch journal writes as a burst does.</summary>
        private const int WarmUpConcurrency = 32;

        private readonly CancellationTokenSource _stopping = new();
        private Task _preparing = Task.CompletedTask;
        private Task _declaring = Task.CompletedTask;

        public Task StartAsync(CancellationToken cancellationToken)
        {
            // The socket is bound now (a wrong interface stops the node here) but read only once the node is prepared:
            // whatever arrives meanwhile waits in its receive buffer. Prepared = every subnet declared to (and so
            // recovered by) its lease actor and the hot path warmed up (both in the background: hosted services start
            // one after another, and the actor system may start after this one).
            var prepared = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            readiness.Preparing("dhcp", "declaring subnets and warming up");
            server.Start(prepared.Task);
            _preparing = PrepareAsync(prepared);
            return Task.CompletedTask;
        }

        private async Task PrepareAsync(TaskCompletionSource prepared)
        {
            await Task.Yield();
            try
            {
                _declaring = DeclareSubnetsAsync(_stopping.Token);
                var warm = WarmUpAsync(_stopping.Token);
                // Serve once both are done, or after the warm-up's bound: declaring goes on in the background (until the
                // core nodes answer, a subnet's requests get no address and are counted as failed).
                await Task.WhenAll(_declaring, warm).WaitAsync(WarmUpBound + TimeSpan.FromSeconds(5), _stopping.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
            finally
            {
                prepared.TrySetResult();
                readiness.Ready("dhcp");
            }
        }

        private async Task WarmUpAsync(CancellationToken cancellationToken)
        {
            if (options.WarmUpExchanges == 0)
            {
                return;
            }

            try
            {
                var report = await warmUp.RunAsync(options.WarmUpExchanges, WarmUpConcurrency, WarmUpBound, cancellationToken).ConfigureAwait(false);
                var perRound = string.Join('/', report.CompiledPerRound ?? []);
                LogWarmedUp(report.Exchanges, report.Failed, report.Took.TotalSeconds, report.EventsForgotten, report.Passes, report.MethodsCompiled, report.JitOutcome, perRound);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
            }
        }

        /// <summary>Every subnet declared to its lease actor; none in proxyDHCP mode, which leases nothing and has no lease actor.</summary>
        private Task DeclareSubnetsAsync(CancellationToken cancellationToken) => options.Mode == DhcpMode.Proxy
            ? Task.CompletedTask
            : Task.WhenAll(options.Subnets.Select(subnet => DeclareAsync(subnet, cancellationToken)));

        /// <summary>
        /// Declares one subnet until the cluster answers: accepted (defined, unchanged or redefined by this node) or
        /// refused (another node defined it differently: the subnet is not served, /healthz says why, and the declaration
        /// is repeated every <see cref="RefusedRetry"/> until an operator hands the definition over or makes them equal).
        /// </summary>
        private async Task DeclareAsync(Domain.Leases.SubnetDefinition subnet, CancellationToken cancellationToken)
        {
            var started = clock.GetTimestamp();
            var pause = TimeSpan.FromSeconds(1);
            var warned = false;
            string? refused = null;
            while (!cancellationToken.IsCancellationRequested)
            {
                try
                {
                    // Also recovers the lease actor now, so that first boots still pending from before a restart are
                    // handed to their machines at once, and the first packet does not wait for the subnet's recovery.
                    var declared = await leases.DeclareAsync(subnet, node.Name, clock.GetUtcNow(), cancellationToken).ConfigureAwait(false);
                    var service = $"dhcp subnet {subnet.Id}";
                    if (declared.Outcome != Domain.Leases.SubnetDeclarationOutcome.Refused)
                    {
                        handler.AcceptSubnet(subnet.Id);
                        readiness.NotFailing(service);
                        LogDeclared(subnet.Id, declared.Outcome, declared.DefinedBy, declared.Leases, declared.PendingFirstBoots);
                        return;
                    }

                    var reason = declared.Reason ?? $"subnet '{subnet.Id}' is defined by node {declared.DefinedBy}";
                    handler.RefuseSubnet(subnet.Id, reason);
                    readiness.Failing(service, $"not served: {reason}");
                    if (reason != refused)
                    {
                        LogRefused(subnet.Id, node.Name, reason, RefusedRetry.TotalSeconds);
                        refused = reason;
                    }

                    pause = RefusedRetry;
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    return;
                }
#pragma warning disable CA1031 // the core nodes may not be up yet: keep trying
                catch (Exception e)
#pragma warning restore CA1031
                {
                    if (!warned && clock.GetElapsedTime(started) >= DeclareWarnAfter)
                    {
                        warned = true;
                        LogNotDeclared(e, subnet.Id, DeclareWarnAfter.TotalSeconds);
                    }
                }

                await Task.Delay(pause, clock, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                pause = refused is null ? TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, DeclareRetryMax.Ticks)) : RefusedRetry;
            }
        }

        [LoggerMessage(Level = LogLevel.Information, Message = "DHCP subnet {Subnet}: {Outcome} (definition of node {DefinedBy}); {Leases} leases; {PendingFirstBoots} first boots granted since its last snapshot handed to their machines again (one already recorded changes nothing)")]
        private partial void LogDeclared(string subnet, Domain.Leases.SubnetDeclarationOutcome outcome, string definedBy, int leases, int pendingFirstBoots);

        [LoggerMessage(Level = LogLevel.Error, Message = "DHCP subnet {Subnet}: the cluster refused this node's ({Node}) definition, so this node does not serve the subnet: {Reason}. Make the definitions equal (or change the defining node first), or, if the defining node is gone for good, `provisioner subnet handover {Subnet} {Node}`; this node declares again every {Seconds:0} s.")]
        private partial void LogRefused(string subnet, string node, string reason, double seconds);

        [LoggerMessage(Level = LogLevel.Warning, Message = "DHCP subnet {Subnet}: its lease actor has not answered for {Seconds:0} s (core nodes not up or unreachable?); requests in this subnet get no address until it does; still trying")]
        private partial void LogNotDeclared(Exception e, string subnet, double seconds);

        [LoggerMessage(Level = LogLevel.Information, Message = "DHCP warmed up before serving: {Exchanges} new PXE machines' DORAs played against this node ({Failed} failed) in {Passes} rounds, {Seconds:0.00} s, on the scratch subnet " + WarmUpSubnet.Id + " (198.18.0.0/15), whose {Events} journal events are deleted again; the JIT compiled {Methods} methods meanwhile ({Jit}; per settling round: {PerRound})")]
        private partial void LogWarmedUp(int exchanges, int failed, double seconds, long events, int passes, long methods, string jit, string perRound);

        public async Task StopAsync(CancellationToken cancellationToken)
        {
            await _stopping.CancelAsync().ConfigureAwait(false);
            await _preparing.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            await _declaring.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            await server.StopAsync().ConfigureAwait(false);
        }

        public void Dispose() => _stopping.Dispose();
    }

    private sealed class TftpHostedService(TftpServer server) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => server.StartAsync(cancellationToken);

        public Task StopAsync(CancellationToken cancellationToken) => server.StopAsync(cancellationToken);
    }
}
