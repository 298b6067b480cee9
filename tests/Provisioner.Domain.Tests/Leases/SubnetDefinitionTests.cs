using Provisioner.Domain.Leases;
using Provisioner.Protocols.Dhcp;

namespace Provisioner.Domain.Tests.Leases;

public sealed class SubnetDefinitionTests
{
    [Fact]
    public void Sound_subnet_passes_its_check_and_derives_mask_and_broadcast()
    {
        var subnet = Subnets.Small();

        Assert.Null(subnet.Check());
        Assert.Equal(IPv4Address.Parse("255.255.255.0"), subnet.Mask);
        Assert.Equal(IPv4Address.Parse("10.0.0.255"), subnet.Broadcast);
        Assert.Equal("10.0.0.0/24", subnet.Cidr);
    }

    [Theory]
    [InlineData("10.0.0.0/24", true)]
    [InlineData("10.0.0.1/24", false)]
    [InlineData("10.0.0.0/33", false)]
    [InlineData("10.0.0.0", false)]
    [InlineData("10.0.0.0/x", false)]
    public void Cidr_parsing_requires_a_clean_network(string text, bool ok)
    {
        Assert.Equal(ok, SubnetDefinition.TryParseCidr(text, out _, out _));
    }

    [Fact]
    public void Pool_outside_the_network_is_refused_naming_the_key()
    {
        var subnet = Subnets.Small() with { PoolEnd = IPv4Address.Parse("10.0.1.12") };

        Assert.Equal("pool-end", subnet.Check()!.Value.Key);
    }

    [Fact]
    public void Reservation_outside_the_network_is_refused_naming_the_key()
    {
        var subnet = Subnets.Small() with { Reservations = [new SubnetReservation(Subnets.A, IPv4Address.Parse("192.168.0.5"), null)] };

        Assert.Equal("reservations.0.address", subnet.Check()!.Value.Key);
    }

    [Fact]
    public void Overlapping_subnets_are_refused()
    {
        var wide = Subnets.Small() with { Id = "wide", Network = IPv4Address.Parse("10.0.0.0"), PrefixLength = 16 };

        var problem = SubnetDefinition.CheckAll([Subnets.Small(), wide]);

        Assert.Equal((1, "network"), (problem!.Value.Index, problem.Value.Key));
    }

    [Fact]
    public void Duplicate_ids_are_refused()
    {
        var other = Subnets.Small() with
        {
            Network = IPv4Address.Parse("10.1.0.0"),
            PoolStart = IPv4Address.Parse("10.1.0.10"),
            PoolEnd = IPv4Address.Parse("10.1.0.12"),
            Router = null,
            Reservations = [],
        };

        Assert.Equal("id", SubnetDefinition.CheckAll([Subnets.Small(), other])!.Value.Key);
    }
}
