using Akka.Actor;
using Akka.Configuration;
using Microsoft.Extensions.Time.Testing;
using Provisioner.Cluster.Hosting;
using Provisioner.Cluster.Leases;
using Provisioner.Domain.Leases;
using Provisioner.Edge.Dhcp;

namespace Provisioner.Edge.Tests.Dhcp;

public sealed class LeaseAsksTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    /// <summary>Answers every lease question with its own ticket, its MAC as the reason; holds them back until told to answer, newest first.</summary>
    private sealed class Answerer : ReceiveActor
    {
        private readonly List<(IActorRef Sender, SubnetLeaseProtocol.Offer Offer)> _held = [];

        public Answerer(int holdUntil)
        {
            Receive<SubnetLeaseProtocol.Offer>(offer =>
            {
                _held.Add((Sender, offer));
                if (_held.Count < holdUntil)
                {
                    return;
                }

                for (var i = _held.Count - 1; i >= 0; i--)
                {
                    var (sender, o) = _held[i];
                    sender.Tell(new SubnetLeaseProtocol.LeaseResult(o.SubnetId, o.Mac, LeaseOutcome.Offered, "10.0.0.1", null, o.Mac, o.Ticket));
                }

                _held.Clear();
            });
            Receive<string>(unmatched => Sender.Tell(new SubnetLeaseProtocol.LeaseResult("s", "m", LeaseOutcome.Offered, null, null, unmatched, Ticket: 999_999)));
        }
    }

    private static SubnetLeaseProtocol.Offer Offer(LeaseAsks asks, int i, out long ticket)
    {
        ticket = asks.NextTicket();
        return new SubnetLeaseProtocol.Offer("s", $"02:00:00:00:00:{i:x2}", null, DateTimeOffset.UnixEpoch, ticket);
    }

    [Fact]
    public async Task Each_question_gets_the_answer_carrying_its_ticket_whatever_order_they_come_back_in()
    {
        using var system = ActorSystem.Create("lease-asks");
        using var asks = new LeaseAsks(system, TimeSpan.FromSeconds(30));
        var answerer = system.ActorOf(Props.Create(() => new Answerer(20)));

        var questions = Enumerable.Range(0, 20).Select(i =>
        {
            var offer = Offer(asks, i, out var ticket);
            return (Mac: offer.Mac, Answer: asks.Ask(answerer, ticket, offer, CancellationToken.None));
        }).ToArray();

        foreach (var (mac, answer) in questions)
        {
            Assert.Equal(mac, (await answer.WaitAsync(Wait)).Reason);
        }

        Assert.Equal(0, asks.Waiting);

        // An answer nobody waits for (late, or with a ticket never given) is counted and dropped.
        answerer.Tell("late", asks.ReplyAddress);
        await WaitUntil(() => asks.Unmatched == 1);
        Assert.Equal(0, asks.Waiting);
    }

    [Fact]
    public async Task A_question_not_answered_in_time_fails_as_an_akka_ask_does_and_a_cancelled_one_is_cancelled()
    {
        using var system = ActorSystem.Create("lease-asks");
        var clock = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        using var asks = new LeaseAsks(system, TimeSpan.FromSeconds(5), clock);
        var silent = system.ActorOf(Props.Create(() => new Answerer(int.MaxValue)));

        var unanswered = asks.Ask(silent, asks.NextTicket(), Offer(asks, 1, out _), CancellationToken.None);
        using var cancel = new CancellationTokenSource();
        var cancelled = asks.Ask(silent, asks.NextTicket(), Offer(asks, 2, out _), cancel.Token);
        Assert.Equal(2, asks.Waiting);

        clock.Advance(TimeSpan.FromSeconds(4.8));
        Assert.False(unanswered.IsCompleted);
        cancel.Cancel();
        clock.Advance(LeaseAsks.SweepEvery);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled.WaitAsync(Wait));
        Assert.False(unanswered.IsCompleted);

        clock.Advance(LeaseAsks.SweepEvery);
        await Assert.ThrowsAsync<AskTimeoutException>(() => unanswered.WaitAsync(Wait));
        Assert.Equal(1, asks.TimedOut);
        Assert.Equal(0, asks.Waiting);

        // Already cancelled: not even sent.
        Assert.True(asks.Ask(silent, asks.NextTicket(), Offer(asks, 3, out _), cancel.Token).IsCanceled);
        Assert.Equal(0, asks.Waiting);
    }

    [Fact]
    public async Task A_lease_actor_on_another_node_answers_to_the_reply_address()
    {
        // Two nodes over Akka.Remote with the node's serialization: the answer travels back to the registered address.
        var remote = ConfigurationFactory.ParseString("""
            akka.actor.provider = remote
            akka.remote.dot-netty.tcp { hostname = 127.0.0.1, port = 0 }
            """).WithFallback(ProvisionerAkka.SerializationHocon);
        using var edge = ActorSystem.Create("provisioner", remote);
        using var core = ActorSystem.Create("provisioner", remote);
        using var asks = new LeaseAsks(edge, TimeSpan.FromSeconds(30));
        core.ActorOf(Props.Create(() => new Answerer(1)), "leases");
        var address = ((ExtendedActorSystem)core).Provider.DefaultAddress;
        var answerer = await edge.ActorSelection(new RootActorPath(address) / "user" / "leases").ResolveOne(Wait);

        var offer = Offer(asks, 7, out var ticket);
        var answer = await asks.Ask(answerer, ticket, offer, CancellationToken.None).WaitAsync(Wait);

        Assert.Equal(offer.Mac, answer.Reason);
        Assert.Equal(0, asks.Waiting);
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met within 10 s");
            await Task.Delay(20);
        }
    }
}
