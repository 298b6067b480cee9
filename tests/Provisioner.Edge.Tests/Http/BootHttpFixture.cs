using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Provisioner.Domain.Boot;
using Provisioner.Domain.Machines;
using Provisioner.Domain.Profiles;
using Provisioner.Edge.Http;
using Provisioner.Edge.Outage;
using Provisioner.Edge.Tests.Outage;

namespace Provisioner.Edge.Tests.Http;

/// <summary>
/// Records every command and answers from a table of states; can be told to fail. Like a machine actor, a command
/// already sent to that machine (same type) answers Unchanged.
/// </summary>
internal sealed class FakeMachineGateway : IMachineGateway
{
    public ConcurrentDictionary<MachineId, MachineState> States { get; } = new();

    public ConcurrentQueue<(MachineId Machine, MachineCommand Command)> Commands { get; } = new();

    public bool FailExecute { get; set; }

    public string? RejectWith { get; set; }

    public Task<MachineAnswer> ExecuteAsync(MachineId machine, MachineCommand command, CancellationToken cancellationToken)
    {
        if (FailExecute)
        {
            throw new TimeoutException("the machine did not answer in time");
        }

        var repeat = Commands.Any(c => c.Machine == machine && c.Command.GetType() == command.GetType());
        Commands.Enqueue((machine, command));
        return Task.FromResult(RejectWith is { } reason
            ? new MachineAnswer(DecisionOutcome.Rejected, BootAction.None, MachineStage.New, reason)
            : new MachineAnswer(repeat ? DecisionOutcome.Unchanged : DecisionOutcome.Accepted, BootAction.None, MachineStage.Discovered, null));
    }

    public Task<MachineAnswer> PreviewBootAsync(MachineId machine, MachineCommands.RequestBoot request, CancellationToken cancellationToken) =>
        throw new NotSupportedException("HTTP never previews a DHCP boot");

    /// <summary>State reads never answer (until cancelled): the node holds no copy and its ask cannot reach the machine.</summary>
    public bool HangReads { get; set; }

    /// <summary>A machine not in the table has just DHCP'd from us (Discovered): what an HTTP boot normally follows.</summary>
    public async Task<MachineState> GetAsync(MachineId machine, CancellationToken cancellationToken)
    {
        if (HangReads)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }

        return States.TryGetValue(machine, out var state) ? state : MachineState.Empty(machine.Value) with { Stage = MachineStage.Discovered };
    }

    public bool IsSurelyNew(MachineId machine) => false;

    public void Set(MachineId machine, MachineStage stage, string? address = null, string? failure = null) =>
        States[machine] = MachineState.Empty(machine.Value) with { Stage = stage, Address = address, FailureReason = failure };

    public T[] Sent<T>(MachineId machine) where T : MachineCommand =>
        Commands.Where(c => c.Machine == machine).Select(c => c.Command).OfType<T>().ToArray();

    /// <summary>
    /// What <see cref="Sent{T}"/> returns once it holds at least one command, or after 10 s: an asset fetch is
    /// reported after its response is complete, so a client can hold the bytes before the report is sent.
    /// </summary>
    public async Task<T[]> SentEventuallyAsync<T>(MachineId machine) where T : MachineCommand
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (Sent<T>(machine).Length == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        return Sent<T>(machine);
    }
}

internal sealed class FakeHostnames : IMachineHostnames
{
    public Dictionary<MachineId, string> Names { get; } = [];

    public string? HostnameOf(MachineId machine) => Names.TryGetValue(machine, out var name) ? name : null;
}

internal sealed class ListLoggerProvider : ILoggerProvider
{
    public ConcurrentQueue<(LogLevel Level, string Message)> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => new ListLogger(this);

    public void Dispose()
    {
    }

    private sealed class ListLogger(ListLoggerProvider owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner.Entries.Enqueue((logLevel, formatter(state, exception)));
    }
}

/// <summary>
/// The boot endpoints on a real Kestrel listener at 127.0.0.1:&lt;ephemeral&gt;, with a temporary config directory
/// (profile "lab": kernel os/vmlinuz, initrd os/initrd.img) and assets directory, and a fake machine gateway.
/// </summary>
internal sealed class BootHttpFixture : IAsyncDisposable
{
    public const string Hash = "$6$salt$Gbr6Ap7Sp7mCq9kv9VnVVU3dExfYc1JrZ1rEnCrGkhkR5xbSYDmb3Dje4ROFQ6O9MDw0A6s4vhWQmh2Y5X0vS.";

    public const string KickstartTemplate = """
        # {{hostname}} {{mac}}
        url --url={{repo_url}}
        network --hostname={{hostname}}
        rootpw --iscrypted {{root_password_hash}}
        %post
        curl -fsS {{phone_home_url}}
        %end
        """;

    private readonly WebApplication app;
    private BootHttpOptions? options;

