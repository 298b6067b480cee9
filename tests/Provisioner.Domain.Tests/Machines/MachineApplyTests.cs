using Provisioner.Domain.Machines;
using static Provisioner.Domain.Machines.MachineEvents;
using C = Provisioner.Domain.Tests.Machines.Canonical;

namespace Provisioner.Domain.Tests.Machines;

/// <summary>Apply folds journaled facts on recovery: it must be total, deterministic and never throw.</summary>
public sealed class MachineApplyTests
{
    /// <summary>One instance of every event type, at a time later than every canonical state.</summary>
    private static readonly Dictionary<string, IMachineEvent> Samples = new IMachineEvent[]
    {
        new Discovered(C.At(600), C.BiosX86, true, null, 4),
        new DiscoveredOnPath(C.At(600), C.BiosX86, true, null, 4, BootPath.Relayed, "10.78.5.1", BootPath.Ipxe),
        new LeaseRecorded(C.At(600), "10.0.0.99", "10.0.0.0/24"),
        new NbpServed(C.At(600), "undionly.kpxe"),
        new BootScriptServed(C.At(600)),
        new KernelFetched(C.At(600), "/images/rocky9/vmlinuz"),
        new InitrdFetched(C.At(600), "/images/rocky9/initrd.img"),
        new KickstartFetched(C.At(600)),
        new Installed(C.At(600)),
        new Rebooted(C.At(600), "phone-home"),
        new StageTimedOut(C.At(600), MachineStage.KernelFetched, 2),
        new Failed(C.At(600), MachineStage.Discovered, "operator gave up"),
        new Reprovisioned(C.At(600), "bob"),
    }.ToDictionary(e => e.GetType().Name);

    /// <summary>An event written by a newer version of the code: recovery must survive it.</summary>
    private sealed record FirmwareUpdated(DateTimeOffset At, string Version) : IMachineEvent;

    public static TheoryData<string> CanonicalStates { get; } = [.. C.All.Select(s => s.Name)];

    public static TheoryData<string, string> EveryStateAndEvent { get; } = Build();

    private static TheoryData<string, string> Build()
    {
        var data = new TheoryData<string, string>();
        foreach (var state in C.All)
        {
            foreach (var name in Samples.Keys)
            {
                data.Add(state.Name, name);
            }
        }

        return data;
    }

    [Fact]
    public void Samples_cover_every_event_type()
    {
        var eventTypes = typeof(MachineEvents).GetNestedTypes()
            .Where(t => typeof(IMachineEvent).IsAssignableFrom(t))
            .Select(t => t.Name);

        Assert.Equal(eventTypes.Order(), Samples.Keys.Order());
    }

    [Theory]
    [MemberData(nameof(EveryStateAndEvent))]
    public void Any_event_applies_to_any_state_without_throwing_and_dates_the_last_change(string state, string eventName)
    {
        var before = C.Get(state).Build();
        var @event = Samples[eventName];

        var after = Machine.Apply(before, @event);

        Assert.Equal(@event.At, after.LastChangedAt);
        Assert.Equal(C.Mac, after.MachineId);
        Assert.Equal(C.Get(state).Build(), before);
    }

    [Theory]
    [MemberData(nameof(EveryStateAndEvent))]
    public void Apply_keeps_no_events_in_the_state(string state, string eventName)
    {
        var after = Machine.Apply(C.Get(state).Build(), Samples[eventName]);

        // The events are the journal's; the state stays the same size however many are applied.
#pragma warning disable PV0001
        Assert.Same(Array.Empty<IMachineEvent>(), after.History);
#pragma warning restore PV0001
    }

    [Theory]
    [MemberData(nameof(CanonicalStates))]
    public void A_snapshot_that_carries_the_events_as_old_versions_wrote_them_gives_them_up_and_keeps_everything_else(string state)
    {
        var canonical = C.Get(state);
        var built = canonical.Build();
#pragma warning disable PV0001
        var written = built with { History = canonical.Events.ToArray() };

        var recovered = Machine.FromSnapshot(written);

        Assert.Same(Array.Empty<IMachineEvent>(), recovered.History);
#pragma warning restore PV0001
        Assert.Equal(built, recovered);
        Assert.Same(built, Machine.FromSnapshot(built));
    }

    [Theory]
    [MemberData(nameof(CanonicalStates))]
    public void Replaying_the_same_events_twice_gives_equal_states(string state)
    {
        var events = C.Get(state).Events;

        var first = Machine.Replay(C.Mac, events);
        var second = Machine.Replay(C.Mac, events.ToList());

        Assert.Equal(first, second);
        Assert.Equal(events.Count == 0 ? null : events[^1].At, second.LastChangedAt);
    }

