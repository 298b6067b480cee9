using System.Globalization;
using Provisioner.Protocols.Dhcp;

namespace Provisioner.Domain.Leases;

public enum SubnetDeclarationOutcome
{
    /// <summary>The subnet had no definition: the declared one is persisted.</summary>
    Defined = 0,

    /// <summary>The declared definition is the durable one already; nothing is written.</summary>
    Unchanged = 1,

    /// <summary>The node that made the durable definition declares a changed one (its configuration changed): it replaces the old.</summary>
    Redefined = 2,

    /// <summary>Another node made the durable definition and it differs: the declaration is refused, naming both.</summary>
    Refused = 3,
}

/// <param name="Event">What to persist (Defined, Redefined); null otherwise.</param>
/// <param name="DefinedBy">The node whose definition is durable after the decision ("none" when there is none).</param>
/// <param name="Reason">For Refused and Redefined: both definitions, with their nodes, or why the declared one does not hold.</param>
/// <param name="Definition">The definition <paramref name="Event"/> holds, checked (Defined, Redefined); null otherwise.</param>
public sealed record SubnetDeclarationDecision(SubnetDeclarationOutcome Outcome, LeaseEvents.SubnetDefined? Event, string DefinedBy, string? Reason, SubnetDefinition? Definition = null);

/// <summary>
/// A subnet belongs to the site that serves it: edges declare their subnets at start, and the subnet's lease actor keeps
/// one durable definition (<see cref="LeaseEvents.SubnetDefined"/>). Core nodes need no subnet list of their own.
/// <para>
/// The rule: the first declaration defines the subnet; an equal one changes nothing, whoever sends it; a different one is
/// taken only from the node that made the durable definition (an operator changed that node's configuration and
/// restarted it: a single node editing its own subnets, or a site's one edge) and refused from any other, with both
/// definitions and both nodes named. Two edges of one site therefore declare a subnet identically; to change it, change
/// the node that defined it first, then the others. A declaration that does not hold as configuration (a pool outside
/// its network, an unparsable address) is refused whoever sends it.
/// </para>
/// </summary>
public static class SubnetDeclarations
{
    /// <param name="current">The durable definition, or null when the subnet has none yet.</param>
    /// <param name="declared">The declaring node's definition (its <see cref="LeaseEvents.SubnetDefined.Node"/> names it).</param>
    public static SubnetDeclarationDecision Decide(LeaseEvents.SubnetDefined? current, LeaseEvents.SubnetDefined declared)
    {
        ArgumentNullException.ThrowIfNull(declared);
        if (ToDefinition(declared, out var problem) is not { } definition)
        {
            return new(SubnetDeclarationOutcome.Refused, null, current?.Node ?? "none", $"subnet '{declared.Id}' declared by node {declared.Node} does not hold: {problem}");
        }

        if (current is null)
        {
            return new(SubnetDeclarationOutcome.Defined, declared, declared.Node, null, definition);
        }

        var was = current.Describe();
        var now = declared.Describe();
        if (string.Equals(was, now, StringComparison.Ordinal))
        {
            return new(SubnetDeclarationOutcome.Unchanged, null, current.Node, null);
        }

        var both = $"subnet '{current.Id}' is defined by node {current.Node} as {was}; node {declared.Node} declares {now}";
        return string.Equals(current.Node, declared.Node, StringComparison.Ordinal)
            ? new(SubnetDeclarationOutcome.Redefined, declared, declared.Node, both, definition)
            : new(SubnetDeclarationOutcome.Refused, null, current.Node, both);
    }

    /// <summary>
    /// An operator hands the subnet's definition over to <paramref name="node"/> (the node that defined it is gone for
    /// good, or the site moves to another edge): the definition stays as it is, now held by <paramref name="node"/>, whose
    /// next declaration may then replace it. Refused when the subnet has no definition (the first declaration defines it).
    /// </summary>
    public static SubnetDeclarationDecision HandOver(LeaseEvents.SubnetDefined? current, string subnetId, string node, DateTimeOffset at)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(node);
        if (current is null)
        {
            return new(SubnetDeclarationOutcome.Refused, null, "none", $"subnet '{subnetId}' has no definition to hand over: the first edge to declare it defines it");
        }

        if (string.Equals(current.Node, node, StringComparison.Ordinal))
        {
            return new(SubnetDeclarationOutcome.Unchanged, null, current.Node, null);
        }

        var handed = current with { At = at, Node = node };
        return ToDefinition(handed, out var problem) is { } definition
            ? new(SubnetDeclarationOutcome.Redefined, handed, node, $"subnet '{current.Id}' handed over from node {current.Node} to node {node}, still {current.Describe()}", definition)
            : new(SubnetDeclarationOutcome.Refused, null, current.Node, $"subnet '{current.Id}': the durable definition does not hold ({problem}); an edge must declare it again");
    }

    /// <summary>The event a node declares for <paramref name="subnet"/>.</summary>
    public static LeaseEvents.SubnetDefined Declare(SubnetDefinition subnet, string node, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(subnet);
        ArgumentException.ThrowIfNullOrWhiteSpace(node);
        return new LeaseEvents.SubnetDefined(
            at,
            node,
            subnet.Id,
            subnet.Cidr,
            subnet.PoolStart.ToString(),
            subnet.PoolEnd.ToString(),
            subnet.Router?.ToString(),
            subnet.Dns.Select(d => d.ToString()).ToArray(),
            subnet.Domain,
            (long)subnet.LeaseTime.TotalSeconds,
            subnet.Reservations.Select(r => new LeaseEvents.ReservedAddress(r.Mac, r.Address.ToString(), r.Hostname)).ToArray());
    }

    /// <summary>The definition a <see cref="LeaseEvents.SubnetDefined"/> holds, checked as configuration is; null with the problem if it does not hold one.</summary>
    public static SubnetDefinition? ToDefinition(LeaseEvents.SubnetDefined defined, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(defined);
        problem = null;
        if (!SubnetDefinition.TryParseCidr(defined.Network, out var network, out var prefix))
        {
            problem = $"network '{defined.Network}' is not in CIDR form";
            return null;
        }

        IPv4Address Address(string text, string key) =>
            IPv4Address.TryParse(text, out var a) ? a : throw new FormatException($"{key} '{text}' is not an IPv4 address");

        try
        {
            var subnet = new SubnetDefinition
            {
                Id = defined.Id,
                Network = network,
                PrefixLength = prefix,
                PoolStart = Address(defined.PoolStart, "pool-start"),
                PoolEnd = Address(defined.PoolEnd, "pool-end"),
                Router = defined.Router is { } router ? Address(router, "router") : null,
                Dns = defined.Dns.Select(d => Address(d, "dns")).ToArray(),
                Domain = defined.Domain,
                LeaseTime = TimeSpan.FromSeconds(defined.LeaseTimeSeconds),
                Reservations = defined.Reservations.Select(r => new SubnetReservation(r.Mac, Address(r.Address, "reservation"), r.Hostname)).ToArray(),
            };
            if (subnet.Check() is { } check)
            {
                problem = string.Create(CultureInfo.InvariantCulture, $"{check.Key}: {check.Problem}");
                return null;
            }

            return subnet;
        }
        catch (FormatException e)
        {
            problem = e.Message;
            return null;
        }
    }
}
