using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Provisioner.Cluster.Hosting;
using Provisioner.Cluster.Machines;
using Provisioner.Cluster.ReadModel;
using Provisioner.Domain.Machines;

namespace Provisioner.Cluster.Tests.Support;

/// <summary>A real single Provisioner node (cluster, sharding, SQLite journal) in-process, on a data directory of the test's choosing.</summary>
public sealed class TestNode : IAsyncDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private readonly IHost _host;

    private TestNode(IHost host, IActorRef region, IActorRef directory, ProvisionerSettings settings)
    {
        _host = host;
        Region = region;
        Directory = directory;
        Settings = settings;
    }

    public IActorRef Region { get; }

    public IActorRef Directory { get; }

    public ProvisionerSettings Settings { get; }

    public ActorSystem System => _host.Services.GetRequiredService<ActorSystem>();

    public static string HoconDirectory => Path.Combine(AppContext.BaseDirectory, "hocon");

    public static ProvisionerSettings SettingsFor(string dataDirectory, string extraHocon = "") =>
        ProvisionerSettings.FromConfig(ProvisionerConfig.Load(HoconDirectory, "single-node", $$"""
            provisioner.persistence.data-dir = {{ProvisionerConfig.Quote(dataDirectory)}}
            provisioner.node.port = 0
            {{extraHocon}}
            """));

    public static async Task<TestNode> StartAsync(ProvisionerSettings settings, TimeProvider? clock = null)
    {
        var host = new HostBuilder()
            .ConfigureServices(services => services.AddAkka(ProvisionerAkka.ActorSystemName, (builder, _) => builder.AddProvisioner(settings, clock)))
            .Build();
        await host.StartAsync();
        var registry = host.Services.GetRequiredService<ActorRegistry>();
        var region = await registry.GetAsync<MachineRegion>();
        var directory = await registry.GetAsync<MachineDirectoryKey>();
        return new TestNode(host, region, directory, settings);
    }

    public Task<MachineProtocol.CommandResult> Execute(string machineId, MachineCommand command) =>
        Region.Ask<MachineProtocol.CommandResult>(new MachineProtocol.Execute(machineId, command), Timeout);

    public Task<MachineProtocol.MachineResult> Get(string machineId) =>
        Region.Ask<MachineProtocol.MachineResult>(new MachineProtocol.GetMachine(machineId), Timeout);

    /// <summary>Lists the directory once it has caught up and holds at least <paramref name="expected"/> machines.</summary>
    public async Task<DirectoryProtocol.MachineList> ListWhenAsync(Func<DirectoryProtocol.MachineList, bool> ready, MachineStage? stage = null)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (true)
        {
            var list = await Directory.Ask<DirectoryProtocol.MachineList>(new DirectoryProtocol.ListMachines(stage), Timeout);
            if (list.CaughtUp && ready(list))
            {
                return list;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"directory not ready: caught up {list.CaughtUp}, {list.Machines.Count} machines");
            }

            await Task.Delay(100);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
    }
}

/// <summary>A temporary directory removed at the end of the test.</summary>
public sealed class TempDirectory : IDisposable
{
    public TempDirectory() => System.IO.Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "provisioner-test-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>A clock the test moves by hand.</summary>
public sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}
