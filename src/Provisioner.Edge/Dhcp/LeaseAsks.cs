using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Akka.Actor;
using Provisioner.Cluster.Leases;

namespace Provisioner.Edge.Dhcp;

/// <summary>
/// The lease gateway's questions to lease actors, each under a ticket the lease actor copies into its
/// <see cref="SubnetLeaseProtocol.LeaseResult"/>, and all answered to one reply address: a temporary actor reference
/// registered once (on another node the lease actor reaches it as it would reach an Akka ask). Akka's own ask made
/// a temporary actor, a path, a timer, a cancellation registration and several continuations for every question,
/// two questions per new machine: a tenth of everything a DHCP exchange allocated (scripts/bench/RESULTS.md,
/// nineteenth session). Here a question is its completion source and a map entry; one timer, every
/// <see cref="SweepEvery"/>, fails the questions past their timeout (with <see cref="AskTimeoutException"/>, as an
/// Akka ask does) and those whose caller cancelled. Counted on <see cref="EdgeMetrics.Meter"/>
/// (<c>provisioner.edge.lease_questions.*</c>: waiting, timed out, answers that matched no question).
/// </summary>
public sealed class LeaseAsks : IDisposable
{
    /// <summary>How often timeouts and cancellations are checked: a question fails at most this much after its time.</summary>
    public static readonly TimeSpan SweepEvery = TimeSpan.FromMilliseconds(100);

    private readonly ConcurrentDictionary<long, Pending> _pending = new();
    private readonly TimeSpan _timeout;
    private readonly TimeProvider _clock;
    private readonly ITimer _sweep;
    private readonly Replies _replies;
    private long _tickets;
    private long _timedOut;
    private long _unmatched;

    public LeaseAsks(ActorSystem system, TimeSpan timeout, TimeProvider? clock = null)
    {
        ArgumentNullException.ThrowIfNull(system);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero);
        _timeout = timeout;
        _clock = clock ?? TimeProvider.System;
        var provider = ((ExtendedActorSystem)system).Provider;
        _replies = new Replies(this, provider, provider.TempPath());
        provider.RegisterTempActor(_replies, _replies.Path);
        _sweep = _clock.CreateTimer(static self => ((LeaseAsks)self!).Sweep(), this, SweepEvery, SweepEvery);
        Metrics.Register(this);
    }

    /// <summary>Questions waiting for their answer.</summary>
    public int Waiting => _pending.Count;

    /// <summary>Questions failed because no answer came within the timeout.</summary>
    public long TimedOut => Interlocked.Read(ref _timedOut);

    /// <summary>Answers that matched no waiting question (late, after their question timed out or was cancelled).</summary>
    public long Unmatched => Interlocked.Read(ref _unmatched);

    /// <summary>Where the answers go: the sender of every question.</summary>
    public IActorRef ReplyAddress => _replies;

    /// <summary>A ticket for the next question: put it in the message given to <see cref="Ask"/>.</summary>
    public long NextTicket() => Interlocked.Increment(ref _tickets);

    /// <summary>
    /// Sends <paramref name="message"/> (carrying <paramref name="ticket"/>) to <paramref name="recipient"/> with the reply
    /// address as its sender; completes with the lease actor's answer, or fails after the timeout or on cancellation.
    /// </summary>
    public Task<LeaseAnswer> Ask(IActorRef recipient, long ticket, IWithSubnetId message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(recipient);
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<LeaseAnswer>(cancellationToken);
        }

        var pending = new Pending(_clock.GetTimestamp(), cancellationToken);
        // Waiting before the message leaves: the answer can come back before Tell returns.
        _pending[ticket] = pending;
        recipient.Tell(message, _replies);
        return pending.Task;
    }

    public void Dispose()
    {
        Metrics.Unregister(this);
        _sweep.Dispose();
        _replies.Provider.UnregisterTempActor(_replies.Path);
        foreach (var ticket in _pending.Keys)
        {
            if (_pending.TryRemove(ticket, out var pending))
            {
                pending.TrySetCanceled();
            }
        }
    }

    private void Answer(object message)
    {
        if (message is SubnetLeaseProtocol.LeaseResult { Ticket: > 0 } result && _pending.TryRemove(result.Ticket, out var pending))
        {
            pending.TrySetResult(LeaseAnswer.From(result));
            return;
        }

        Interlocked.Increment(ref _unmatched);
    }

    private void Sweep()
    {
        if (_pending.IsEmpty)
        {
            return;
        }

        var now = _clock.GetTimestamp();
        foreach (var (ticket, pending) in _pending)
        {
            if (pending.CancellationToken.IsCancellationRequested)
            {
                if (_pending.TryRemove(ticket, out _))
                {
                    pending.TrySetCanceled(pending.CancellationToken);
                }
            }
            else if (_clock.GetElapsedTime(pending.Asked, now) >= _timeout && _pending.TryRemove(ticket, out _))
            {
                Interlocked.Increment(ref _timedOut);
                pending.TrySetException(new AskTimeoutException($"no answer from the lease actor within {_timeout.TotalSeconds:0.###} s"));
            }
        }
    }

    /// <summary>The instruments, created once per process; every live instance is summed (a node has one).</summary>
    private static class Metrics
    {
        private static readonly ConcurrentDictionary<LeaseAsks, byte> Live = new();
        private static int _created;

        public static void Register(LeaseAsks asks)
        {
            if (Interlocked.Exchange(ref _created, 1) == 0)
            {
                var meter = EdgeMetrics.Meter;
                meter.CreateObservableGauge("provisioner.edge.lease_questions.waiting", () => Live.Keys.Sum(a => (long)a.Waiting), "{question}", "Questions to lease actors waiting for their answer");
                meter.CreateObservableCounter("provisioner.edge.lease_questions.timed_out", () => Live.Keys.Sum(a => a.TimedOut), "{question}", "Questions to lease actors failed because no answer came within machines.ask-timeout");
                meter.CreateObservableCounter("provisioner.edge.lease_questions.unmatched", () => Live.Keys.Sum(a => a.Unmatched), "{answer}", "Answers from lease actors that matched no waiting question (late, after a timeout or a cancellation), dropped");
            }

            Live[asks] = 0;
        }

        public static void Unregister(LeaseAsks asks) => Live.TryRemove(asks, out _);
    }

    /// <summary>A question: its completion (continuations run on the pool, never on the lease actor's thread), when it was asked, and whose cancellation ends it.</summary>
    private sealed class Pending(long asked, CancellationToken cancellationToken)
        : TaskCompletionSource<LeaseAnswer>(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public long Asked { get; } = asked;

        public CancellationToken CancellationToken { get; } = cancellationToken;
    }

    /// <summary>The reply address: whatever is told to it is an answer (from any node: it is a registered temporary actor).</summary>
    private sealed class Replies(LeaseAsks owner, IActorRefProvider provider, ActorPath path) : MinimalActorRef
    {
        public override ActorPath Path { get; } = path;

        public override IActorRefProvider Provider { get; } = provider;

        protected override void TellInternal(object message, IActorRef sender) => owner.Answer(message);
    }
}
