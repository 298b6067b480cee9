using Provisioner.Domain.Leases;
using Provisioner.Protocols.Dhcp;

namespace Provisioner.Domain.Tests.Leases;

public sealed class SubnetDeclarationsTests
{
    private const string EdgeA = "10.9.0.2:4054";
    private const string EdgeB = "10.9.0.3:4054";
    private static readonly DateTimeOffset T0 = Subnets.T0;

    private static LeaseEvents.SubnetDefined Declared(SubnetDefinition subnet, string node, int minutes = 0) =>
        SubnetDeclarations.Declare(subnet, node, T0.AddMinutes(minutes));

    [Fact]
    public void The_first_declaration_defines_the_subnet()
    {
        var declared = Declared(Subnets.Small(), EdgeA);

        var decision = SubnetDeclarations.Decide(null, declared);

        Assert.Equal(SubnetDeclarationOutcome.Defined, decision.Outcome);
        Assert.Same(declared, decision.Event);
        Assert.Equal(EdgeA, decision.DefinedBy);
    }

    [Fact]
    public void An_equal_declaration_from_any_node_writes_nothing_and_keeps_the_first_definer()
    {
        var current = Declared(Subnets.Small(), EdgeA);

        var again = SubnetDeclarations.Decide(current, Declared(Subnets.Small(), EdgeA, minutes: 5));
        var other = SubnetDeclarations.Decide(current, Declared(Subnets.Small(), EdgeB, minutes: 5));

        Assert.Equal(SubnetDeclarationOutcome.Unchanged, again.Outcome);
        Assert.Equal(SubnetDeclarationOutcome.Unchanged, other.Outcome);
        Assert.Null(other.Event);
        Assert.Equal(EdgeA, other.DefinedBy);
    }

    [Fact]
    public void Reservations_in_another_order_are_the_same_definition()
    {
        var r1 = new SubnetReservation("52:54:00:00:00:01", IPv4Address.Parse("10.0.0.51"), null);
        var r2 = new SubnetReservation("52:54:00:00:00:02", IPv4Address.Parse("10.0.0.52"), "web");
        var one = Subnets.Small() with { Reservations = [r1, r2] };
        var two = Subnets.Small() with { Reservations = [r2, r1] };

        Assert.Equal(SubnetDeclarationOutcome.Unchanged, SubnetDeclarations.Decide(Declared(one, EdgeA), Declared(two, EdgeB)).Outcome);
    }

