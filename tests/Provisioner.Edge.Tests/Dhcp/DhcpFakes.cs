using Microsoft.Extensions.Logging.Abstractions;
using Provisioner.Cluster.Leases;
using Provisioner.Domain.Leases;
using Provisioner.Domain.Machines;
using Provisioner.Edge.Dhcp;
using Provisioner.Protocols.Dhcp;

namespace Provisioner.Edge.Tests.Dhcp;

/// <summary>A clock the test moves by hand (also drives the rate limiter's timestamps).</summary>
internal sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow() => _now;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => _now.UtcTicks;

    public void Advance(TimeSpan by) => _now += by;
}

/// <summary>Lease gateway over the real pure lease table, in memory: the handler sees real allocation rules.</summary>
internal sealed class FakeLeaseGateway(IEnumerable<SubnetDefinition> subnets) : ILeaseGateway
{
    private readonly Dictionary<string, SubnetDefinition> _subnets = subnets.Append(WarmUpSubnet.Definition).DistinctBy(s => s.Id).ToDictionary(s => s.Id);
    private readonly Dictionary<string, LeaseTableState> _tables = [];
    private readonly Dictionary<string, OfferBook> _offers = [];

    public List<(string Subnet, LeaseCommand Command)> Calls { get; } = [];

    public Exception? Throw { get; set; }

    public LeaseTableState Table(string subnet) => _tables.GetValueOrDefault(subnet) ?? LeaseTableState.Empty(subnet);

    public Task<LeaseAnswer> OfferAsync(string subnetId, MachineId mac, IPv4Address? requested, DateTimeOffset at, CancellationToken cancellationToken) =>
        Run(subnetId, new LeaseCommands.Offer(at, mac.Value, requested?.ToString()));

    public Task<LeaseAnswer> RequestAsync(string subnetId, MachineId mac, IPv4Address address, bool renewing, DateTimeOffset at, CancellationToken cancellationToken) =>
        Run(subnetId, renewing ? new LeaseCommands.Renew(at, mac.Value, address.ToString()) : new LeaseCommands.Request(at, mac.Value, address.ToString()));

    /// <summary>First boots that rode on an ACKed lease, in order.</summary>
    public List<(string Subnet, string Mac, MachineCommands.RequestBoot Boot)> FirstBoots { get; } = [];

    /// <summary><see cref="FirstBoots"/>' count, safe to read while requests run.</summary>
    public int FirstBootCount
    {
        get
        {
            lock (_tables)
            {
                return FirstBoots.Count;
            }
        }
    }

    public async Task<LeaseAnswer> RequestFirstBootAsync(string subnetId, MachineId mac, IPv4Address address, MachineCommands.RequestBoot boot, CancellationToken cancellationToken)
    {
        var answer = await Run(subnetId, new LeaseCommands.Request(boot.At, mac.Value, address.ToString()));
        if (answer.Outcome == LeaseOutcome.Acked)
        {
            lock (_tables)
            {
                FirstBoots.Add((subnetId, mac.Value, boot));
            }
        }

        return answer;
    }

    public Task<bool> FlushFirstBootAsync(string subnetId, MachineId mac, CancellationToken cancellationToken) => Task.FromResult(false);

    public Task<SubnetLeaseProtocol.SubnetDeclared> DeclareAsync(SubnetDefinition subnet, string node, DateTimeOffset at, CancellationToken cancellationToken) =>
        Task.FromResult(new SubnetLeaseProtocol.SubnetDeclared(subnet.Id, SubnetDeclarationOutcome.Unchanged, node, null, Table(subnet.Id).Bindings.Count, 0));

    public Task<LeaseAnswer> ReleaseAsync(string subnetId, MachineId mac, IPv4Address address, DateTimeOffset at, CancellationToken cancellationToken) =>
        Run(subnetId, new LeaseCommands.Release(at, mac.Value, address.ToString()));

