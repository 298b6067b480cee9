using System.Collections;
using System.Reflection;
using Akka.Actor;
using Akka.Serialization;
using Provisioner.Cluster.Machines;
using Provisioner.Cluster.ReadModel;
using Provisioner.Domain.Machines;
using Provisioner.Cluster.Hosting;
using static Provisioner.Domain.Machines.MachineCommands;
using static Provisioner.Domain.Machines.MachineEvents;

namespace Provisioner.Cluster.Tests.Serialization;

/// <summary>An ActorSystem with only our serialization bindings: no remoting, cluster or persistence needed to pin serializers.</summary>
public sealed class SerializationSystem : IDisposable
{
    public SerializationSystem() => System = ActorSystem.Create("serializer-pins", ProvisionerAkka.SerializationHocon);

    public ActorSystem System { get; }

    public void Dispose() => System.Terminate().Wait(TimeSpan.FromSeconds(10));
}

/// <summary>
/// STYLE.md convention 5: every type that crosses the wire or the journal is bound to Hyperion, and survives a round trip
/// through it. The sample table is explicit and must cover every such type, so a new message cannot be forgotten.
/// </summary>
public sealed class SerializerPinTests(SerializationSystem fixture) : IClassFixture<SerializationSystem>
{
    private const string Mac = "52:54:00:12:34:56";
    private static readonly DateTimeOffset At = new(2026, 11, 25, 10, 15, 30, 123, TimeSpan.FromHours(2));

    private static readonly IMachineEvent[] Journey =
    [
        new Discovered(At, 7, false, "centos7", 1),
        new LeaseRecorded(At.AddSeconds(1), "10.0.0.11", "10.0.0.0/24"),
        new NbpServed(At.AddSeconds(2), "ipxe.efi"),
        new BootScriptServed(At.AddSeconds(3)),
        new KernelFetched(At.AddSeconds(4), "/assets/vmlinuz"),
        new InitrdFetched(At.AddSeconds(5), "/assets/initrd.img"),
        new StageTimedOut(At.AddMinutes(20), MachineStage.KernelFetched, 1),
        new Failed(At.AddMinutes(21), MachineStage.KernelFetched, "kernel-fetched missed its deadline 3 times"),
    ];

    /// <summary>
    /// Built the way the actor builds it (Machine.Apply), so every property holds the runtime type real snapshots carry,
    /// then every remaining property set to a non-default value; History as snapshots written before the state became
    /// fixed-size carry it (a plain array of events), so the round trip pins that shape as well.
    /// </summary>
    private static MachineState SampleState() =>
        Machine.Replay(Mac, Journey) with
        {
#pragma warning disable PV0001
            History = Journey,
#pragma warning restore PV0001
            StageTimedOut = true,
            StageTimedOutAt = At.AddMinutes(20),
            Timeouts = 2,
            Architecture = 7,
            FirmwareIsIpxe = true,
            BootScriptServed = true,
            InitrdFetched = true,
            InstalledAt = At.AddHours(1),
        };

    private static MachineSummary SampleSummary(string mac, MachineStage stage) =>
        new(mac, stage, "centos7", "10.0.0.11", 2, At, At.AddMinutes(3), "installer reported a broken disk");

