using System.Net;
using Provisioner.Cluster;
using Provisioner.Domain.Machines;
using Provisioner.Protocols.Dhcp;

namespace Provisioner.Edge.Dhcp;

/// <summary>
/// The OFFERs and ACKs a handler sent in the last <see cref="Lifetime"/>, so that a retransmitted DISCOVER or REQUEST
/// (RFC 2131 §4.1: firmware keeps the xid for its retransmissions, and a copy asks the same thing: the same subnet,
/// ciaddr, requested address and server identifier) gets the same answer without asking the lease or machine actors
/// again, and without their recording anything again. A machine's next boot has a new xid; a DECLINE or RELEASE ends
/// what is remembered of its MAC. Bounded: past <see cref="Capacity"/> MACs the expired answers are dropped, then the
/// oldest half; a forgotten answer only costs asking again.
/// <para>
/// An answer is held as the datagram that was sent (one array), not as the parsed packet it was made from (a dozen
/// option arrays and their lists): a rollout fills this memory with tens of thousands of answers that outlive two
/// collections, and each object in them is marked and copied by every collection until it expires. A replay, which only
/// a retransmission asks for, parses the datagram again. The destination is kept as values for the same reason.
/// </para>
/// </summary>
public sealed class DhcpReplyMemory(TimeProvider clock)
{
    /// <summary>Longer than any firmware retransmits one exchange (PXE: DISCOVER 4+8+16+32 s).</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(60);

    public const int Capacity = 65_536;

    /// <summary>Answers kept per MAC: a PXE ROM's and iPXE's DISCOVER and REQUEST.</summary>
    private const int PerMac = 4;

    private readonly CountedConcurrentMap<MachineId, Answer[]> _answers = new();
    private long _replayed;

    public long Replayed => Interlocked.Read(ref _replayed);

    /// <summary>MACs with answers held.</summary>
    public int Count => _answers.Count;

    public bool TryReplay(MachineId mac, DhcpPacket request, string subnet, out DhcpReplyPlan? plan)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (_answers.TryGetValue(mac, out var answers))
        {
            var exchange = Exchange.Of(request, subnet);
            foreach (var answer in answers)
            {
                if (answer.Exchange == exchange && clock.GetElapsedTime(answer.At) < Lifetime && DhcpPacket.TryParse(answer.Datagram, out var packet, out _))
                {
                    Interlocked.Increment(ref _replayed);
                    plan = new DhcpReplyPlan(packet, new IPEndPoint(answer.DestinationAddress.ToIPAddress(), answer.DestinationPort));
                    return true;
                }
            }
        }

        plan = null;
        return false;
    }

    /// <summary>Keeps an OFFER or ACK (not silence, not a NAK: those are decided again) and returns the plan as given.</summary>
    public DhcpReplyPlan? Remember(MachineId mac, DhcpPacket request, string subnet, DhcpReplyPlan? plan)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (plan?.Packet.MessageType is not (DhcpMessageType.Offer or DhcpMessageType.Ack))
        {
            return plan;
        }

        if (Count >= Capacity)
        {
            Trim();
        }

        if (!IPv4Address.TryFrom(plan.Destination.Address, out var destination))
        {
            return plan;
        }

        var answer = new Answer(Exchange.Of(request, subnet), plan.ToDatagram(), destination, plan.Destination.Port, clock.GetTimestamp());
        _answers.AddOrUpdate(mac, static (_, answer) => [answer], static (_, held, answer) => With(answer, held), answer);
        return plan;
    }

    /// <summary>The client ended its exchanges (DECLINE, RELEASE): whatever it asks next is decided afresh.</summary>
    public void Forget(MachineId mac) => _answers.TryRemove(mac);

    /// <summary><paramref name="answer"/> first, then at most <see cref="PerMac"/> - 1 of the others held, newest first.</summary>
    private static Answer[] With(Answer answer, Answer[] held)
    {
        var kept = new Answer[Math.Min(PerMac, held.Length + 1)];
        kept[0] = answer;
        var n = 1;
        foreach (var other in held)
        {
            if (n == kept.Length)
            {
                break;
            }

            if (other.Exchange != answer.Exchange)
            {
                kept[n++] = other;
            }
        }

        return n == kept.Length ? kept : kept[..n];
    }

    private void Trim()
    {
        foreach (var (mac, answers) in _answers)
        {
            if (answers.All(a => clock.GetElapsedTime(a.At) >= Lifetime))
            {
                _answers.TryRemove(mac);
            }
        }

        if (Count >= Capacity / 2)
        {
            var newest = _answers.Values.Select(a => a[0].At).Order().ToArray();
            var cutoff = newest.Length == 0 ? long.MinValue : newest[newest.Length / 2];
            foreach (var (mac, answers) in _answers)
            {
                if (answers[0].At <= cutoff)
                {
                    _answers.TryRemove(mac);
                }
            }
        }
    }

    private readonly record struct Exchange(uint Xid, DhcpMessageType? Type, string Subnet, IPv4Address ClientAddress, IPv4Address? Requested, IPv4Address? ServerId)
    {
        public static Exchange Of(DhcpPacket request, string subnet) =>
            new(request.TransactionId, request.MessageType, subnet, request.ClientAddress, request.Options.RequestedIPAddress, request.Options.ServerIdentifier);
    }

    /// <param name="Datagram">The reply as it was sent.</param>
    /// <param name="DestinationAddress">Where it went, as values: no address and endpoint objects held per answer.</param>
    private sealed record Answer(Exchange Exchange, byte[] Datagram, IPv4Address DestinationAddress, int DestinationPort, long At);
}