    public Task<LeaseAnswer> DeclineAsync(string subnetId, MachineId mac, IPv4Address address, DateTimeOffset at, CancellationToken cancellationToken) =>
        Run(subnetId, new LeaseCommands.Decline(at, mac.Value, address.ToString()));

    /// <summary>How often the warm-up subnet was forgotten.</summary>
    public int Forgotten { get; private set; }

    public Task<long> ForgetWarmUpAsync(CancellationToken cancellationToken)
    {
        lock (_tables)
        {
            Forgotten++;
            var events = Calls.LongCount(c => c.Subnet == WarmUpSubnet.Id);
            _tables.Remove(WarmUpSubnet.Id);
            return Task.FromResult(events);
        }
    }

    private Task<LeaseAnswer> Run(string subnetId, LeaseCommand command)
    {
        if (Throw is { } e)
        {
            return Task.FromException<LeaseAnswer>(e);
        }

        lock (_tables)
        {
            Calls.Add((subnetId, command));
            var state = Table(subnetId);
            var offers = _offers.TryGetValue(subnetId, out var book) ? book : _offers[subnetId] = new OfferBook();
            var decision = LeaseTable.Decide(state, offers, _subnets[subnetId], command, LeasePolicy.Default);
            if (decision.Offer is { } offer)
            {
                offers.Hold(offer);
            }

            foreach (var fact in decision.Events)
            {
                state = LeaseTable.Apply(state, fact);
                offers.Settle(fact);
            }

            _tables[subnetId] = state;
            return Task.FromResult(new LeaseAnswer(decision.Outcome, IPv4Address.TryParse(decision.Address, out var a) ? a : null, decision.ExpiresAt, decision.Reason));
        }
    }
}

/// <summary>Machine gateway answering like a new machine (iPXE → boot script, else NBP) unless told otherwise per MAC.</summary>
internal sealed class FakeMachineGateway : IMachineGateway
{
    public Dictionary<string, BootAction> Boot { get; } = [];

    public List<(string Mac, MachineCommand Command)> Commands { get; } = [];

    /// <summary>DISCOVERs answered without a command (nothing recorded).</summary>
    public List<(string Mac, MachineCommands.RequestBoot Request)> Previews { get; } = [];

    /// <summary>How long each answer takes (a busy machine shard).</summary>
    public TimeSpan Delay { get; set; }

    public async Task<MachineAnswer> PreviewBootAsync(MachineId machine, MachineCommands.RequestBoot request, CancellationToken cancellationToken)
    {
        lock (Commands)
        {
            Previews.Add((machine.Value, request));
        }

        if (Delay > TimeSpan.Zero)
        {
            await Task.Delay(Delay, cancellationToken);
        }

        var boot = Boot.TryGetValue(machine.Value, out var b) ? b : request.FirmwareIsIpxe ? BootAction.BootScript : BootAction.Nbp;
        return new MachineAnswer(DecisionOutcome.Unchanged, boot, MachineStage.New, null);
    }

    public async Task<MachineAnswer> ExecuteAsync(MachineId machine, MachineCommand command, CancellationToken cancellationToken)
    {
        lock (Commands)
        {
            Commands.Add((machine.Value, command));
        }

        if (Delay > TimeSpan.Zero)
        {
            await Task.Delay(Delay, cancellationToken);
        }

        var boot = command is MachineCommands.RequestBoot r
            ? Boot.TryGetValue(machine.Value, out var b) ? b : r.FirmwareIsIpxe ? BootAction.BootScript : BootAction.Nbp
            : BootAction.None;
        return new MachineAnswer(DecisionOutcome.Accepted, boot, MachineStage.Discovered, null);
    }

    public Task<MachineState> GetAsync(MachineId machine, CancellationToken cancellationToken) =>
        Task.FromResult(MachineState.Empty(machine.Value));

    /// <summary>MACs the node would know have nothing in the journal (their DHCP takes the first-boot path).</summary>
    public HashSet<string> SurelyNew { get; } = [];

    public bool IsSurelyNew(MachineId machine) => SurelyNew.Contains(machine.Value);
}

