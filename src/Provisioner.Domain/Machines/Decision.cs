namespace Provisioner.Domain.Machines;

/// <summary>What a PXE client is told.</summary>
public enum BootAction
{
    /// <summary>Not a boot request, or stay silent (failed machine waiting for an operator).</summary>
    None = 0,

    /// <summary>Download the network boot program (iPXE) over TFTP; the file follows from the architecture.</summary>
    Nbp = 1,

    /// <summary>Firmware is iPXE already: chain to the machine's HTTP boot script.</summary>
    BootScript = 2,

    /// <summary>Installed: boot from the local disk.</summary>
    LocalDisk = 3,
}

public enum DecisionOutcome
{
    /// <summary>New facts: persist the events, then act.</summary>
    Accepted = 0,

    /// <summary>Nothing new (a retransmission, a retry, a late report): act, persist nothing.</summary>
    Unchanged = 1,

    /// <summary>Not valid in this state; <see cref="Decision.Reason"/> says why.</summary>
    Rejected = 2,
}

public sealed record Decision(DecisionOutcome Outcome, BootAction Boot, IReadOnlyList<IMachineEvent> Events, string? Reason = null)
{
    public static Decision Unchanged(BootAction boot = BootAction.None) => new(DecisionOutcome.Unchanged, boot, []);

    public static Decision Rejected(string reason) => new(DecisionOutcome.Rejected, BootAction.None, [], reason);

    public static Decision Accept(BootAction boot, params IMachineEvent[] events) => new(DecisionOutcome.Accepted, boot, events);

    public static Decision Accept(params IMachineEvent[] events) => new(DecisionOutcome.Accepted, BootAction.None, events);
}