    private BootHttpFixture(string root, string[] rules, bool filteredGroup)
    {
        Root = root;
        Directory.CreateDirectory(Path.Combine(ConfigDir, "profiles"));
        Directory.CreateDirectory(Path.Combine(AssetsDir, "os"));
        File.WriteAllText(Path.Combine(ConfigDir, "profiles", "lab.ks"), KickstartTemplate);
        File.WriteAllLines(Path.Combine(ConfigDir, "profiles", "lab.profile"),
        [
            "kernel = os/vmlinuz",
            "initrd = os/initrd.img",
            "kernel-args = ip=dhcp",
            "repo-url = os",
            "kickstart = lab.ks",
            $"root-password-hash = {Hash}",
        ]);
        File.WriteAllLines(Path.Combine(ConfigDir, "rules.conf"), rules);
        Kernel = Enumerable.Range(0, 1000).Select(i => (byte)(i * 7 % 251)).ToArray();
        File.WriteAllBytes(Path.Combine(AssetsDir, "os", "vmlinuz"), Kernel);
        File.WriteAllBytes(Path.Combine(AssetsDir, "os", "initrd.img"), new byte[300]);
        File.WriteAllText(Path.Combine(AssetsDir, "os", "readme.txt"), "not a boot file");
        Directory.CreateDirectory(NbpDir);
        Nbp = Enumerable.Range(0, 3000).Select(i => (byte)(i * 11 % 253)).ToArray();
        File.WriteAllBytes(Path.Combine(NbpDir, "ipxe.efi"), Nbp);

        Catalog = ProfileCatalog.Load(ConfigDir);
        Tokens = KickstartTokens.FromSecret(Enumerable.Range(0, 32).Select(i => (byte)(i * 3)).ToArray());

        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Debug);
        builder.Logging.AddProvider(Logs);
        builder.Services.AddSingleton<IMachineGateway>(Gateway);
        builder.Services.AddSingleton(Catalog);
        builder.Services.AddSingleton(Tokens);
        builder.Services.AddSingleton<IMachineHostnames>(Hostnames);
        builder.Services.AddSingleton(Addresses);
        // As `provisioner serve`: reports go through the outbox, delivered by its loop, the cores' reachability set by the test.
        builder.Services.AddSingleton<ICoreReachability>(Cores);
        builder.Services.AddSingleton(new ReportOutboxOptions());
        builder.Services.AddSingleton<ReportOutbox>();
        builder.Services.AddHostedService<ReportOutboxDelivery>();
        // Resolved at the first request, after Kestrel has picked the port the URLs must carry.
        builder.Services.AddSingleton(_ => options!);
        builder.Services.AddSingleton<IBootPolicy>(_ => Policy = new FakeBootPolicy(new BootPolicy(BootFileTable.Default, options!.BaseUrl)));
        builder.Services.AddBootEndpoints();
        app = builder.Build();
        app.UseConnectionRequestCount(); // as `provisioner serve`: large whole files may go out with sendfile
        if (filteredGroup)
        {
            // As `provisioner serve` hosts them: in a route group with an endpoint filter (its boot-port check).
            BootEndpoints.Map(app.MapGroup(string.Empty).AddEndpointFilter(async (context, next) => await next(context)));
        }
        else
        {
            BootEndpoints.Map(app);
        }
    }

    public string Root { get; }

    public string ConfigDir => Path.Combine(Root, "config");

    public string AssetsDir => Path.Combine(Root, "assets");

    /// <summary>The NBP directory (the TFTP root of a real node), served at <c>/nbp/</c>; holds a 3000-byte ipxe.efi.</summary>
    public string NbpDir => Path.Combine(Root, "tftp");

    public byte[] Nbp { get; }

    /// <summary>Which machine DHCP gave a client address to (no ARP fallback: only what a test records).</summary>
    public Provisioner.Edge.Clients.ClientAddressBook Addresses { get; } = new(_ => null);

    public byte[] Kernel { get; }

    public ProfileCatalog Catalog { get; }

    public KickstartTokens Tokens { get; }

    public FakeMachineGateway Gateway { get; } = new();

    /// <summary>Whether the node can reach a core (reachable unless a test says otherwise).</summary>
    public FakeCoreReachability Cores { get; } = new();

    /// <summary>The boot-policy port the handler was given (set when the handler is built, at the first request).</summary>
    public FakeBootPolicy? Policy { get; private set; }

    public FakeHostnames Hostnames { get; } = new();

    public ListLoggerProvider Logs { get; } = new();

    public string BaseUrl { get; private set; } = string.Empty;

    public HttpClient Client { get; private set; } = new();

    public static Task<BootHttpFixture> StartAsync(params string[] rules) => StartAsync(false, rules);

    public static Task<BootHttpFixture> StartAsync(bool filteredGroup, params string[] rules) => StartAsync(filteredGroup, null, rules);

    /// <summary>As <c>provisioner serve</c> with <c>http.cache-max-file-bytes</c> = <paramref name="cacheMaxFileBytes"/>.</summary>
    public static Task<BootHttpFixture> StartWithCacheLimitAsync(long cacheMaxFileBytes, bool sendFile = true) => StartAsync(false, cacheMaxFileBytes, [], sendFile);

    private static async Task<BootHttpFixture> StartAsync(bool filteredGroup, long? cacheMaxFileBytes, string[] rules, bool sendFile = true)
    {
        var root = Path.Combine(Path.GetTempPath(), "prov-http-" + Guid.NewGuid().ToString("N"));
        var fixture = new BootHttpFixture(root, rules.Length == 0 ? ["default lab"] : rules, filteredGroup);
        await fixture.app.StartAsync();
        var uri = new Uri(fixture.app.Urls.First());
        fixture.BaseUrl = $"http://127.0.0.1:{uri.Port}";
        fixture.options = new BootHttpOptions
        {
            EdgeAddress = "127.0.0.1",
            Port = uri.Port,
            Listen = fixture.BaseUrl,
            AssetsDirectory = fixture.AssetsDir,
            NbpDirectory = fixture.NbpDir,
            ConfigDirectory = fixture.ConfigDir,
            DataDirectory = root,
            SendFile = sendFile,
        };
        if (cacheMaxFileBytes is { } limit)
        {
            fixture.options = fixture.options with { CacheMaxFileBytes = limit };
        }

        fixture.Client = new HttpClient { BaseAddress = new Uri(fixture.BaseUrl), Timeout = TimeSpan.FromSeconds(30) };
        return fixture;
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await app.StopAsync();
        await app.DisposeAsync();
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
