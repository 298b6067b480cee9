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
/// caller (the server's single receive loop) once per transfer, so a new thread is started from a pool worker;
/// handing work to a parked thread is one wake-up.
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
    /// Runs <paramref name="work"/> on a parked thread, or a new one while fewer than the limit exist (created from a
    /// pool worker: this call never waits for a thread to start); false (nothing started) when all are busy or after
    /// <see cref="Stop"/>.
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

        // Started from a pool worker, not here: Thread.Start returns only once the new thread runs, and the caller (the
        // server's receive loop) would wait that long for every thread a burst of requests creates, on a busy host
        // once per request, with the next requests queued behind it.
        Interlocked.Increment(ref _alive);
        ThreadPool.UnsafeQueueUserWorkItem(static state => state.Owner.StartThread(state.Work), (Owner: this, Work: work), preferLocal: false);
        return true;
    }

    private void StartThread(Action work)
    {
        var thread = new Thread(() => Serve(work), StackBytes) { IsBackground = true, Name = name };
        try
        {
            // Unsafe: the thread must not carry the caller's execution context into every later transfer.
            thread.UnsafeStart();
        }
        catch (Exception e) when (e is OutOfMemoryException or ThreadStartException)
        {
            // The process is out of threads (or memory for a stack). The work was promised a thread; it runs here, on
            // this pool worker, where a transfer's blocking calls hold the worker until it ends (or until it hands over
            // to the async path): rare, and better than dropping an admitted transfer.
            Interlocked.Decrement(ref _alive);
            lock (_gate)
            {
                _threads--;
            }

            work();
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
