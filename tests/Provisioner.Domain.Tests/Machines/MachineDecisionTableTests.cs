using Provisioner.Domain.Machines;
using static Provisioner.Domain.Machines.BootAction;
using static Provisioner.Domain.Machines.DecisionOutcome;
using C = Provisioner.Domain.Tests.Machines.Canonical;
using E = Provisioner.Domain.Machines.MachineEvents;
using I = Provisioner.Domain.Tests.Machines.Inputs;
using S = Provisioner.Domain.Machines.MachineStage;

namespace Provisioner.Domain.Tests.Machines;

/// <summary>Every canonical state × every input, with the expected answer written out (STYLE.md convention 2).</summary>
public sealed class MachineDecisionTableTests
{
    private static readonly string[] NoEvents = [];
    private static readonly string[] Discovered = [nameof(E.Discovered)];
    private static readonly string[] Lease = [nameof(E.LeaseRecorded)];
    private static readonly string[] NbpServed = [nameof(E.NbpServed)];
    private static readonly string[] Script = [nameof(E.BootScriptServed)];
    private static readonly string[] Kernel = [nameof(E.KernelFetched)];
    private static readonly string[] Initrd = [nameof(E.InitrdFetched)];
    private static readonly string[] Kickstart = [nameof(E.KickstartFetched)];
    private static readonly string[] Installed = [nameof(E.Installed)];
    private static readonly string[] Rebooted = [nameof(E.Rebooted)];
    private static readonly string[] InstalledRebooted = [nameof(E.Installed), nameof(E.Rebooted)];
    private static readonly string[] TimedOut = [nameof(E.StageTimedOut)];
    private static readonly string[] Failed = [nameof(E.Failed)];
    private static readonly string[] Reprovisioned = [nameof(E.Reprovisioned)];

