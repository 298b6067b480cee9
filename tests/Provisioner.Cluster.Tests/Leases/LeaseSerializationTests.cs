using Akka.Serialization;
using Provisioner.Cluster.Leases;
using Provisioner.Cluster.Tests.Serialization;
using Provisioner.Domain.Leases;
using static Provisioner.Cluster.Leases.SubnetLeaseProtocol;
using static Provisioner.Domain.Leases.LeaseEvents;

namespace Provisioner.Cluster.Tests.Leases;

/// <summary>
/// Lease messages, events and the snapshot are bound to Hyperion and round-trip unchanged. These samples are also what
/// <c>SerializerPinTests.Samples</c> needs (its completeness test lists every IProvisionerMessage type).
/// </summary>
public sealed class LeaseSerializationTests(SerializationSystem fixture) : IClassFixture<SerializationSystem>
{
    private const string Mac = "52:54:00:12:34:56";
    private static readonly DateTimeOffset At = new(2026, 11, 25, 10, 15, 30, 123, TimeSpan.FromHours(2));

    private static readonly SubnetDefined Defined = new(
        At, "10.9.0.2:4054", "lab", "10.0.0.0/24", "10.0.0.10", "10.0.0.250", "10.0.0.1", ["10.0.0.1"], "lab.example", 3600,
        [new ReservedAddress(Mac, "10.0.0.5", "db1")]);

    public static readonly IReadOnlyList<object> Samples =
    [
        new LeaseGranted(At, Mac, "10.0.0.11", At.AddHours(1)),
        new LeaseReleased(At, Mac, "10.0.0.11"),
        new AddressDeclined(At, Mac, "10.0.0.11", At.AddMinutes(10)),
        new LeaseTableSnapshot("lab", ["10.0.0.11"], [Mac], [At.AddHours(1)], [true], ["10.0.0.12"], [At.AddMinutes(10)]),
        new FirstBootGranted(At, Mac, "10.0.0.11", 7, true, "centos7"),
        new FirstBootLeaseGranted(At, Mac, "10.0.0.11", At.AddHours(1), At.AddSeconds(-2), 7, true, "centos7"),
        new FirstBootGrantedOnPath(At, Mac, "10.0.0.11", 7, true, "centos7", Domain.Machines.BootPath.Relayed, "10.78.5.1", Domain.Machines.BootPath.Pxe),
        new FirstBootLeaseGrantedOnPath(At, Mac, "10.0.0.11", At.AddHours(1), At.AddSeconds(-2), 7, true, "centos7", Domain.Machines.BootPath.Relayed, "10.78.5.1", Domain.Machines.BootPath.Pxe),
        new SubnetSnapshot(
            new LeaseTableSnapshot("lab", ["10.0.0.11"], [Mac], [At.AddHours(1)], [true], ["10.0.0.12"], [At.AddMinutes(10)]),
            [new FirstBootGranted(At, Mac, "10.0.0.11", 7, true, "centos7"), new FirstBootGrantedOnPath(At, "52:54:00:12:34:57", "10.0.0.12", 0, false, "centos7", Domain.Machines.BootPath.Local, null, Domain.Machines.BootPath.Pxe)]),
        new RequestFirstBoot("lab", Mac, "10.0.0.11", At, 7, true, "centos7", new Domain.Machines.BootPath(Domain.Machines.BootPath.Relayed, "10.78.5.1", Domain.Machines.BootPath.Pxe), Ticket: 41),
        new FlushFirstBoot("lab", Mac),
        new FirstBootFlushed("lab", Mac, true, "machine answered late"),
        Defined,
        new DefinedSubnetSnapshot(
            new SubnetSnapshot(new LeaseTableSnapshot("lab", [], [], [], [], [], []), []),
            Defined),
        new DeclareSubnet("lab", Defined),
        new HandOverSubnet("lab", "10.9.0.3:4054", At),
        new SubnetDeclared("lab", SubnetDeclarationOutcome.Refused, "10.9.0.2:4054", "subnet 'lab' is defined by node 10.9.0.2:4054 as …", 42, 7),
        new Wake("lab"),
        new Awake("lab", 42, 7),
        new Forget(WarmUpSubnet.Id),
        new Forgotten(WarmUpSubnet.Id, 4000),
        new Offer("lab", Mac, "10.0.0.11", At, Ticket: 42),
        new Request("lab", Mac, "10.0.0.11", true, At, Ticket: 43),
        new Release("lab", Mac, "10.0.0.11", At, Ticket: 44),
        new Decline("lab", Mac, "10.0.0.11", At, Ticket: 45),
        new Inform("lab", Mac, At),
        new GetLeases("lab"),
        new LeaseResult("lab", Mac, LeaseOutcome.Nakked, "10.0.0.11", At.AddHours(1), "10.0.0.11 is leased to another machine", Ticket: 43),
        new LeaseInfo(Mac, "10.0.0.11", At.AddHours(1)),
        new LeaseList("lab", [new LeaseInfo(Mac, "10.0.0.11", At.AddHours(1))], 42, 7),
    ];

    public static IEnumerable<object[]> SampleTypeNames => Samples.Select(s => new object[] { s.GetType().FullName! });

    [Theory]
    [MemberData(nameof(SampleTypeNames))]
    public void Lease_type_is_bound_to_hyperion_and_round_trips(string typeName)
    {
        var sample = Samples.Single(s => s.GetType().FullName == typeName);
        var serializer = fixture.System.Serialization.FindSerializerFor(sample);

        Assert.IsType<HyperionSerializer>(serializer);
        var copy = serializer.FromBinary(serializer.ToBinary(sample), sample.GetType());
        Assert.IsType(sample.GetType(), copy);
        Assert.Equal(System.Text.Json.JsonSerializer.Serialize(sample), System.Text.Json.JsonSerializer.Serialize(copy));
    }

    [Fact]
    public void A_pending_first_boot_keeps_its_path_through_a_subnet_snapshot()
    {
        // JSON above compares an array of FirstBootGranted by its declared type; the path lives in the subtype.
        var onPath = new FirstBootGrantedOnPath(At, Mac, "10.0.0.11", 7, true, "centos7", Domain.Machines.BootPath.Relayed, "10.78.5.1", Domain.Machines.BootPath.Pxe);
        var snapshot = new SubnetSnapshot(new LeaseTableSnapshot("lab", [], [], [], [], [], []), [new FirstBootGranted(At, "52:54:00:12:34:57", "10.0.0.12", 0, false, null), onPath]);
        var serializer = fixture.System.Serialization.FindSerializerFor(snapshot);

        var copy = serializer.FromBinary<SubnetSnapshot>(serializer.ToBinary(snapshot));

        Assert.Equal(typeof(FirstBootGranted), copy.PendingBoots[0].GetType());
        Assert.Equal(onPath, Assert.IsType<FirstBootGrantedOnPath>(copy.PendingBoots[1]));
    }
}
