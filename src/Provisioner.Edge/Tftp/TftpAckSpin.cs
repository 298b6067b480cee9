using System.Diagnostics;

namespace Provisioner.Edge.Tftp;

/// <summary>
/// How long a lock-step transfer on a dedicated thread polls for the client's next ACK before it sleeps in a blocking
/// <c>recv</c>. Lock-step speed is the round trip per block, and a thread asleep in <c>recv</c> adds a wake-up to
/// every one: the kernel queues the ACK, wakes the thread, and an idle CPU first has to come out of its idle state
/// (on a virtual machine, an exit to the hypervisor). A thread that polls for a short while is still running when
/// the ACK lands and sends the next block at once.
/// <para>
/// Polling costs a CPU, so it is only done while it pays: while no more transfers run than half the processors
/// (the other half is for everything else, and on one machine for the client), and while the client's ACKs have
/// been arriving within the poll window (an average over recent blocks, so a client behind a real network with a
/// longer round trip, or a slow firmware, is never polled for and costs nothing). Pure: the caller measures.
/// </para>
/// </summary>
internal struct TftpAckSpin
{
    /// <summary>The longest a thread polls before it blocks.</summary>
    public static readonly long LimitTicks = Stopwatch.Frequency / 10_000; // 100 µs

    /// <summary>Poll only while recent ACKs came within this on average.</summary>
    public static readonly long AverageLimitTicks = LimitTicks * 3 / 4;

    private static readonly int s_processors = Environment.ProcessorCount;

    // Exponentially weighted average of the ACK wait, weight 1/8 per block; 0 until the first one.
    private long _averageTicks;

    /// <summary>The average wait for an ACK so far (Stopwatch ticks).</summary>
    public readonly long AverageTicks => _averageTicks;

    /// <summary>How long to poll before blocking (Stopwatch ticks, 0 = block at once).</summary>
    public readonly long Budget(int runningTransfers, int windowSize) => Budget(runningTransfers, windowSize, s_processors);

    /// <summary>
    /// <see cref="Budget(int, int)"/> for a machine with <paramref name="processors"/> processors. Lock-step only: a
    /// client takes a whole window's worth of work before it ACKs, and polling through it on a second CPU slowed
    /// windowed transfers in the benchmarks (the CPU is then not free for the client and the kernel's deliveries).
    /// </summary>
    public readonly long Budget(int runningTransfers, int windowSize, int processors) =>
        windowSize == 1 && runningTransfers * 2 <= processors && _averageTicks <= AverageLimitTicks ? LimitTicks : 0;

    /// <summary>Records how long the client took to answer (from the send to the ACK's arrival).</summary>
    public void Observe(long waitedTicks)
    {
        waitedTicks = Math.Max(0, waitedTicks);
        _averageTicks = _averageTicks == 0 ? waitedTicks : _averageTicks + ((waitedTicks - _averageTicks) / 8);
    }
}