    /// <summary>state, input → outcome, boot action, events produced, stage after applying them.</summary>
    public static TheoryData<string, string, DecisionOutcome, BootAction, string[], S> Table { get; } = new()
    {
        // Never seen: only a PXE boot (or a lease) is news; reports about an install that never started are rejected.
        { C.New, I.BootIpxe,         Accepted,  BootScript, Discovered, S.Discovered },
        { C.New, I.BootPxe,          Accepted,  Nbp,        Discovered, S.Discovered },
        { C.New, I.LeaseSame,        Accepted,  None,       Lease,      S.New },
        { C.New, I.LeaseOther,       Accepted,  None,       Lease,      S.New },
        { C.New, I.NbpServed,        Rejected,  None,       NoEvents,   S.New },
        { C.New, I.BootScriptServed, Rejected,  None,       NoEvents,   S.New },
        { C.New, I.KernelFetched,    Rejected,  None,       NoEvents,   S.New },
        { C.New, I.InitrdFetched,    Rejected,  None,       NoEvents,   S.New },
        { C.New, I.KickstartFetched, Rejected,  None,       NoEvents,   S.New },
        { C.New, I.Installed,        Rejected,  None,       NoEvents,   S.New },
        { C.New, I.Booted,           Rejected,  None,       NoEvents,   S.New },
        { C.New, I.Failure,          Rejected,  None,       NoEvents,   S.New },
        { C.New, I.DeadlineBefore,   Unchanged, None,       NoEvents,   S.New },
        { C.New, I.DeadlineAfter,    Unchanged, None,       NoEvents,   S.New },
        { C.New, I.Reprovision,      Unchanged, None,       NoEvents,   S.New },

        // Discovered by plain PXE firmware: a second DHCP packet is a retransmission (or an early iPXE chain).
        { C.Discovered, I.BootIpxe,         Unchanged, BootScript, NoEvents,      S.Discovered },
        { C.Discovered, I.BootPxe,          Unchanged, Nbp,        NoEvents,      S.Discovered },
        { C.Discovered, I.LeaseSame,        Unchanged, None,       NoEvents,      S.Discovered },
        { C.Discovered, I.LeaseOther,       Accepted,  None,       Lease,         S.Discovered },
        { C.Discovered, I.NbpServed,        Accepted,  None,       NbpServed,     S.NbpServed },
        { C.Discovered, I.BootScriptServed, Accepted,  None,       Script,        S.Discovered },
        { C.Discovered, I.KernelFetched,    Accepted,  None,       Kernel,        S.KernelFetched },
        { C.Discovered, I.InitrdFetched,    Accepted,  None,       Initrd,        S.Discovered },
        { C.Discovered, I.KickstartFetched, Accepted,  None,       Kickstart,     S.KickstartFetched },
        { C.Discovered, I.Installed,        Accepted,  None,       Installed,     S.Installed },
        { C.Discovered, I.Booted,           Rejected,  None,       NoEvents,      S.Discovered },
        { C.Discovered, I.Failure,          Accepted,  None,       Failed,        S.Failed },
        { C.Discovered, I.DeadlineBefore,   Unchanged, None,       NoEvents,      S.Discovered },
        { C.Discovered, I.DeadlineAfter,    Accepted,  None,       TimedOut,      S.Discovered },
        { C.Discovered, I.Reprovision,      Accepted,  None,       Reprovisioned, S.New },

        // Discovered, deadline already missed: a new PXE boot is a retry (new attempt); no second timeout for one stage entry.
        { C.DiscoveredTimedOut, I.BootIpxe,         Accepted,  BootScript, Discovered,    S.Discovered },
        { C.DiscoveredTimedOut, I.BootPxe,          Accepted,  Nbp,        Discovered,    S.Discovered },
        { C.DiscoveredTimedOut, I.LeaseSame,        Unchanged, None,       NoEvents,      S.Discovered },
        { C.DiscoveredTimedOut, I.LeaseOther,       Accepted,  None,       Lease,         S.Discovered },
        { C.DiscoveredTimedOut, I.NbpServed,        Accepted,  None,       NbpServed,     S.NbpServed },
        { C.DiscoveredTimedOut, I.BootScriptServed, Accepted,  None,       Script,        S.Discovered },
        { C.DiscoveredTimedOut, I.KernelFetched,    Accepted,  None,       Kernel,        S.KernelFetched },
        { C.DiscoveredTimedOut, I.InitrdFetched,    Accepted,  None,       Initrd,        S.Discovered },
        { C.DiscoveredTimedOut, I.KickstartFetched, Accepted,  None,       Kickstart,     S.KickstartFetched },
        { C.DiscoveredTimedOut, I.Installed,        Accepted,  None,       Installed,     S.Installed },
        { C.DiscoveredTimedOut, I.Booted,           Rejected,  None,       NoEvents,      S.Discovered },
        { C.DiscoveredTimedOut, I.Failure,          Accepted,  None,       Failed,        S.Failed },
        { C.DiscoveredTimedOut, I.DeadlineBefore,   Unchanged, None,       NoEvents,      S.Discovered },
        { C.DiscoveredTimedOut, I.DeadlineAfter,    Accepted,  None,       TimedOut,      S.Discovered },
        { C.DiscoveredTimedOut, I.Reprovision,      Accepted,  None,       Reprovisioned, S.New },

        // NBP downloaded: iPXE asking is the normal chain; plain PXE firmware asking again means the machine was reset.
        { C.NbpServed, I.BootIpxe,         Unchanged, BootScript, NoEvents,      S.NbpServed },
        { C.NbpServed, I.BootPxe,          Accepted,  Nbp,        Discovered,    S.Discovered },
        { C.NbpServed, I.LeaseSame,        Unchanged, None,       NoEvents,      S.NbpServed },
        { C.NbpServed, I.LeaseOther,       Accepted,  None,       Lease,         S.NbpServed },
        { C.NbpServed, I.NbpServed,        Unchanged, None,       NoEvents,      S.NbpServed },
        { C.NbpServed, I.BootScriptServed, Accepted,  None,       Script,        S.NbpServed },
        { C.NbpServed, I.KernelFetched,    Accepted,  None,       Kernel,        S.KernelFetched },
        { C.NbpServed, I.InitrdFetched,    Accepted,  None,       Initrd,        S.NbpServed },
        { C.NbpServed, I.KickstartFetched, Accepted,  None,       Kickstart,     S.KickstartFetched },
        { C.NbpServed, I.Installed,        Accepted,  None,       Installed,     S.Installed },
        { C.NbpServed, I.Booted,           Rejected,  None,       NoEvents,      S.NbpServed },
        { C.NbpServed, I.Failure,          Accepted,  None,       Failed,        S.Failed },
        { C.NbpServed, I.DeadlineBefore,   Unchanged, None,       NoEvents,      S.NbpServed },
        { C.NbpServed, I.DeadlineAfter,    Accepted,  None,       TimedOut,      S.NbpServed },
        { C.NbpServed, I.Reprovision,      Accepted,  None,       Reprovisioned, S.New },

        // Kernel fetched (boot script already served, initrd not yet): any PXE boot means a reset; start over.
        { C.KernelFetched, I.BootIpxe,         Accepted,  BootScript, Discovered,    S.Discovered },
        { C.KernelFetched, I.BootPxe,          Accepted,  Nbp,        Discovered,    S.Discovered },
        { C.KernelFetched, I.LeaseSame,        Unchanged, None,       NoEvents,      S.KernelFetched },
        { C.KernelFetched, I.LeaseOther,       Accepted,  None,       Lease,         S.KernelFetched },
        { C.KernelFetched, I.NbpServed,        Unchanged, None,       NoEvents,      S.KernelFetched },
        { C.KernelFetched, I.BootScriptServed, Unchanged, None,       NoEvents,      S.KernelFetched },
        { C.KernelFetched, I.KernelFetched,    Unchanged, None,       NoEvents,      S.KernelFetched },
        { C.KernelFetched, I.InitrdFetched,    Accepted,  None,       Initrd,        S.KernelFetched },
        { C.KernelFetched, I.KickstartFetched, Accepted,  None,       Kickstart,     S.KickstartFetched },
        { C.KernelFetched, I.Installed,        Accepted,  None,       Installed,     S.Installed },
        { C.KernelFetched, I.Booted,           Rejected,  None,       NoEvents,      S.KernelFetched },
        { C.KernelFetched, I.Failure,          Accepted,  None,       Failed,        S.Failed },
        { C.KernelFetched, I.DeadlineBefore,   Unchanged, None,       NoEvents,      S.KernelFetched },
        { C.KernelFetched, I.DeadlineAfter,    Accepted,  None,       TimedOut,      S.KernelFetched },
        { C.KernelFetched, I.Reprovision,      Accepted,  None,       Reprovisioned, S.New },

        // Kickstart fetched: every earlier report is late; only Installed, a failure, a deadline or a reset move it.
        { C.KickstartFetched, I.BootIpxe,         Accepted,  BootScript, Discovered,    S.Discovered },
        { C.KickstartFetched, I.BootPxe,          Accepted,  Nbp,        Discovered,    S.Discovered },
        { C.KickstartFetched, I.LeaseSame,        Unchanged, None,       NoEvents,      S.KickstartFetched },
        { C.KickstartFetched, I.LeaseOther,       Accepted,  None,       Lease,         S.KickstartFetched },
        { C.KickstartFetched, I.NbpServed,        Unchanged, None,       NoEvents,      S.KickstartFetched },
        { C.KickstartFetched, I.BootScriptServed, Unchanged, None,       NoEvents,      S.KickstartFetched },
        { C.KickstartFetched, I.KernelFetched,    Unchanged, None,       NoEvents,      S.KickstartFetched },
        { C.KickstartFetched, I.InitrdFetched,    Unchanged, None,       NoEvents,      S.KickstartFetched },
        { C.KickstartFetched, I.KickstartFetched, Unchanged, None,       NoEvents,      S.KickstartFetched },
        { C.KickstartFetched, I.Installed,        Accepted,  None,       Installed,     S.Installed },
        { C.KickstartFetched, I.Booted,           Rejected,  None,       NoEvents,      S.KickstartFetched },
        { C.KickstartFetched, I.Failure,          Accepted,  None,       Failed,        S.Failed },
        { C.KickstartFetched, I.DeadlineBefore,   Unchanged, None,       NoEvents,      S.KickstartFetched },
        { C.KickstartFetched, I.DeadlineAfter,    Accepted,  None,       TimedOut,      S.KickstartFetched },
        { C.KickstartFetched, I.Reprovision,      Accepted,  None,       Reprovisioned, S.New },

        // Installed: the next PXE boot goes to the local disk, never a reinstall.
        { C.Installed, I.BootIpxe,         Accepted,  LocalDisk, Rebooted,      S.Rebooted },
        { C.Installed, I.BootPxe,          Accepted,  LocalDisk, Rebooted,      S.Rebooted },
        { C.Installed, I.LeaseSame,        Unchanged, None,      NoEvents,      S.Installed },
        { C.Installed, I.LeaseOther,       Accepted,  None,      Lease,         S.Installed },
        { C.Installed, I.NbpServed,        Unchanged, None,      NoEvents,      S.Installed },
        { C.Installed, I.BootScriptServed, Unchanged, None,      NoEvents,      S.Installed },
        { C.Installed, I.KernelFetched,    Unchanged, None,      NoEvents,      S.Installed },
        { C.Installed, I.InitrdFetched,    Unchanged, None,      NoEvents,      S.Installed },
        { C.Installed, I.KickstartFetched, Unchanged, None,      NoEvents,      S.Installed },
        { C.Installed, I.Installed,        Unchanged, None,      NoEvents,      S.Installed },
        { C.Installed, I.Booted,           Accepted,  None,      Rebooted,      S.Rebooted },
        { C.Installed, I.Failure,          Rejected,  None,      NoEvents,      S.Installed },
        { C.Installed, I.DeadlineBefore,   Unchanged, None,      NoEvents,      S.Installed },
        { C.Installed, I.DeadlineAfter,    Unchanged, None,      NoEvents,      S.Installed },
        { C.Installed, I.Reprovision,      Accepted,  None,      Reprovisioned, S.New },

        // Rebooted: done; PXE keeps answering local disk, every install report is late.
        { C.Rebooted, I.BootIpxe,         Unchanged, LocalDisk, NoEvents,      S.Rebooted },
        { C.Rebooted, I.BootPxe,          Unchanged, LocalDisk, NoEvents,      S.Rebooted },
        { C.Rebooted, I.LeaseSame,        Unchanged, None,      NoEvents,      S.Rebooted },
        { C.Rebooted, I.LeaseOther,       Accepted,  None,      Lease,         S.Rebooted },
        { C.Rebooted, I.NbpServed,        Unchanged, None,      NoEvents,      S.Rebooted },
        { C.Rebooted, I.BootScriptServed, Unchanged, None,      NoEvents,      S.Rebooted },
        { C.Rebooted, I.KernelFetched,    Unchanged, None,      NoEvents,      S.Rebooted },
        { C.Rebooted, I.InitrdFetched,    Unchanged, None,      NoEvents,      S.Rebooted },
        { C.Rebooted, I.KickstartFetched, Unchanged, None,      NoEvents,      S.Rebooted },
        { C.Rebooted, I.Installed,        Unchanged, None,      NoEvents,      S.Rebooted },
        { C.Rebooted, I.Booted,           Unchanged, None,      NoEvents,      S.Rebooted },
        { C.Rebooted, I.Failure,          Rejected,  None,      NoEvents,      S.Rebooted },
        { C.Rebooted, I.DeadlineBefore,   Unchanged, None,      NoEvents,      S.Rebooted },
        { C.Rebooted, I.DeadlineAfter,    Unchanged, None,      NoEvents,      S.Rebooted },
        { C.Rebooted, I.Reprovision,      Accepted,  None,      Reprovisioned, S.New },

        // Failed: silent on PXE until an operator reprovisions; a phone-home from %post still wins.
        { C.Failed, I.BootIpxe,         Unchanged, None, NoEvents,      S.Failed },
        { C.Failed, I.BootPxe,          Unchanged, None, NoEvents,      S.Failed },
        { C.Failed, I.LeaseSame,        Unchanged, None, NoEvents,      S.Failed },
        { C.Failed, I.LeaseOther,       Accepted,  None, Lease,         S.Failed },
        { C.Failed, I.NbpServed,        Unchanged, None, NoEvents,      S.Failed },
        { C.Failed, I.BootScriptServed, Unchanged, None, NoEvents,      S.Failed },
        { C.Failed, I.KernelFetched,    Unchanged, None, NoEvents,      S.Failed },
        { C.Failed, I.InitrdFetched,    Unchanged, None, NoEvents,      S.Failed },
        { C.Failed, I.KickstartFetched, Unchanged, None, NoEvents,      S.Failed },
        { C.Failed, I.Installed,        Accepted,  None, Installed,     S.Installed },
        { C.Failed, I.Booted,           Accepted,  None, InstalledRebooted, S.Rebooted },
        { C.Failed, I.Failure,          Unchanged, None, NoEvents,      S.Failed },
        { C.Failed, I.DeadlineBefore,   Unchanged, None, NoEvents,      S.Failed },
        { C.Failed, I.DeadlineAfter,    Unchanged, None, NoEvents,      S.Failed },
        { C.Failed, I.Reprovision,      Accepted,  None, Reprovisioned, S.New },
    };