    [Fact]
    public void Replaying_a_journal_with_every_event_type_is_deterministic()
    {
        IMachineEvent[] journal =
        [
            .. C.Get(C.Failed).Events,
            new Reprovisioned(C.At(40), "alice"),
            new Discovered(C.At(41), C.BiosX86, true, "rocky9", 1),
            new StageTimedOut(C.At(46), MachineStage.Discovered, 1),
            new Discovered(C.At(47), C.BiosX86, true, null, 2),
            new BootScriptServed(C.At(47)),
            new KernelFetched(C.At(48), "/images/rocky9/vmlinuz"),
            new InitrdFetched(C.At(48), "/images/rocky9/initrd.img"),
            new KickstartFetched(C.At(49)),
            new Installed(C.At(80)),
            new Rebooted(C.At(85), "phone-home"),
            new FirmwareUpdated(C.At(86), "2.1"),
        ];

        var first = Machine.Replay(C.Mac, journal);
        var second = journal.Aggregate(MachineState.Empty(C.Mac), Machine.Apply);

        Assert.Equal(first, second);
        Assert.Equal(MachineStage.Rebooted, second.Stage);
        Assert.Equal(2, second.Attempt);
        Assert.Equal(1, second.Timeouts);
        Assert.Equal(C.At(0), second.FirstSeenAt);
        Assert.Equal(C.At(80), second.InstalledAt);
        Assert.Equal(C.At(86), second.LastChangedAt);
    }

    [Theory]
    [MemberData(nameof(CanonicalStates))]
    public void Unknown_event_changes_nothing_but_the_last_change_time(string state)
    {
        var before = C.Get(state).Build();
        var unknown = new FirmwareUpdated(C.At(700), "2.1");

        var after = Machine.Apply(before, unknown);

        Assert.Equal(before with { LastChangedAt = unknown.At }, after);
    }

    [Fact]
    public void Apply_refuses_a_null_event_rather_than_journaling_it()
    {
        Assert.Throws<ArgumentNullException>(() => Machine.Apply(MachineState.Empty(C.Mac), null!));
    }

    [Fact]
    public void Entering_a_stage_records_when_and_clears_the_missed_deadline_flag()
    {
        var timedOut = C.Get(C.DiscoveredTimedOut).Build();

        var next = Machine.Apply(timedOut, new NbpServed(C.At(6), "ipxe.efi"));

        Assert.True(timedOut.StageTimedOut);
        Assert.Equal(MachineStage.NbpServed, next.Stage);
        Assert.Equal(C.At(6), next.StageEnteredAt);
        Assert.False(next.StageTimedOut);
        Assert.Equal(1, next.Timeouts);
    }

    [Fact]
    public void Stage_timed_out_counts_the_miss_without_leaving_the_stage()
    {
        var kernel = C.Get(C.KernelFetched).Build();

        var next = Machine.Apply(kernel, new StageTimedOut(C.At(20), MachineStage.KernelFetched, 1));

        Assert.Equal(MachineStage.KernelFetched, next.Stage);
        Assert.Equal(C.At(3), next.StageEnteredAt);
        Assert.True(next.StageTimedOut);
        Assert.Equal(1, next.Timeouts);
    }

    [Fact]
    public void Discovered_starts_a_fresh_attempt_but_keeps_first_seen_lease_and_profile()
    {
        var kickstart = C.Get(C.KickstartFetched).Build();

        var next = Machine.Apply(kickstart, new Discovered(C.At(10), C.UefiX64, true, null, 2));

        Assert.Equal(MachineStage.Discovered, next.Stage);
        Assert.Equal(2, next.Attempt);
        Assert.True(next.FirmwareIsIpxe);
        Assert.False(next.BootScriptServed);
        Assert.False(next.InitrdFetched);
        Assert.Equal(C.Profile, next.Profile);
        Assert.Equal(C.At(0), next.FirstSeenAt);
        Assert.Equal((C.Address, C.Subnet), (next.Address, next.Subnet));
    }

    [Fact]
    public void Installed_clears_the_failure_and_records_when()
    {
        var failed = C.Get(C.Failed).Build();

        var next = Machine.Apply(failed, new Installed(C.At(25)));

        Assert.NotNull(failed.FailureReason);
        Assert.Equal(MachineStage.Installed, next.Stage);
        Assert.Null(next.FailureReason);
        Assert.Equal(C.At(25), next.InstalledAt);
    }

    [Fact]
    public void Reprovisioned_forgets_the_install_but_keeps_identity_lease_and_first_seen()
    {
        var installed = Machine.Apply(C.Get(C.DiscoveredTimedOut).Build(), new Failed(C.At(6), MachineStage.Discovered, "x"));
        installed = Machine.Apply(installed, new Installed(C.At(30)));

        var next = Machine.Apply(installed, new Reprovisioned(C.At(40), "alice"));

        Assert.Equal(MachineStage.New, next.Stage);
        Assert.Equal(C.At(40), next.StageEnteredAt);
        Assert.Equal(0, next.Attempt);
        Assert.Equal(0, next.Timeouts);
        Assert.Null(next.InstalledAt);
        Assert.Null(next.FailureReason);
        Assert.False(next.BootScriptServed);
        Assert.False(next.InitrdFetched);
        Assert.Equal(C.Mac, next.MachineId);
        Assert.Equal(C.Address, next.Address);
        Assert.Equal(C.At(0), next.FirstSeenAt);
    }
}
