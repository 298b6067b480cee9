using Akka.Actor;
using Akka.Event;
using Provisioner.Domain.Machines;

namespace Provisioner.Cluster.Machines;

/// <summary>
/// A node's copy of the machine states its HTTP edge reads, kept current by the machine actors themselves: the first
/// read of a machine sends <see cref="MachineProtocol.WatchMachine"/> through the shard region, and from then on the
/// actor pushes a <see cref="MachineProtocol.MachineChanged"/> after every persisted change. A boot script request
/// then costs a dictionary lookup instead of a round trip through the shard region (the boot script benchmark's
/// bottleneck).
/// <para>
/// When a copy is dropped, so that the next read asks the actor again:
/// </para>
/// <list type="bullet">
/// <item>the machine actor stops (passivation, a crash, its node leaving): the copy is DeathWatched through the actor
/// that answered, and Akka delivers <see cref="Terminated"/> in every one of those cases;</item>
/// <item>a command answered through this node reports a newer journal version than the copy (<see cref="Observed"/>),
/// so whoever issued a command reads its effect at once (read-your-writes), without waiting for the push;</item>
/// <item>more than <c>capacity</c> machines are held: a tenth of the copies are dropped (their actors' pushes are then
/// ignored until they passivate).</item>
/// </list>
/// A change made elsewhere (the deadline timer, an operator's reprovision, another node's DHCP) is seen here when its
/// push arrives: microseconds on one node, a network hop in a cluster, the same as an answer in flight would be.
/// Copies are only replaced by higher versions (the journal sequence number, monotonic across restarts).
/// </summary>
public sealed class MachineStateCache
{
    private readonly CountedConcurrentMap<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly IActorRef _keeper;
    private readonly TimeSpan _askTimeout;
    private long _hits;
    private long _loads;

    public MachineStateCache(ActorSystem system, TimeSpan askTimeout, int capacity, string name = "machine-state-cache")
    {
        ArgumentNullException.ThrowIfNull(system);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _askTimeout = askTimeout;
        _keeper = system.ActorOf(Props.Create(() => new Keeper(_entries, capacity, askTimeout)), name);
    }

    /// <summary>Machines held (including ones being loaded).</summary>
    public int Count => _entries.Count;

    /// <summary>Reads answered from the copy.</summary>
    public long Hits => Interlocked.Read(ref _hits);

    /// <summary>Reads that had to ask a machine actor.</summary>
    public long Loads => Interlocked.Read(ref _loads);

