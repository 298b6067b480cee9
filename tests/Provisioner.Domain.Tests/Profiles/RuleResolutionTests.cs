using Provisioner.Domain.Machines;
using Provisioner.Domain.Profiles;
using Provisioner.Protocols.Dhcp;

namespace Provisioner.Domain.Tests.Profiles;

public sealed class RuleResolutionTests : IDisposable
{
    private readonly ConfigDir dir = new ConfigDir()
        .ValidProfile("special").ValidProfile("lab").ValidProfile("wide").ValidProfile("fallback");

    public void Dispose() => dir.Dispose();

    private ProfileCatalog Catalog(params string[] rules) => ProfileCatalog.Load(dir.Rules(rules).Path);

    private static readonly MachineId Special = MachineId.Parse("00:0c:29:24:d9:8f");
    private static readonly MachineId Other = MachineId.Parse("52:54:00:12:34:56");

    [Theory]
    [InlineData("00:0c:29:24:d9:8f", "10.33.1.150", "special")]
    [InlineData("52:54:00:12:34:56", "10.33.1.150", "lab")]
    [InlineData("52:54:00:12:34:56", "10.33.9.9", "wide")]
    [InlineData("52:54:00:12:34:56", "192.168.1.1", "fallback")]
    public void First_matching_rule_wins(string mac, string address, string expected)
    {
        var catalog = Catalog(
            "mac 00-0C-29-24-D9-8F special   # the build box",
            "subnet 10.33.1.0/24 lab",
            "subnet 10.33.0.0/16 wide",
            "subnet 10.33.1.0/24 wide",
            "default fallback");

        var resolution = catalog.Resolve(MachineId.Parse(mac), IPv4Address.Parse(address));

        Assert.Equal(expected, resolution.Profile?.Name);
    }

    [Fact]
    public void Subnet_rule_before_mac_rule_wins_for_that_mac()
    {
        var catalog = Catalog("subnet 10.33.0.0/16 wide", "mac 00:0c:29:24:d9:8f special");

        var resolution = catalog.Resolve(Special, IPv4Address.Parse("10.33.1.5"));

        Assert.Equal("wide", resolution.Profile?.Name);
        Assert.Contains("rules.conf:1", resolution.Reason);
    }

    [Fact]
    public void Subnet_rule_needs_a_known_address()
    {
        var catalog = Catalog("subnet 10.33.0.0/16 wide");

        var resolution = catalog.Resolve(Other, null);

        Assert.Null(resolution.Profile);
        Assert.Contains("address is unknown", resolution.Reason);
    }

    [Fact]
    public void No_matching_rule_gives_null_with_a_reason()
    {
        var catalog = Catalog("mac 00:0c:29:24:d9:8f special");

        var resolution = catalog.Resolve(Other, IPv4Address.Parse("10.0.0.1"));

        Assert.Null(resolution.Profile);
        Assert.Contains("no rule", resolution.Reason);
        Assert.Contains("52:54:00:12:34:56", resolution.Reason);
    }

    [Fact]
    public void Slash_zero_matches_every_address_and_slash_32_only_one()
    {
        var catalog = Catalog("subnet 10.0.0.7/32 special", "subnet 0.0.0.0/0 wide");

        Assert.Equal("special", catalog.Resolve(Other, IPv4Address.Parse("10.0.0.7")).Profile?.Name);
        Assert.Equal("wide", catalog.Resolve(Other, IPv4Address.Parse("10.0.0.8")).Profile?.Name);
    }
}