    [Fact]
    public void A_different_definition_from_another_node_is_refused_naming_both_nodes_and_both_definitions()
    {
        var current = Declared(Subnets.Small(), EdgeA);
        var bigger = Subnets.Small() with { PoolEnd = IPv4Address.Parse("10.0.0.200") };

        var decision = SubnetDeclarations.Decide(current, Declared(bigger, EdgeB));

        Assert.Equal(SubnetDeclarationOutcome.Refused, decision.Outcome);
        Assert.Null(decision.Event);
        Assert.Equal(EdgeA, decision.DefinedBy);
        Assert.Contains($"defined by node {EdgeA} as 10.0.0.0/24 pool 10.0.0.10-10.0.0.12", decision.Reason, StringComparison.Ordinal);
        Assert.Contains($"node {EdgeB} declares 10.0.0.0/24 pool 10.0.0.10-10.0.0.200", decision.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("router")]
    [InlineData("dns")]
    [InlineData("domain")]
    [InlineData("lease-time")]
    [InlineData("reservation hostname")]
    [InlineData("network")]
    public void Every_field_counts_in_the_comparison(string field)
    {
        var small = Subnets.Small();
        var changed = field switch
        {
            "router" => small with { Router = IPv4Address.Parse("10.0.0.2") },
            "dns" => small with { Dns = [IPv4Address.Parse("10.0.0.1")] },
            "domain" => small with { Domain = "lab.example" },
            "lease-time" => small with { LeaseTime = TimeSpan.FromHours(2) },
            "reservation hostname" => small with { Reservations = [new SubnetReservation(Subnets.Reserved, IPv4Address.Parse("10.0.0.50"), "db2")] },
            _ => small with { Network = IPv4Address.Parse("10.0.0.0"), PrefixLength = 23 },
        };

        Assert.Equal(SubnetDeclarationOutcome.Refused, SubnetDeclarations.Decide(Declared(small, EdgeA), Declared(changed, EdgeB)).Outcome);
    }

    [Fact]
    public void The_defining_node_may_change_its_own_definition()
    {
        var current = Declared(Subnets.Small(), EdgeA);
        var bigger = Declared(Subnets.Small() with { PoolEnd = IPv4Address.Parse("10.0.0.200") }, EdgeA, minutes: 60);

        var decision = SubnetDeclarations.Decide(current, bigger);

        Assert.Equal(SubnetDeclarationOutcome.Redefined, decision.Outcome);
        Assert.Same(bigger, decision.Event);
        Assert.Contains("10.0.0.10-10.0.0.12", decision.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_declared_definition_reads_back_as_the_definition_it_was_made_from()
    {
        var subnet = Subnets.Small() with { Dns = [IPv4Address.Parse("10.0.0.1"), IPv4Address.Parse("10.0.0.2")], Domain = "lab.example" };

        var back = SubnetDeclarations.ToDefinition(Declared(subnet, EdgeA), out var problem);

        Assert.Null(problem);
        Assert.NotNull(back);
        Assert.Equal(Declared(subnet, EdgeA).Describe(), Declared(back, EdgeA).Describe());
        Assert.Equal(subnet.Cidr, back.Cidr);
        Assert.Equal(subnet.LeaseTime, back.LeaseTime);
        Assert.Equal(subnet.Reservations.Single().Address, back.Reservations.Single().Address);
    }

    [Fact]
    public void A_declaration_that_does_not_hold_is_refused_first_or_later_even_from_the_defining_node()
    {
        var broken = Declared(Subnets.Small(), EdgeA) with { PoolEnd = "10.0.1.12" };

        var first = SubnetDeclarations.Decide(null, broken);
        var later = SubnetDeclarations.Decide(Declared(Subnets.Small(), EdgeA), broken);

        Assert.Equal((SubnetDeclarationOutcome.Refused, "none"), (first.Outcome, first.DefinedBy));
        Assert.Equal((SubnetDeclarationOutcome.Refused, EdgeA), (later.Outcome, later.DefinedBy));
        Assert.All(new[] { first, later }, d => Assert.Null(d.Event));
        Assert.StartsWith($"subnet 'lab' declared by node {EdgeA} does not hold: pool-end", later.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_taken_declaration_carries_its_checked_definition()
    {
        var decision = SubnetDeclarations.Decide(null, Declared(Subnets.Small(), EdgeA));

        Assert.Equal(Subnets.Small().Cidr, decision.Definition!.Cidr);
        Assert.Equal(Subnets.Small().PoolEnd, decision.Definition.PoolEnd);
    }

    [Fact]
    public void A_definition_that_does_not_hold_is_not_taken()
    {
        var broken = Declared(Subnets.Small(), EdgeA) with { PoolEnd = "10.0.1.12" };

        Assert.Null(SubnetDeclarations.ToDefinition(broken, out var problem));
        Assert.StartsWith("pool-end", problem, StringComparison.Ordinal);
        Assert.Null(SubnetDeclarations.ToDefinition(broken with { PoolEnd = "ten" }, out problem));
        Assert.Contains("'ten'", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_handover_keeps_the_definition_and_lets_only_the_new_node_change_it()
    {
        var current = Declared(Subnets.Small(), EdgeA);

        var handed = SubnetDeclarations.HandOver(current, "small", EdgeB, T0.AddMinutes(1));

        Assert.Equal(SubnetDeclarationOutcome.Redefined, handed.Outcome);
        Assert.Equal(EdgeB, handed.Event!.Node);
        Assert.Equal(current.Describe(), handed.Event.Describe());
        Assert.Equal(Subnets.Small().Cidr, handed.Definition!.Cidr);
        var bigger = Subnets.Small() with { PoolEnd = IPv4Address.Parse("10.0.0.200") };
        Assert.Equal(SubnetDeclarationOutcome.Redefined, SubnetDeclarations.Decide(handed.Event, Declared(bigger, EdgeB, 2)).Outcome);
        Assert.Equal(SubnetDeclarationOutcome.Refused, SubnetDeclarations.Decide(handed.Event, Declared(bigger, EdgeA, 2)).Outcome);
    }

    [Fact]
    public void A_handover_to_the_holder_changes_nothing_and_of_an_undeclared_subnet_is_refused()
    {
        Assert.Equal(SubnetDeclarationOutcome.Unchanged, SubnetDeclarations.HandOver(Declared(Subnets.Small(), EdgeA), "small", EdgeA, T0).Outcome);
        var none = SubnetDeclarations.HandOver(null, "small", EdgeB, T0);
        Assert.Equal((SubnetDeclarationOutcome.Refused, "none"), (none.Outcome, none.DefinedBy));
        Assert.Null(none.Event);
    }
}