    /// <summary>One sample per type, every property non-default.</summary>
    public static readonly IReadOnlyList<object> Samples =
    [
        // Persisted events (frozen, STACK.md P7).
        new Discovered(At, 7, true, "centos7", 2),
        new DiscoveredOnPath(At, 7, true, "centos7", 2, BootPath.Relayed, "10.78.5.1", BootPath.Ipxe),
        new LeaseRecorded(At, "10.0.0.11", "10.0.0.0/24"),
        new NbpServed(At, "ipxe.efi"),
        new BootScriptServed(At),
        new KernelFetched(At, "/assets/vmlinuz"),
        new InitrdFetched(At, "/assets/initrd.img"),
        new KickstartFetched(At),
        new Installed(At),
        new Rebooted(At, "local-boot"),
        new StageTimedOut(At, MachineStage.NbpServed, 3),
        new Failed(At, MachineStage.KickstartFetched, "installer reported a broken disk"),
        new Reprovisioned(At, "operator@example"),

        // Commands, carried inside Execute.
        new RequestBoot(At, 7, true, "centos7", "10.0.0.11", "10.0.0.0/24", new BootPath(BootPath.Relayed, "10.78.5.1", BootPath.HttpBoot)),
        new RecordLease(At, "10.0.0.11", "10.0.0.0/24"),
        new ReportNbpServed(At, "ipxe.efi"),
        new ReportBootScriptServed(At),
        new ReportKernelFetched(At, "/assets/vmlinuz"),
        new ReportInitrdFetched(At, "/assets/initrd.img"),
        new ReportKickstartFetched(At),
        new ReportInstalled(At),
        new ReportBooted(At),
        new ReportFailure(At, "installer reported a broken disk"),
        new CheckDeadline(At),
        new Reprovision(At, "operator@example"),

        // Snapshots.
        SampleState(),

        // Messages between nodes.
        new MachineProtocol.Execute(Mac, new RequestBoot(At, 7, false, "centos7")),
        new MachineProtocol.CommandResult(Mac, DecisionOutcome.Rejected, BootAction.Nbp, MachineStage.Failed, "machine is Failed, not installed", 17),
        new MachineProtocol.PreviewBoot(Mac, new RequestBoot(At, 0, true, "centos7", "10.0.0.12", "lab")),
        new MachineProtocol.RecordFirstBoot(Mac, new RequestBoot(At, 7, true, "centos7", "10.0.0.12", "lab")),
        new MachineProtocol.GetMachine(Mac),
        new MachineProtocol.MachineResult(Mac, SampleState(), 42),
        new MachineProtocol.WatchMachine(Mac),
        new MachineProtocol.MachineChanged(Mac, SampleState(), 42),
        SampleSummary(Mac, MachineStage.KernelFetched),
        new DirectoryProtocol.ListMachines(MachineStage.Installed) { After = "52:54:00:00:00:01", Limit = 100 },
        new DirectoryProtocol.MachineList(
            [SampleSummary("52:54:00:00:00:01", MachineStage.Installed), SampleSummary("52:54:00:00:00:02", MachineStage.Failed)],
            Offset: 42,
            CaughtUp: true) { StartedAtOffset = 40, EventsRead = 2, Next = "52:54:00:00:00:02" },
        new DirectorySnapshot(42, [SampleState()]),

        // Subnet leases: messages, persisted events, snapshot.
        .. Provisioner.Cluster.Tests.Leases.LeaseSerializationTests.Samples,
    ];

    public static IEnumerable<object[]> SampleTypeNames => Samples.Select(s => new object[] { s.GetType().FullName! });

    private Akka.Serialization.Serialization Serialization => fixture.System.Serialization;

    [Fact]
    public void Every_message_event_command_and_state_type_has_a_sample()
    {
        var markers = new[] { typeof(IProvisionerMessage), typeof(IMachineEvent) };
        var required = new[] { typeof(IProvisionerMessage).Assembly, typeof(IMachineEvent).Assembly }
            .Distinct()
            .SelectMany(a => a.GetTypes())
            .Where(t => t is { IsClass: true, IsAbstract: false } || (t.IsValueType && !t.IsEnum))
            .Where(t => !t.IsGenericTypeDefinition)
            .Where(t => markers.Any(m => m.IsAssignableFrom(t)) || t.IsSubclassOf(typeof(MachineCommand)) || t == typeof(MachineState))
            .Select(t => t.FullName!)
            .ToHashSet();

        var sampled = Samples.Select(s => s.GetType().FullName!).ToHashSet();

        Assert.Empty(required.Except(sampled).Order(StringComparer.Ordinal));
        // Guard against the reflection above silently finding nothing.
        Assert.Contains(typeof(MachineProtocol.Execute).FullName!, required);
        Assert.Contains(typeof(Discovered).FullName!, required);
        Assert.Contains(typeof(RequestBoot).FullName!, required);
        Assert.Contains(typeof(MachineState).FullName!, required);
    }

    [Fact]
    public void Each_sample_type_appears_once_and_sets_every_property_to_a_non_default_value()
    {
        Assert.Equal(Samples.Count, Samples.Select(s => s.GetType()).Distinct().Count());
        foreach (var sample in Samples)
        {
            foreach (var property in PublicProperties(sample.GetType()))
            {
                var value = property.GetValue(sample);
                var isDefault = value is null
                    || (property.PropertyType.IsValueType && Nullable.GetUnderlyingType(property.PropertyType) is null && value.Equals(Activator.CreateInstance(property.PropertyType)))
                    || (value is string s && s.Length == 0)
                    || (value is IEnumerable e and not string && !e.Cast<object>().Any());
                Assert.False(isDefault, $"{sample.GetType().Name}.{property.Name} is left at its default in the sample table");
            }
        }
    }

    [Theory]
    [MemberData(nameof(SampleTypeNames))]
    public void Message_type_is_bound_to_hyperion(string typeName)
    {
        var sample = SampleOf(typeName);

        Assert.IsType<HyperionSerializer>(Serialization.FindSerializerFor(sample));
    }

