using Akka.Configuration;
using Provisioner.Cluster.Leases;
using Provisioner.Protocols.Dhcp;

namespace Provisioner.Cluster.Tests.Leases;

public sealed class SubnetConfigTests
{
    private static IReadOnlyList<Domain.Leases.SubnetDefinition> Bind(string subnets) =>
        SubnetConfig.ListFromConfig(ConfigurationFactory.ParseString($"provisioner.edge.dhcp.subnets = {subnets}"));

    [Fact]
    public void Binds_every_key_of_a_subnet()
    {
        var subnet = Assert.Single(SubnetConfig.ListFromConfig(ConfigurationFactory.ParseString(LeaseNode.Subnets)), s => s.Id == "lab");

        Assert.Equal(IPv4Address.Parse("10.0.0.0"), subnet.Network);
        Assert.Equal(24, subnet.PrefixLength);
        Assert.Equal(IPv4Address.Parse("10.0.0.10"), subnet.PoolStart);
        Assert.Equal(IPv4Address.Parse("10.0.0.250"), subnet.PoolEnd);
        Assert.Equal(IPv4Address.Parse("10.0.0.1"), subnet.Router);
        Assert.Equal([IPv4Address.Parse("10.0.0.1")], subnet.Dns);
        Assert.Equal("lab.example", subnet.Domain);
        Assert.Equal(TimeSpan.FromHours(1), subnet.LeaseTime);
        var reservation = Assert.Single(subnet.Reservations);
        Assert.Equal(("52:54:00:00:09:99", IPv4Address.Parse("10.0.0.5"), "db1"), (reservation.Mac, reservation.Address, reservation.Hostname));
    }

    [Fact]
    public void Absent_or_empty_subnets_bind_to_none()
    {
        Assert.Empty(SubnetConfig.ListFromConfig(ConfigurationFactory.ParseString("a = 1")));
        Assert.Empty(Bind("[]"));
    }

    [Fact]
    public void Optional_keys_take_defaults()
    {
        var subnet = Assert.Single(Bind("""[ { id = x, network = "10.2.0.0/16", pool-start = "10.2.1.0", pool-end = "10.2.1.255" } ]"""));

        Assert.Null(subnet.Router);
        Assert.Empty(subnet.Dns);
        Assert.Null(subnet.Domain);
        Assert.Equal(SubnetConfig.DefaultLeaseTime, subnet.LeaseTime);
        Assert.Empty(subnet.Reservations);
    }

    [Theory]
    [InlineData("""[ { network = "10.0.0.0/24", pool-start = "10.0.0.10", pool-end = "10.0.0.20" } ]""", "subnets.0.id")]
    [InlineData("""[ { id = a, network = "10.0.0.1/24", pool-start = "10.0.0.10", pool-end = "10.0.0.20" } ]""", "subnets.0.network")]
    [InlineData("""[ { id = a, network = "10.0.0.0/24", pool-start = "10.0.0.10", pool-end = "10.0.1.20" } ]""", "subnets.0.pool-end")]
    [InlineData("""[ { id = a, network = "10.0.0.0/24", pool-start = "10.0.9.10", pool-end = "10.0.0.20" } ]""", "subnets.0.pool-start")]
    [InlineData("""[ { id = a, network = "10.0.0.0/24", pool-start = "banana", pool-end = "10.0.0.20" } ]""", "subnets.0.pool-start")]
    [InlineData("""[ { id = a, network = "10.0.0.0/24", pool-start = "10.0.0.10", pool-end = "10.0.0.20", router = "10.9.0.1" } ]""", "subnets.0.router")]
    [InlineData("""[ { id = a, network = "10.0.0.0/24", pool-start = "10.0.0.10", pool-end = "10.0.0.20", lease-time = soon } ]""", "subnets.0.lease-time")]
    [InlineData("""[ { id = a, network = "10.0.0.0/24", pool-start = "10.0.0.10", pool-end = "10.0.0.20", dns = ["x"] } ]""", "subnets.0.dns")]
    [InlineData("""[ { id = a, network = "10.0.0.0/24", pool-start = "10.0.0.10", pool-end = "10.0.0.20", reservations = [ { mac = "zz", address = "10.0.0.5" } ] } ]""", "subnets.0.reservations.0.mac")]
    [InlineData("""[ { id = a, network = "10.0.0.0/24", pool-start = "10.0.0.10", pool-end = "10.0.0.20", reservations = [ { mac = "52:54:00:00:00:01", address = "10.0.5.5" } ] } ]""", "subnets.0.reservations.0.address")]
    [InlineData("""[ { id = a, network = "10.0.0.0/24", pool-start = "10.0.0.10", pool-end = "10.0.0.20" }, { id = b, network = "10.0.0.0/16", pool-start = "10.0.1.10", pool-end = "10.0.1.20" } ]""", "subnets.1.network")]
    [InlineData("""[ { id = a, network = "10.0.0.0/24", pool-start = "10.0.0.10", pool-end = "10.0.0.20" }, { id = a, network = "10.1.0.0/24", pool-start = "10.1.0.10", pool-end = "10.1.0.20" } ]""", "subnets.1.id")]
    [InlineData("""[ 42 ]""", "subnets.0")]
    public void Bad_values_fail_fast_naming_the_key(string subnets, string key)
    {
        var error = Assert.Throws<ConfigurationException>(() => Bind(subnets));

        Assert.StartsWith("provisioner.edge.dhcp." + key + ":", error.Message);
    }
}
