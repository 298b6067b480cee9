namespace Provisioner.Edge.Tftp;

/// <summary>
/// At most <c>limit</c> threads, each running one transfer at a time to its end with blocking socket calls
/// (<see cref="TftpServerOptions.DedicatedThreads"/>). A transfer is one round trip per block (lock-step) or per
/// window (RFC 7440), and on the async path every ACK travels from the socket engine's epoll thread to a thread-pool
/// worker before the next DATA leaves; a thread blocked in <c>recv</c> is woken by the kernel and sends at once, as
/// tftpd-hpa's process and atftpd's thread per transfer do.
/// <para>
/// Threads are created on first need and then kept, parked, until <see cref="Stop"/>: the runtime's
/// <c>Thread.Start</c> waits until the new thread has been scheduled, which on a busy host would stall the
/// caller (the server's single receive loop) once per transfer; handing work to a parked thread is one wake-up.
/// Past the limit <see cref="TryStart"/> says no and the caller takes the async path. Thread-safe.
/// </para>
/// </summary>
internal sealed class TftpDedicatedThreads(int limit, string name)
{
    /// <summary>A transfer needs little stack (no recursion; its async methods complete synchronously, one frame each).</summary>
    private const int StackBytes = 256 * 1024;

    private readonly object _gate = new(); // Monitor.Wait/Pulse need a monitor, not a System.Threading.Lock
    private readonly Queue<Action> _work = new();
    private int _threads;
    private int _idle;
    private int _alive;
    private bool _stopping;

    /// <summary>Threads running a transfer now (never more than the limit).</summary>
    public int Running
    {
        get
        {
            lock (_gate)
            {
                return _threads - _idle;
            }
        }
    }

    /// <summary>Threads that exist now, busy or parked (0 once <see cref="Stop"/> has let them all end).</summary>
    public int Alive => Volatile.Read(ref _alive);

    /// <summary>
    /// Runs <paramref name="work"/> on a parked thread, or a new one while fewer than the limit exist; false (nothing
    /// started) when all are busy, after <see cref="Stop"/>, or when the runtime cannot create a thread.
    /// </summary>
    public bool TryStart(Action work)
    {
        ArgumentNullException.ThrowIfNull(work);
        lock (_gate)
        {
            if (_stopping)
            {
                return false;
            }

            if (_idle > 0)
            {
                _idle--;
                _work.Enqueue(work);
                Monitor.Pulse(_gate);
                return true;
            }

            if (_threads >= limit)
            {
                return false;
            }

            _threads++;
        }

        var thread = new Thread(() => Serve(work), StackBytes) { IsBackground = true, Name = name };
        try
        {
            Interlocked.Increment(ref _alive);

            // Unsafe: the thread must not carry the caller's execution context into every later transfer.
            thread.UnsafeStart();
            return true;
        }
        catch (Exception e) when (e is OutOfMemoryException or ThreadStartException)
        {
            // the process is out of threads (or memory for a stack): the async path needs neither
            Interlocked.Decrement(ref _alive);
            lock (_gate)
            {
                _threads--;
            }

            return false;
        }
    }

    /// <summary>Lets every thread end once its current work returns; parked ones end at once. Later calls of <see cref="TryStart"/> say no.</summary>
    public void Stop()
    {
        lock (_gate)
        {
            _stopping = true;
            Monitor.PulseAll(_gate);
        }
    }

    private void Serve(Action first)
    {
        var work = first;
        try
        {
            while (true)
            {
                work();
                lock (_gate)
                {
                    _idle++;
                    while (_work.Count == 0 && !_stopping)
                    {
                        Monitor.Wait(_gate);
                    }

                    if (_work.Count == 0)
                    {
                        _idle--;
                        _threads--;
                        return;
                    }

                    work = _work.Dequeue();
                }
            }
        }
        finally
        {
            Interlocked.Decrement(ref _alive);
        }
    }
}