    [Theory]
    [MemberData(nameof(SampleTypeNames))]
    public void Message_round_trips_through_hyperion_unchanged(string typeName)
    {
        var sample = SampleOf(typeName);
        var serializer = Serialization.FindSerializerFor(sample);

        var bytes = serializer.ToBinary(sample);
        var copy = serializer.FromBinary(bytes, sample.GetType());

        Assert.IsType(sample.GetType(), copy);
        AssertDeepEqual(sample, copy, sample.GetType().Name);
        if (!HasCollections(sample))
        {
            // Records without collections: their own equality must hold too.
            Assert.Equal(sample, copy);
        }
    }

    [Fact]
    public void A_snapshot_is_the_same_size_after_a_thousand_events_as_after_ten()
    {
        // Reprovisioned, then a new PXE boot, over and over: every field ends each round holding a value of the same size.
        static MachineState After(int events) => Machine.Replay(Mac, Enumerable.Range(0, events).Select(i => i % 2 == 0
            ? (IMachineEvent)new Discovered(At.AddMinutes(i), 7, false, "centos7", 1)
            : new Reprovisioned(At.AddMinutes(i), "operator@example")));
        var serializer = Serialization.FindSerializerFor(After(10));

        var ten = serializer.ToBinary(After(10));
        var thousand = serializer.ToBinary(After(1000));

        Assert.Equal(ten.Length, thousand.Length);
        Assert.Equal(After(1000), Machine.FromSnapshot(serializer.FromBinary<MachineState>(thousand)));
    }

    [Fact]
    public void Types_outside_our_markers_keep_akkas_default_serializers()
    {
        var forString = Serialization.FindSerializerFor("not one of ours");
        var forUnmarked = Serialization.FindSerializerFor(new Unmarked("x"));

        Assert.IsNotType<HyperionSerializer>(forString);
        Assert.IsNotType<HyperionSerializer>(forUnmarked);
        // Unbound types fall back to Akka's catch-all binding for System.Object.
        Assert.Same(Serialization.FindSerializerForType(typeof(object)), forUnmarked);
    }

    private sealed record Unmarked(string Value);

    private static object SampleOf(string typeName) => Samples.Single(s => s.GetType().FullName == typeName);

    private static IEnumerable<PropertyInfo> PublicProperties(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanRead && p.GetIndexParameters().Length == 0);

    private static bool IsOurs(Type type) =>
        type.Assembly == typeof(IProvisionerMessage).Assembly || type.Assembly == typeof(IMachineEvent).Assembly;

    private static bool HasCollections(object? value) =>
        value switch
        {
            null or string => false,
            IEnumerable => true,
            _ when IsOurs(value.GetType()) => PublicProperties(value.GetType()).Any(p => HasCollections(p.GetValue(value))),
            _ => false,
        };

    /// <summary>Structural equality: records compare by members, and collections (arrays compare by reference) element-wise.</summary>
    private static void AssertDeepEqual(object? expected, object? actual, string path)
    {
        if (expected is null || actual is null)
        {
            Assert.True(expected is null && actual is null, $"{path}: expected {expected ?? "null"}, got {actual ?? "null"}");
            return;
        }

        Assert.True(expected.GetType() == actual.GetType() || (expected is IEnumerable && actual is IEnumerable), $"{path}: expected a {expected.GetType()}, got a {actual.GetType()}");

        switch (expected)
        {
            case string:
                Assert.Equal(expected, actual);
                break;
            case DateTimeOffset at:
                // DateTimeOffset equality ignores the offset; the offset matters to whoever prints the time.
                Assert.Equal(at, actual);
                Assert.Equal(at.Offset, ((DateTimeOffset)actual).Offset);
                break;
            case IEnumerable sequence:
                var left = sequence.Cast<object?>().ToArray();
                var right = ((IEnumerable)actual).Cast<object?>().ToArray();
                Assert.True(left.Length == right.Length, $"{path}: expected {left.Length} items, got {right.Length}");
                for (var i = 0; i < left.Length; i++)
                {
                    AssertDeepEqual(left[i], right[i], $"{path}[{i}]");
                }

                break;
            case var _ when IsOurs(expected.GetType()):
                foreach (var property in PublicProperties(expected.GetType()))
                {
                    AssertDeepEqual(property.GetValue(expected), property.GetValue(actual), $"{path}.{property.Name}");
                }

                break;
            default:
                Assert.True(Equals(expected, actual), $"{path}: expected {expected}, got {actual}");
                break;
        }
    }
}