    [Theory]
    [MemberData(nameof(Table))]
    public void Decision_for_each_state_and_input_matches_the_table(
        string state, string input, DecisionOutcome outcome, BootAction boot, string[] events, S stageAfter)
    {
        var canonical = C.Get(state);
        var before = canonical.Build();
        var command = I.Create(input, canonical.Now);

        var decision = Machine.Decide(before, command, MachinePolicy.Default);

        Assert.Equal(outcome, decision.Outcome);
        Assert.Equal(boot, decision.Boot);
        Assert.Equal(events, decision.Events.Select(e => e.GetType().Name));
        Assert.All(decision.Events, e => Assert.Equal(command.At, e.At));
        if (outcome == Rejected)
        {
            Assert.False(string.IsNullOrWhiteSpace(decision.Reason));
        }
        else
        {
            Assert.Null(decision.Reason);
        }

        var after = decision.Events.Aggregate(before, Machine.Apply);
        Assert.Equal(stageAfter, after.Stage);
        Assert.Equal(events.Length == 0 ? before.LastChangedAt : command.At, after.LastChangedAt);
    }

    [Fact]
    public void Table_covers_every_stage_with_every_command_kind()
    {
        var commandKinds = typeof(MachineCommands).GetNestedTypes()
            .Where(t => t.IsSubclassOf(typeof(MachineCommand)))
            .ToList();
        var covered = Table
            .Select(row => (C.Get((string)row[0]).Stage, I.Create((string)row[1], C.T0).GetType()))
            .ToHashSet();

        var missing =
            from stage in Enum.GetValues<S>()
            from kind in commandKinds
            where !covered.Contains((stage, kind))
            select $"{stage} × {kind.Name}";

        Assert.Equal(12, commandKinds.Count);
        Assert.Empty(missing);
    }