/// <summary>An edge at 10.0.0.2 serving its own segment 10.0.0.0/24 and a relayed one, 10.20.0.0/24.</summary>
internal sealed class HandlerFixture
{
    public static readonly DateTimeOffset T0 = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);

    public static readonly IPv4Address EdgeAddress = IPv4Address.Parse("10.0.0.2");

    public static readonly SubnetDefinition Local = new()
    {
        Id = "local",
        Network = IPv4Address.Parse("10.0.0.0"),
        PrefixLength = 24,
        PoolStart = IPv4Address.Parse("10.0.0.10"),
        PoolEnd = IPv4Address.Parse("10.0.0.100"),
        Router = IPv4Address.Parse("10.0.0.1"),
        Dns = [IPv4Address.Parse("10.0.0.1")],
        Domain = "lab.example",
        LeaseTime = TimeSpan.FromHours(1),
        Reservations = [new SubnetReservation("52:54:00:dc:00:99", IPv4Address.Parse("10.0.0.5"), "db1")],
    };

    public static readonly SubnetDefinition Remote = Local with
    {
        Id = "remote",
        Network = IPv4Address.Parse("10.20.0.0"),
        PoolStart = IPv4Address.Parse("10.20.0.10"),
        PoolEnd = IPv4Address.Parse("10.20.0.100"),
        Router = IPv4Address.Parse("10.20.0.1"),
        Reservations = [],
    };

    public HandlerFixture(Func<DhcpServerOptions, DhcpServerOptions>? configure = null)
    {
        var options = new DhcpServerOptions { Address = EdgeAddress, Subnets = [Local, Remote], HttpPort = 8080 };
        Options = configure?.Invoke(options) ?? options;
        Leases = new FakeLeaseGateway(Options.Subnets);
        Policy = new FakeBootPolicy(BootPolicy.For(Options));
        Handler = new DhcpHandler(Options, Leases, Machines, Clock, Log, bootPolicy: Policy);
    }

    /// <summary>What the handler logged (Information and above, as a node logs by default).</summary>
    public Provisioner.Edge.Tests.Tftp.ListLogger<DhcpHandler> Log { get; } = new() { MinimumLevel = Microsoft.Extensions.Logging.LogLevel.Information };

    public FakeBootPolicy Policy { get; }

    public DhcpServerOptions Options { get; }

    public ManualClock Clock { get; } = new(T0);

    public FakeLeaseGateway Leases { get; }

    public FakeMachineGateway Machines { get; } = new();

    public DhcpHandler Handler { get; }

    public static DhcpPacket Parse(byte[] bytes)
    {
        Assert.True(DhcpPacket.TryParse(bytes, out var packet, out var error), error.ToString());
        return packet;
    }

    public Task<DhcpReplyPlan?> Handle(DhcpPacket request) =>
        Handler.HandleAsync(request, new DhcpReceiveContext(EdgeAddress, new System.Net.IPEndPoint(System.Net.IPAddress.Any, 68), !request.RelayAgentAddress.IsAny), CancellationToken.None);

    /// <summary>The reply as the client would read it off the wire.</summary>
    public static DhcpPacket Wire(DhcpReplyPlan plan)
    {
        var bytes = plan.Packet.ToArray();
        Assert.True(bytes.Length >= DhcpPacket.MinimumLength);
        return Parse(bytes);
    }

    /// <summary>A REQUEST built from a DISCOVER, the way clients do (same xid, chaddr and identifying options).</summary>
    public static DhcpPacket RequestFrom(DhcpPacket discover, IPv4Address? serverId, IPv4Address? requested, IPv4Address? ciaddr = null)
    {
        var request = Parse(discover.ToArray());
        request.MessageType = DhcpMessageType.Request;
        request.Options.ServerIdentifier = serverId;
        request.Options.RequestedIPAddress = requested;
        request.ClientAddress = ciaddr ?? IPv4Address.Any;
        return request;
    }
}
