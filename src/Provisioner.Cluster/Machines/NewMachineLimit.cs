using System.Diagnostics.Metrics;

namespace Provisioner.Cluster.Machines;

/// <summary>
/// The bound on machine actors that hold nothing durable (<c>machines.max-new-live</c>). A DISCOVER from a MAC never
/// seen starts a machine actor to ask what it boots, and nothing is persisted until its REQUEST; a flood of made-up
/// MACs on a subnet with free addresses would otherwise keep one actor per MAC for <c>passivate-new-after</c>, so
/// their number would be the flood's rate times 3 s. An actor whose recovery found nothing takes a slot
/// (<see cref="TryEnter"/>) and gives it back at its first persisted event or when it stops; without a slot it
/// answers previews with a refusal and stops at once (the firmware retransmits in 4 s). A machine's REQUEST is never
/// refused: it persists, and so leaves the count.
/// </summary>
public sealed class NewMachineLimit
{
    private static readonly Meter Meter = new("Provisioner.Cluster");
    private static readonly Counter<long> RefusedCounter = Meter.CreateCounter<long>("provisioner.machines.new_refused", description: "DISCOVER previews refused because machines.max-new-live actors held nothing durable");

    private int _live;
    private long _refused;

    public NewMachineLimit(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Capacity = capacity;
        RefusalReason = $"{capacity} machines that have persisted nothing are alive (machines.max-new-live): a flood of new MACs, or a rollout's DISCOVERs without REQUESTs";
    }

    /// <summary>No bound (tests that do not exercise it).</summary>
    public static NewMachineLimit Unbounded => new(int.MaxValue);

    public int Capacity { get; }

    /// <summary>Why a preview over the limit is refused (made once: a flood asks it for every new MAC).</summary>
    public string RefusalReason { get; }

    /// <summary>Machine actors alive that have persisted nothing and hold a slot.</summary>
    public int Live => Volatile.Read(ref _live);

    /// <summary>Previews refused for want of a slot since start.</summary>
    public long Refused => Interlocked.Read(ref _refused);

    public bool TryEnter()
    {
        var live = Volatile.Read(ref _live);
        while (live < Capacity)
        {
            var seen = Interlocked.CompareExchange(ref _live, live + 1, live);
            if (seen == live)
            {
                return true;
            }

            live = seen;
        }

        return false;
    }

    public void Leave() => Interlocked.Decrement(ref _live);

    public void CountRefusal()
    {
        Interlocked.Increment(ref _refused);
        RefusedCounter.Add(1);
    }
}
