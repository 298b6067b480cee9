using static Provisioner.Domain.Machines.MachineCommands;
using static Provisioner.Domain.Machines.MachineEvents;

namespace Provisioner.Domain.Machines;

/// <summary>
/// The machine state machine: DISCOVER → NBP → kernel → kickstart → installed → rebooted.
/// <see cref="Decide"/> holds the rules and never mutates; <see cref="Apply"/> folds a fact into the state,
/// is total and deterministic, and never reads a clock. A repeated input (a DHCP retransmission, a TFTP or
/// HTTP retry, a late report of a stage already passed) decides to <see cref="DecisionOutcome.Unchanged"/>.
/// </summary>
public static class Machine
{
    /// <summary>
    /// Whether a fetch report (<see cref="ReportBootScriptServed"/>, <see cref="ReportKernelFetched"/>,
    /// <see cref="ReportInitrdFetched"/>) would record anything against <paramref name="state"/>. An edge holding a
    /// fresh copy of the state uses it to skip the round trip to the actor for a repeat the actor would ignore (a
    /// client fetching again, a machine that never booted from us); whatever is sent, the actor still decides.
    /// </summary>
    public static bool WouldRecord(MachineState state, MachineCommand report)
    {
        ArgumentNullException.ThrowIfNull(report);
        return report is ReportBootScriptServed or ReportKernelFetched or ReportInitrdFetched
            ? Decide(state, report, MachinePolicy.Default).Outcome == DecisionOutcome.Accepted
            : throw new ArgumentException($"{report.GetType().Name} is not a fetch report", nameof(report));
    }

    public static Decision Decide(MachineState state, MachineCommand command, MachinePolicy policy)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(command);
        ArgumentNullException.ThrowIfNull(policy);

