using Akka.Actor;
using Akka.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Provisioner.Cluster.Hosting;
using Provisioner.Cluster.Machines;
using Provisioner.Cluster.ReadModel;
using Provisioner.Domain.Machines;
using Provisioner.Host.Cli;

namespace Provisioner.Host.Tests.Cli;

/// <summary>A real `provisioner serve` node in-process (temp SQLite, admin API on an ephemeral loopback port).</summary>
public sealed class LiveNode : IAsyncDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly WebApplication _app;
    private readonly string _data;

    private LiveNode(WebApplication app, string data, string server, IActorRef region, IActorRef directory)
    {
        _app = app;
        _data = data;
        Server = server;
        Region = region;
        Directory = directory;
    }

    public string Server { get; }

    public IActorRef Region { get; }

    public IActorRef Directory { get; }

    public ActorSystem System => _app.Services.GetRequiredService<ActorSystem>();

    public IServiceProvider Services => _app.Services;

    /// <summary>
    /// The node's clock, fixed so that no stage deadline is due while a test runs: after every journey's events (the
    /// latest at T0 + 70 s) and before the earliest deadline (a Discovered at T0 is due at T0 + 5 min; at exactly that
    /// instant its timer fired at once and raced the test's next command, an extra event under load).
    /// </summary>
    public static readonly DateTimeOffset Now = new(2026, 11, 25, 10, 4, 0, TimeSpan.Zero);

    public static async Task<LiveNode> StartAsync(string extraHocon = "")
    {
        var data = Path.Combine(Path.GetTempPath(), "provisioner-host-test-" + Guid.NewGuid().ToString("N"));
        var settings = ProvisionerSettings.FromConfig(ProvisionerConfig.Load(Path.Combine(AppContext.BaseDirectory, "hocon"), "single-node", $"""
            provisioner.persistence.data-dir = {ProvisionerConfig.Quote(data)}
            provisioner.node.port = 0
            provisioner.admin.listen = "http://127.0.0.1:0"
            {extraHocon}
            """));
        var app = Serve.Build(settings, new FixedClock(Now));
        await app.StartAsync();
        await WaitUntilUp(app.Services.GetRequiredService<ActorSystem>());
        var registry = app.Services.GetRequiredService<ActorRegistry>();
        return new LiveNode(app, data, app.Urls.First(), await registry.GetAsync<MachineRegion>(), await registry.GetAsync<MachineDirectoryKey>());
    }

    /// <summary>
    /// Waits (bounded) until the node has joined itself: before that its cluster has no members, and an admin call that
    /// names members (leave, down, show) sees an empty list, as an operator would in the node's first second.
    /// </summary>
    private static async Task WaitUntilUp(ActorSystem system)
    {
        var cluster = Akka.Cluster.Cluster.Get(system);
        var deadline = DateTime.UtcNow + Timeout;
        while (cluster.SelfMember.Status != Akka.Cluster.MemberStatus.Up)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"node did not join itself within {Timeout} (status {cluster.SelfMember.Status})");
            }

            await Task.Delay(20);
        }
    }

    public async Task Drive(string mac, IEnumerable<MachineCommand> commands)
    {
        foreach (var command in commands)
        {
            await Region.Ask<MachineProtocol.CommandResult>(new MachineProtocol.Execute(mac, command), Timeout);
        }
    }

    /// <summary>Waits (bounded) until the read model has folded <paramref name="count"/> machines.</summary>
    public async Task WaitForDirectory(int count)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (DateTime.UtcNow < deadline)
        {
            var list = await Directory.Ask<DirectoryProtocol.MachineList>(new DirectoryProtocol.ListMachines(), Timeout);
            if (list.CaughtUp && list.Machines.Count >= count)
            {
                return;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"directory did not reach {count} machines");
    }

    public async Task<(int Exit, string Out, string Err)> Run(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await CommandLine.RunAsync([.. args, "--server", Server], stdout, stderr);
        return (exit, stdout.ToString(), stderr.ToString());
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        try
        {
            global::System.IO.Directory.Delete(_data, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>A clock that does not move.</summary>
public sealed class FixedClock(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
}
