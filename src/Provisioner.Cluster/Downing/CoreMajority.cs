using Akka.Actor;

namespace Provisioner.Cluster.Downing;

/// <summary>
/// One member as the downing rule sees it: its address, whether it is a core node, since when it has been unreachable,
/// and whether its host refuses connections on its cluster port (the host is up, the process is gone).
/// </summary>
public sealed record DowningMember(Address Address, bool IsCore, DateTimeOffset? UnreachableSince, bool Refuses = false);

/// <summary>What the rule decided: the members to down (this node's own address last, if at all) and why, for the log.</summary>
public sealed record DowningDecision(IReadOnlyList<Address> Down, string Reason)
{
    public static readonly DowningDecision None = new([], "nothing to decide");

    public bool IsEmpty => Down.Count == 0;
}

/// <summary>
/// Keep-majority over the core nodes, with patience for edges. The rule is pure; <see cref="CoreMajorityDowning"/> feeds it
/// the cluster's view once a second and acts on the answer.
/// <list type="bullet">
/// <item><b>Cores decide, about cores.</b> Once the set of unreachable cores has stood still for <c>stableAfter</c>, the
/// side holding more of the cores keeps them and downs the others (a tie goes to the side with the lowest-addressed core,
/// as Akka's keep-majority does). The losing side downs its own cores, never its edges: they belong to a site, not to a
/// side, and the winning side judges them.</item>
/// <item><b>Edges are downed late, unless they are surely dead.</b> An edge cut off from the cores keeps serving its site
/// from what it holds (renewals, queued reports), so the surviving side downs it only after <c>edgeGrace</c> of
/// unreachability. Until then the cluster cannot converge: members do not become Up, and a downed core's shards wait.
/// That is the price of an edge riding out a site link's outage, and why the grace is bounded. An edge whose host
/// refuses connections on its cluster port is no outage: its process is gone (a crash, a kill), and it is downed after
/// <c>stableAfter</c> like a lost core.</item>
/// <item><b>Only one node acts:</b> the lowest-addressed reachable core on each side. Edges never decide.</item>
/// </list>
/// </summary>
public static class CoreMajority
{
    /// <param name="self">This node.</param>
    /// <param name="members">Every member that is not already Down, Exiting or Removed, this node included.</param>
    /// <param name="coresStableSince">When the set of unreachable cores last changed.</param>
    public static DowningDecision Decide(Address self, IReadOnlyCollection<DowningMember> members, DateTimeOffset now, DateTimeOffset coresStableSince, TimeSpan stableAfter, TimeSpan edgeGrace)
    {
        ArgumentNullException.ThrowIfNull(self);
        ArgumentNullException.ThrowIfNull(members);

        var cores = members.Where(m => m.IsCore).OrderBy(m => m.Address, Akka.Cluster.Member.AddressOrdering).ToList();
        var reachable = cores.Where(m => m.UnreachableSince is null).ToList();
        if (reachable.Count == 0 || !reachable[0].Address.Equals(self))
        {
            // Not a core, or not the lowest-addressed core of this side: another node decides.
            return DowningDecision.None;
        }

        var unreachable = cores.Where(m => m.UnreachableSince is not null).ToList();
        if (unreachable.Count > 0)
        {
            if (now - coresStableSince < stableAfter)
            {
                return DowningDecision.None;
            }

            var wins = reachable.Count > unreachable.Count || (reachable.Count == unreachable.Count && cores[0].UnreachableSince is null);
            if (!wins)
            {
                // This side holds the minority of the cores: its cores stop (this node last), so the others can take
                // their shards. Edges are not ours to down.
                var ours = reachable.Select(m => m.Address).Where(a => !a.Equals(self)).Append(self).ToList();
                return new DowningDecision(ours, $"{reachable.Count} of {cores.Count} cores reachable from here: the other side keeps the majority, downing this side's cores");
            }
        }

        var down = unreachable.Select(m => m.Address).ToList();
        var edges = members
            .Where(m => !m.IsCore && m.UnreachableSince is { } since && now - since >= (m.Refuses ? stableAfter : edgeGrace))
            .Select(m => m.Address)
            .ToList();
        if (down.Count == 0 && edges.Count == 0)
        {
            return DowningDecision.None;
        }

        var reasons = new List<string>();
        if (down.Count > 0)
        {
            reasons.Add($"{down.Count} of {cores.Count} cores unreachable for {stableAfter.TotalSeconds:0.#} s, {reachable.Count} reachable keep the majority");
        }

        if (edges.Count > 0)
        {
            var gone = members.Count(m => !m.IsCore && m.Refuses && edges.Contains(m.Address));
            reasons.Add(gone == edges.Count
                ? $"{edges.Count} edge(s) unreachable, their hosts refusing connections (the process is gone)"
                : $"{edges.Count} edge(s) unreachable for {edgeGrace.TotalSeconds:0.#} s or more, or refusing connections");
        }

        return new DowningDecision([.. down, .. edges], string.Join("; ", reasons));
    }
}
