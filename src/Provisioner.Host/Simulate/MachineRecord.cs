namespace Provisioner.Host.Simulate;

/// <summary>
/// One simulated machine's bookkeeping: when each stage began and ended (as offsets from the start of the run, so it
/// reads no clock), the addresses it was ACKed, and where and why it stopped if it did not finish. Owned by the one
/// task that drives the machine; read once that task has ended.
/// </summary>
public sealed class MachineRecord(int index, string mac)
{
    private readonly TimeSpan?[] _durations = new TimeSpan?[SimStages.All.Count];
    private readonly List<string> _addresses = [];
    private TimeSpan _stageStartedAt;

    public int Index { get; } = index;

    /// <summary>aa:bb:cc:dd:ee:ff.</summary>
    public string Mac { get; } = mac;

    public TimeSpan? StartedAt { get; private set; }

    public TimeSpan? EndedAt { get; private set; }

    /// <summary>The stage under way (or the one it failed in); null before the first.</summary>
    public SimStage? Current { get; private set; }

    public SimStage? FailedAt { get; private set; }

    public string? FailureReason { get; private set; }

    /// <summary>Boot attempts that failed before the one the machine is on (each followed by a power-on), with where and why.</summary>
    public IReadOnlyList<(SimStage Stage, string Reason)> Reboots => _reboots;

    private readonly List<(SimStage Stage, string Reason)> _reboots = [];

    /// <summary>
    /// The boot attempt under way failed for <paramref name="reason"/> and the machine powers on again: the stages start
    /// over (their times are the last attempt's); the total still counts from the first power-on.
    /// </summary>
    public void Reboot(string reason, TimeSpan now)
    {
        if (EndedAt is not null)
        {
            throw new InvalidOperationException($"{Mac} has already ended");
        }

        StartedAt ??= now;
        _reboots.Add((Current ?? SimStages.All[0], reason));
        Array.Clear(_durations);
        Current = null;
    }

    /// <summary>Every address the edge ACKed this machine, once each, in order.</summary>
    public IReadOnlyList<string> Addresses => _addresses;

    public bool Completed => EndedAt is not null && FailedAt is null;

    /// <summary>From the first DISCOVER to the phone-home's answer; null unless the machine completed.</summary>
    public TimeSpan? Total => Completed ? EndedAt - StartedAt : null;

    /// <summary>How long <paramref name="stage"/> took, if the machine got through it.</summary>
    public TimeSpan? Duration(SimStage stage) => _durations[(int)stage];

    public void Begin(SimStage stage, TimeSpan now)
    {
        if (EndedAt is not null)
        {
            throw new InvalidOperationException($"{Mac} has already ended");
        }

        StartedAt ??= now;
        Current = stage;
        _stageStartedAt = now;
    }

    /// <summary>The stage under way is done.</summary>
    public void EndStage(TimeSpan now)
    {
        if (Current is not { } stage || _durations[(int)stage] is not null || EndedAt is not null)
        {
            throw new InvalidOperationException($"{Mac}: no stage under way");
        }

        _durations[(int)stage] = now - _stageStartedAt;
    }

    public void Acked(string address)
    {
        if (!_addresses.Contains(address, StringComparer.Ordinal))
        {
            _addresses.Add(address);
        }
    }

    /// <summary>The machine got through its last stage.</summary>
    public void Complete(TimeSpan now)
    {
        if (Current != SimStages.All[^1] || Duration(SimStages.All[^1]) is null)
        {
            throw new InvalidOperationException($"{Mac} has not finished {SimStages.All[^1].Name()}");
        }

        EndedAt = now;
    }

    /// <summary>
    /// The machine boots the disk an earlier attempt installed (this attempt was offered no boot file): done, without
    /// this attempt's later stages.
    /// </summary>
    public void CompleteFromDisk(TimeSpan now)
    {
        if (Reboots.Count == 0)
        {
            throw new InvalidOperationException($"{Mac}: no earlier attempt installed a disk");
        }

        EndedAt = now;
    }

    /// <summary>The machine stops in the stage under way (or before the first) for <paramref name="reason"/>. The first failure wins.</summary>
    public void Fail(string reason, TimeSpan now)
    {
        if (EndedAt is not null)
        {
            return;
        }

        StartedAt ??= now;
        FailedAt = Current ?? SimStages.All[0];
        FailureReason = reason;
        EndedAt = now;
    }
}
