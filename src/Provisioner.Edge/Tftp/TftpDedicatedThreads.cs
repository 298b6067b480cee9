namespace Provisioner.Edge.Tftp;

/// <summary>
/// At most <c>limit</c> threads, each running one transfer to its end with blocking socket calls
/// (<see cref="TftpServerOptions.DedicatedThreads"/>). A lock-step transfer is one round trip per block, and on
/// the async path every ACK travels from the socket engine's epoll thread to a thread-pool worker before the next
/// DATA leaves; a thread blocked in <c>recv</c> is woken by the kernel and sends at once, as tftpd-hpa's process
/// per transfer does. Threads are created per transfer (a start costs far less than the shortest NBP download)
/// and end with it, so none idle; past the limit <see cref="TryStart"/> says no and the transfer takes the async
/// path. Thread-safe.
/// </summary>
internal sealed class TftpDedicatedThreads(int limit)
{
    /// <summary>A transfer needs little stack (no recursion; the async methods complete synchronously, one frame each).</summary>
    private const int StackBytes = 256 * 1024;

    private int _running;

    /// <summary>Threads running a transfer now (never more than the limit).</summary>
    public int Running => Volatile.Read(ref _running);

    /// <summary>
    /// Runs <paramref name="work"/> on a new background thread named <paramref name="name"/> when fewer than the limit
    /// are running; false (nothing started) when the limit is reached or the runtime cannot create a thread.
    /// </summary>
    public bool TryStart(Action work, string name)
    {
        ArgumentNullException.ThrowIfNull(work);
        if (Interlocked.Increment(ref _running) > limit)
        {
            Interlocked.Decrement(ref _running);
            return false;
        }

        var thread = new Thread(
            () =>
            {
                try
                {
                    work();
                }
                finally
                {
                    Interlocked.Decrement(ref _running);
                }
            },
            StackBytes)
        {
            IsBackground = true,
            Name = name,
        };
        try
        {
            // Unsafe: the transfer must not inherit the receive loop's execution context (nothing in it is the transfer's).
            thread.UnsafeStart();
            return true;
        }
        catch (Exception e) when (e is OutOfMemoryException or ThreadStartException)
        {
            // the process is out of threads (or memory for a stack): the async path needs neither
            Interlocked.Decrement(ref _running);
            return false;
        }
    }
}