    /// <summary>
    /// The machine's state: the held copy, or asked of its actor through <paramref name="region"/> (which then keeps the
    /// copy current). Throws <see cref="AskTimeoutException"/> when no answer comes within the ask timeout.
    /// </summary>
    public async Task<MachineState> GetAsync(IActorRef region, string machineId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(region);
        if (_entries.TryGetValue(machineId, out var entry) && entry.State is { } state)
        {
            Interlocked.Increment(ref _hits);
            return state;
        }

        Interlocked.Increment(ref _loads);
        var answer = new TaskCompletionSource<MachineState>(TaskCreationOptions.RunContinuationsAsynchronously);
        _keeper.Tell(new Load(machineId, region, answer));
        try
        {
            return await answer.Task.WaitAsync(_askTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new AskTimeoutException($"machine {machineId}: no state within {_askTimeout.TotalSeconds:0.#} s");
        }
    }

    /// <summary>
    /// A command for the machine was answered at journal version <paramref name="version"/>: a held copy older than
    /// that is no longer served (the next read waits for the newer state).
    /// </summary>
    public void Observed(string machineId, long version)
    {
        while (_entries.TryGetValue(machineId, out var entry) && entry.Version < version)
        {
            if (_entries.TryUpdate(machineId, new Entry(null, version, entry.Entity), entry))
            {
                return;
            }
        }
    }

    /// <summary>
    /// A machine's copy. <see cref="State"/> null: not servable (being loaded, or older than a version a command was
    /// answered at); <see cref="Version"/> is then the least version that may replace it.
    /// </summary>
    private sealed record Entry(MachineState? State, long Version, IActorRef? Entity)
    {
        public bool YieldsTo(long version) => State is null ? version >= Version : version > Version;
    }

    private sealed record Load(string MachineId, IActorRef Region, TaskCompletionSource<MachineState> Answer);

    /// <summary>The single writer of new copies: sends the watches, DeathWatches the machine actors, evicts.</summary>
    private sealed class Keeper : ReceiveActor, IWithTimers
    {
        private readonly CountedConcurrentMap<string, Entry> _entries;
        private readonly int _capacity;
        private readonly long _askTimeoutMs;
        private readonly ILoggingAdapter _log = Context.GetLogger();
        private readonly Dictionary<string, Pending> _pending = new(StringComparer.Ordinal);
        private readonly Dictionary<IActorRef, string> _machineOf = [];

        public Keeper(CountedConcurrentMap<string, Entry> entries, int capacity, TimeSpan askTimeout)
        {
            _entries = entries;
            _capacity = capacity;
            _askTimeoutMs = (long)askTimeout.TotalMilliseconds;
            Receive<Load>(OnLoad);
            Receive<MachineProtocol.MachineChanged>(OnChanged);
            Receive<Terminated>(OnTerminated);
            Receive<Sweep>(_ => SweepUnanswered());
        }

        public ITimerScheduler Timers { get; set; } = null!;

        protected override void PreStart() =>
            Timers.StartPeriodicTimer(nameof(Sweep), Sweep.Instance, TimeSpan.FromMilliseconds(Math.Max(_askTimeoutMs, 100)));

        private void OnLoad(Load load)
        {
            if (_entries.TryGetValue(load.MachineId, out var held) && held.State is { } state)
            {
                load.Answer.TrySetResult(state);
                return;
            }

            var now = Environment.TickCount64;
            if (_pending.TryGetValue(load.MachineId, out var pending) && now - pending.SentAt < _askTimeoutMs)
            {
                pending.Answers.Add(load.Answer);
                return;
            }

            // First read, or the last watch went unanswered (its readers have timed out): ask again.
            pending?.Answers.ForEach(a => a.TrySetException(Unanswered(load.MachineId)));
            _pending[load.MachineId] = new Pending(now, [load.Answer]);
            if (!_entries.ContainsKey(load.MachineId))
            {
                MakeRoom();
                _entries.TryAdd(load.MachineId, new Entry(null, 0, null));
            }

            load.Region.Tell(new MachineProtocol.WatchMachine(load.MachineId));
        }

        private void OnChanged(MachineProtocol.MachineChanged changed)
        {
            var entity = Sender;
            if (!_machineOf.ContainsKey(entity))
            {
                // A push from a machine whose copy was dropped (it keeps pushing until it passivates) is ignored; the
                // answer to a watch this keeper is waiting for is not.
                if (!_pending.ContainsKey(changed.MachineId))
                {
                    return;
                }

                _machineOf[entity] = changed.MachineId;
                Context.Watch(entity); // already stopped: Terminated comes at once and drops the copy again
            }

            var fresh = new Entry(changed.State, changed.Version, entity);
            while (true)
            {
                if (_entries.TryGetValue(changed.MachineId, out var held))
                {
                    if (!held.YieldsTo(changed.Version) || _entries.TryUpdate(changed.MachineId, fresh, held))
                    {
                        break;
                    }
                }
                else
                {
                    MakeRoom();
                    if (_entries.TryAdd(changed.MachineId, fresh))
                    {
                        break;
                    }
                }
            }

            // Readers get the held copy once it is servable; an answer older than a version a command was answered at
            // keeps them waiting for the push that follows it.
            if (_pending.TryGetValue(changed.MachineId, out var pending)
                && _entries.TryGetValue(changed.MachineId, out var current)
                && current.State is { } state)
            {
                _pending.Remove(changed.MachineId);
                pending.Answers.ForEach(a => a.TrySetResult(state));
            }
        }

        private void OnTerminated(Terminated terminated)
        {
            if (_machineOf.Remove(terminated.ActorRef, out var machineId))
            {
                Drop(machineId, terminated.ActorRef);
            }
        }

        /// <summary>Removes the copy of <paramref name="machineId"/> if it still came from <paramref name="entity"/>.</summary>
        private void Drop(string machineId, IActorRef? entity)
        {
            while (_entries.TryGetValue(machineId, out var held) && Equals(held.Entity, entity))
            {
                if (_entries.TryRemove(KeyValuePair.Create(machineId, held)))
                {
                    return;
                }
            }
        }

        private AskTimeoutException Unanswered(string machineId) =>
            new($"machine {machineId}: no state within {_askTimeoutMs / 1000.0:0.#} s");

        /// <summary>Watches nobody answered (readers long gone): forget them, and their placeholder copies.</summary>
        private void SweepUnanswered()
        {
            var now = Environment.TickCount64;
            List<string>? expired = null;
            foreach (var (machineId, pending) in _pending)
            {
                if (now - pending.SentAt >= _askTimeoutMs)
                {
                    (expired ??= []).Add(machineId);
                }
            }

            foreach (var machineId in expired ?? [])
            {
                _pending.Remove(machineId, out var pending);
                // As the reader's own timeout says it (the sweep may come first): an ask timeout, not a cancellation.
                pending!.Answers.ForEach(a => a.TrySetException(Unanswered(machineId)));
                Drop(machineId, null);
            }
        }

        /// <summary>At capacity: drop a tenth of the copies (not ones being loaded); their pushes are ignored from then on.</summary>
        private void MakeRoom()
        {
            if (_entries.Count < _capacity)
            {
                return;
            }

            var drop = Math.Max(1, _capacity / 10);
            var dropped = 0;
            foreach (var (machineId, held) in _entries)
            {
                if (dropped >= drop)
                {
                    break;
                }

                if (_pending.ContainsKey(machineId) || !_entries.TryRemove(KeyValuePair.Create(machineId, held)))
                {
                    continue;
                }

                dropped++;
                if (held.Entity is { } entity && _machineOf.Remove(entity))
                {
                    Context.Unwatch(entity);
                }
            }

            _log.Debug("machine state cache full ({Capacity}): dropped {Dropped} copies", _capacity, dropped);
        }

        private sealed record Pending(long SentAt, List<TaskCompletionSource<MachineState>> Answers);

        private sealed class Sweep
        {
            public static readonly Sweep Instance = new();
        }
    }
}