        return command switch
        {
            RequestBoot c => WithLease(state, DecideBoot(state, c), c),
            RecordLease c => state.Address == c.Address && state.Subnet == c.Subnet
                ? Decision.Unchanged()
                : Decision.Accept(new LeaseRecorded(c.At, c.Address, c.Subnet)),
            ReportNbpServed c => DecideProgress(state, c, MachineStage.NbpServed, () => new NbpServed(c.At, c.File)),
            ReportKernelFetched c => DecideProgress(state, c, MachineStage.KernelFetched, () => new KernelFetched(c.At, c.Path)),
            ReportKickstartFetched c => DecideProgress(state, c, MachineStage.KickstartFetched, () => new KickstartFetched(c.At)),
            ReportBootScriptServed c => DecideSideFetch(state, c, state.BootScriptServed || state.Stage >= MachineStage.KernelFetched, () => new BootScriptServed(c.At)),
            ReportInitrdFetched c => DecideSideFetch(state, c, state.InitrdFetched || state.Stage > MachineStage.KernelFetched, () => new InitrdFetched(c.At, c.Path)),
            ReportInstalled c => state.Stage switch
            {
                MachineStage.New => Decision.Rejected("no install is under way for this machine"),
                MachineStage.Installed or MachineStage.Rebooted => Decision.Unchanged(),
                _ when FromEarlierAttempt(state, c, MachineStage.Installed) => StaleReport(state, c),
                // An install that phones home did succeed, even after its deadlines made it Failed.
                _ => Decision.Accept(new Installed(c.At)),
            },
            ReportBooted c => state.Stage switch
            {
                MachineStage.Installed => Decision.Accept(new Rebooted(c.At, "phone-home")),
                // The installed OS phoning home proves the install, even if %post's report was lost and deadlines failed it.
                MachineStage.Failed => Decision.Accept(new Installed(c.At), new Rebooted(c.At, "phone-home")),
                MachineStage.Rebooted => Decision.Unchanged(),
                _ => Decision.Rejected($"machine is {state.Stage}, not installed"),
            },
            ReportFailure c => state.Stage switch
            {
                MachineStage.Failed => Decision.Unchanged(),
                _ when state.Stage.IsInstalling() => Decision.Accept(new Failed(c.At, state.Stage, c.Reason)),
                _ => Decision.Rejected($"machine is {state.Stage}, no install to fail"),
            },
            CheckDeadline c => DecideDeadline(state, c, policy),
            Reprovision c => state.Stage == MachineStage.New
                ? Decision.Unchanged()
                : Decision.Accept(new Reprovisioned(c.At, c.RequestedBy)),
            _ => Decision.Rejected($"unknown command {command.GetType().Name}"),
        };
    }

    /// <summary>
    /// What a DHCP DISCOVER from this machine is offered, without deciding anything: an OFFER commits nothing (RFC 2131
    /// §4.3.1 does not require a server to remember it), so nothing is persisted until the REQUEST.
    /// </summary>
    public static BootAction Preview(MachineState state, RequestBoot request)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(request);
        return DecideBoot(state, request).Boot;
    }

    /// <summary>A boot that will be answered records the lease it is answered with, if the machine does not hold it already.</summary>
    private static Decision WithLease(MachineState state, Decision boot, RequestBoot c)
    {
        if (c.Address is null || c.Subnet is null || boot.Outcome == DecisionOutcome.Rejected || boot.Boot == BootAction.None)
        {
            return boot;
        }

        var after = boot.Events.Aggregate(state, Apply);
        return after.Address == c.Address && after.Subnet == c.Subnet
            ? boot
            : new Decision(DecisionOutcome.Accepted, boot.Boot, [.. boot.Events, new LeaseRecorded(c.At, c.Address, c.Subnet)], boot.Reason);
    }

    private static Decision DecideBoot(MachineState state, RequestBoot c)
    {
        var boot = c.FirmwareIsIpxe ? BootAction.BootScript : BootAction.Nbp;
        Decision Start() => Decision.Accept(boot, c.Path is { } path
            ? new DiscoveredOnPath(c.At, c.Architecture, c.FirmwareIsIpxe, c.Profile, state.Attempt + 1, path.Via, path.Relay, path.Firmware)
            : new Discovered(c.At, c.Architecture, c.FirmwareIsIpxe, c.Profile, state.Attempt + 1));

        return state.Stage switch
        {
            MachineStage.New => Start(),
            // Retransmission, or REQUEST after DISCOVER: same answer. After a missed deadline a new boot is a retry.
            MachineStage.Discovered => state.StageTimedOut ? Start() : Decision.Unchanged(boot),
            // iPXE (just served over TFTP) asking again is the normal chain; plain PXE firmware again means a reboot.
            MachineStage.NbpServed => c.FirmwareIsIpxe && !state.StageTimedOut ? Decision.Unchanged(boot) : Start(),
            // PXE boot in the middle of the install: the machine was reset; start over.
            MachineStage.KernelFetched or MachineStage.KickstartFetched => Start(),
            MachineStage.Installed => Decision.Accept(BootAction.LocalDisk, new Rebooted(c.At, "local-boot")),
            MachineStage.Rebooted => Decision.Unchanged(BootAction.LocalDisk),
            // A failed machine stays silent so it can fall through to its next boot device; an operator reprovisions.
            MachineStage.Failed => Decision.Unchanged(BootAction.None),
            _ => Decision.Rejected($"unknown stage {state.Stage}"),
        };
    }

    /// <summary>A report that moves the install forward to <paramref name="target"/> (stages may be skipped: iPXE firmware has no NBP stage).</summary>
    private static Decision DecideProgress(MachineState state, MachineCommand report, MachineStage target, Func<IMachineEvent> fact)
    {
        if (state.Stage == MachineStage.New)
        {
            return Decision.Rejected($"no boot was offered to this machine, ignoring {target}");
        }

        if (FromEarlierAttempt(state, report, target))
        {
            return StaleReport(state, report);
        }

        return state.Stage.IsInstalling() && state.Stage < target
            ? Decision.Accept(fact())
            : Decision.Unchanged();
    }

    /// <summary>
    /// A fetch recorded once per attempt that does not move the stage (boot script, initrd). Both come after the NBP
    /// and around the kernel: the initrd's report may arrive just after the kernel's, so only a report dated before a
    /// stage earlier than <see cref="MachineStage.KernelFetched"/> is taken for an earlier attempt's.
    /// </summary>
    private static Decision DecideSideFetch(MachineState state, MachineCommand report, bool alreadyRecorded, Func<IMachineEvent> fact)
    {
        if (state.Stage == MachineStage.New)
        {
            return Decision.Rejected("no boot was offered to this machine");
        }

        if (FromEarlierAttempt(state, report, MachineStage.KernelFetched))
        {
            return StaleReport(state, report);
        }

        return state.Stage.IsInstalling() && !alreadyRecorded ? Decision.Accept(fact()) : Decision.Unchanged();
    }

    /// <summary>
    /// A report that an edge held back (its cores were unreachable) can reach the machine after it PXE-booted again and
    /// started a new attempt; recorded then, the old attempt's progress would be credited to the new one. The state
    /// keeps no attempt start (it is frozen: a new field would misread every snapshot written before), but it keeps
    /// when the current stage was entered, and within one attempt a fact that only ever follows that stage (one of
    /// <paramref name="before"/> or later) cannot be dated before it: such a report is from an earlier attempt. Exact
    /// while the new attempt is still Discovered (the stage entry is the attempt's start); in later stages it catches
    /// every report of a stage beyond the current one. All of one attempt's reports carry the clock of the edge the
    /// machine boots from (its DHCP reply names that edge for TFTP and HTTP), so clocks of other nodes do not matter.
    /// </summary>
    private static bool FromEarlierAttempt(MachineState state, MachineCommand report, MachineStage before) =>
        state.Stage.IsInstalling() && state.Stage < before && state.StageEnteredAt is { } entered && report.At < entered;

    private static Decision StaleReport(MachineState state, MachineCommand report) =>
        new(DecisionOutcome.Unchanged, BootAction.None, [], $"{report.GetType().Name} at {report.At:O} is from an attempt before attempt {state.Attempt} (stage {state.Stage} entered at {state.StageEnteredAt:O})");

    private static Decision DecideDeadline(MachineState state, CheckDeadline c, MachinePolicy policy)
    {
        if (policy.DeadlineOf(state) is not { } deadline || c.At < deadline)
        {
            return Decision.Unchanged();
        }

        var timedOut = new StageTimedOut(c.At, state.Stage, state.Attempt);
        return state.Timeouts + 1 >= policy.MaxTimeouts
            ? Decision.Accept(timedOut, new Failed(c.At, state.Stage, $"{state.Timeouts + 1} missed deadlines, the last in {state.Stage}"))
            : Decision.Accept(timedOut);
    }

    public static MachineState Apply(MachineState state, IMachineEvent @event)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(@event);

        var next = @event switch
        {
            Discovered e => EnterStage(state, MachineStage.Discovered, e.At) with
            {
                Attempt = e.Attempt,
                Architecture = e.Architecture,
                FirmwareIsIpxe = e.FirmwareIsIpxe,
                Profile = e.Profile ?? state.Profile,
                BootScriptServed = false,
                InitrdFetched = false,
                FailureReason = null,
                FirstSeenAt = state.FirstSeenAt ?? e.At,
            },
            LeaseRecorded e => state with { Address = e.Address, Subnet = e.Subnet },
            NbpServed e => EnterStage(state, MachineStage.NbpServed, e.At),
            BootScriptServed => state with { BootScriptServed = true },
            KernelFetched e => EnterStage(state, MachineStage.KernelFetched, e.At),
            InitrdFetched => state with { InitrdFetched = true },
            KickstartFetched e => EnterStage(state, MachineStage.KickstartFetched, e.At),
            Installed e => EnterStage(state, MachineStage.Installed, e.At) with { InstalledAt = e.At, FailureReason = null },
            Rebooted e => EnterStage(state, MachineStage.Rebooted, e.At),
            StageTimedOut e => state with { StageTimedOut = true, StageTimedOutAt = e.At, Timeouts = state.Timeouts + 1 },
            Failed e => EnterStage(state, MachineStage.Failed, e.At) with { FailureReason = e.Reason },
            Reprovisioned e => EnterStage(state, MachineStage.New, e.At) with
            {
                Attempt = 0,
                Timeouts = 0,
                FailureReason = null,
                InstalledAt = null,
                BootScriptServed = false,
                InitrdFetched = false,
            },
            // Total: an event this version does not know only dates LastChangedAt.
            _ => state,
        };

        return next with { LastChangedAt = @event.At };
    }

    /// <summary>
    /// The state a snapshot holds, as this version keeps it. A snapshot written while the state still carried every
    /// event (<see cref="MachineState.History"/>) gives them up here: they are in the machine's journal as well, and a
    /// state that kept them would go on carrying them into every push to the edges and every later snapshot.
    /// </summary>
    public static MachineState FromSnapshot(MachineState snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
#pragma warning disable PV0001 // the one place that reads the legacy history: to drop it
        // The shared empty array, as a state built by Apply holds, so that recovered states compare equal to rebuilt
        // ones (a record compares the list by reference).
        return ReferenceEquals(snapshot.History, Array.Empty<IMachineEvent>()) ? snapshot : snapshot with { History = Array.Empty<IMachineEvent>() };
#pragma warning restore PV0001
    }

    public static MachineState Replay(string machineId, IEnumerable<IMachineEvent> events) =>
        events.Aggregate(MachineState.Empty(machineId), Apply);

    private static MachineState EnterStage(MachineState state, MachineStage stage, DateTimeOffset at) =>
        state with { Stage = stage, StageEnteredAt = at, StageTimedOut = false, StageTimedOutAt = null };
}