    [Fact]
    public void Table_has_exactly_one_row_per_canonical_state_and_input()
    {
        var rows = Table.Select(row => ((string)row[0], (string)row[1])).ToList();
        var expected = (from state in C.All from input in I.Names select (state.Name, input)).ToList();

        Assert.Equal(rows.Count, rows.Distinct().Count());
        Assert.Equal(expected.OrderBy(r => r), rows.OrderBy(r => r));
    }

    public static TheoryData<string> CanonicalStates { get; } = [.. C.All.Select(s => s.Name)];

    [Theory]
    [MemberData(nameof(CanonicalStates))]
    public void Replaying_a_canonical_history_reaches_the_stage_it_stands_for(string state)
    {
        var canonical = C.Get(state);

        var machine = canonical.Build();

        Assert.Equal(canonical.Stage, machine.Stage);
        Assert.Equal(C.Mac, machine.MachineId);
        Assert.Equal(canonical.Events.Count == 0 ? null : canonical.Events[^1].At, machine.LastChangedAt);
        Assert.Equal(state == C.DiscoveredTimedOut, machine.StageTimedOut);
    }

    private sealed record Reboot(DateTimeOffset At) : MachineCommand(At);

    [Theory]
    [MemberData(nameof(CanonicalStates))]
    public void A_command_kind_this_version_does_not_know_is_rejected_by_name(string state)
    {
        var canonical = C.Get(state);

        var decision = Machine.Decide(canonical.Build(), new Reboot(canonical.Now), MachinePolicy.Default);

        Assert.Equal(Rejected, decision.Outcome);
        Assert.Empty(decision.Events);
        Assert.Contains(nameof(Reboot), decision.Reason, StringComparison.Ordinal);
    }
}
