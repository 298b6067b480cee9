using System.Net;
using Provisioner.Host.Cli;
using Provisioner.Host.Simulate;

namespace Provisioner.Host.Tests.Simulate;

public sealed class SimulateOptionsTests
{
    private static SimulateOptions Parse(params string[] args) =>
        SimulateOptions.Parse(args, _ => null) ?? throw new InvalidOperationException("help");

    private static string Refused(params string[] args) =>
        Assert.Throws<UsageException>(() => SimulateOptions.Parse(args, _ => null)).Message;

    [Fact]
    public void Only_the_server_and_the_relay_are_required_and_the_rest_has_defaults()
    {
        var options = Parse("--dhcp-server", "10.77.0.1", "--relay-address", "10.88.0.1");

        Assert.Equal([new IPEndPoint(IPAddress.Parse("10.77.0.1"), 67)], options.DhcpServers);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("10.88.0.1"), 67), options.Relay);
        Assert.Equal(100, options.Machines);
        Assert.Equal(10, options.Rate);
        Assert.Equal(0, options.Architecture);
        Assert.Equal(TimeSpan.FromSeconds(120), options.TimeoutPerMachine);
        Assert.Equal(1000, options.InFlight);
        Assert.Equal([0x52, 0x54, 0x01, 0x00, 0x00, 0x00], options.MacBase);
        Assert.Null(options.Admin);
        Assert.Null(options.Token);
        Assert.False(options.Json);
    }

    [Fact]
    public void Every_option_is_read_in_either_spelling()
    {
        var options = SimulateOptions.Parse(
            ["--dhcp-server=127.0.0.1:6767", "--relay-address", "127.0.0.2", "--machines", "5000", "--rate=2.5", "--mac-base", "02-00-00-00-00-fe",
             "--arch", "7", "--timeout-per-machine", "2m", "--in-flight", "50", "--admin", "http://10.0.0.1:9780", "-o", "json"],
            name => name == "PROVISIONER_ADMIN_TOKEN" ? "from-env" : null)!;

        Assert.Equal([new IPEndPoint(IPAddress.Loopback, 6767)], options.DhcpServers);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("127.0.0.2"), 6767), options.Relay); // the server answers relays on its own port
        Assert.Equal(5000, options.Machines);
        Assert.Equal(2.5, options.Rate);
        Assert.Equal(7, options.Architecture);
        Assert.Equal(TimeSpan.FromMinutes(2), options.TimeoutPerMachine);
        Assert.Equal(50, options.InFlight);
        Assert.Equal(new Uri("http://10.0.0.1:9780"), options.Admin);
        Assert.Equal("from-env", options.Token);
        Assert.True(options.Json);
        Assert.Equal([0x02, 0, 0, 0, 0, 0xfe], options.Mac(0));
        Assert.Equal([0x02, 0, 0, 0, 1, 0x00], options.Mac(2)); // counts up with carry
    }

    [Fact]
    public void Several_servers_are_given_comma_separated_and_none_twice()
    {
        var options = Parse("--dhcp-server", "10.77.0.11, 10.77.0.12:6767", "--relay-address", "10.88.0.1");

        Assert.Equal([new IPEndPoint(IPAddress.Parse("10.77.0.11"), 67), new IPEndPoint(IPAddress.Parse("10.77.0.12"), 6767)], options.DhcpServers);
        Assert.Equal(67, options.Relay.Port); // the first server's port
        Assert.Contains("twice", Refused("--dhcp-server", "10.77.0.11,10.77.0.11", "--relay-address", "10.88.0.1"), StringComparison.Ordinal);
    }

    [Fact]
    public void A_token_on_the_command_line_beats_the_environment()
    {
        var options = SimulateOptions.Parse(["--dhcp-server", "10.0.0.1", "--relay-address", "10.0.1.1", "--token", "flag"], _ => "env")!;

        Assert.Equal("flag", options.Token);
    }

    [Theory]
    [InlineData("120s", 120_000)]
    [InlineData("90", 90_000)]
    [InlineData("2m", 120_000)]
    [InlineData("500ms", 500)]
    [InlineData("1.5s", 1500)]
    [InlineData("1h", 3_600_000)]
    public void Durations_take_a_unit_or_mean_seconds(string text, int milliseconds)
    {
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), SimulateOptions.Duration("timeout-per-machine", text));
    }

    [Theory]
    [InlineData("0s")]
    [InlineData("-5s")]
    [InlineData("2d")]
    [InlineData("soon")]
    [InlineData("25h")]
    public void Bad_durations_are_refused_naming_the_option(string text)
    {
        Assert.Contains("--timeout-per-machine", Refused("--dhcp-server", "10.0.0.1", "--relay-address", "10.0.1.1", "--timeout-per-machine", text));
    }

    [Theory]
    [InlineData("needs --dhcp-server", "--relay-address", "10.0.1.1")]
    [InlineData("needs --relay-address", "--dhcp-server", "10.0.0.1")]
    [InlineData("unknown option '--stage'", "--dhcp-server", "10.0.0.1", "--relay-address", "10.0.1.1", "--stage", "New")]
    [InlineData("given twice", "--dhcp-server", "10.0.0.1", "--relay-address", "10.0.1.1", "--rate", "1", "--rate", "2")]
    [InlineData("needs a value", "--dhcp-server", "10.0.0.1", "--relay-address")]
    [InlineData("unexpected 'now'", "now", "--dhcp-server", "10.0.0.1", "--relay-address", "10.0.1.1")]
    [InlineData("--dhcp-server 'fe80::1'", "--dhcp-server", "fe80::1", "--relay-address", "10.0.1.1")]
    [InlineData("--dhcp-server '10.0.0.1:0'", "--dhcp-server", "10.0.0.1:0", "--relay-address", "10.0.1.1")]
    [InlineData("--relay-address '10.1'", "--dhcp-server", "10.0.0.1", "--relay-address", "10.1")]
    [InlineData("--machines '0'", "--dhcp-server", "10.0.0.1", "--relay-address", "10.0.1.1", "--machines", "0")]
    [InlineData("--machines '1000001'", "--dhcp-server", "10.0.0.1", "--relay-address", "10.0.1.1", "--machines", "1000001")]
    [InlineData("--rate '0'", "--dhcp-server", "10.0.0.1", "--relay-address", "10.0.1.1", "--rate", "0")]
    [InlineData("--arch '16'", "--dhcp-server", "10.0.0.1", "--relay-address", "10.0.1.1", "--arch", "16")]
    [InlineData("--in-flight '0'", "--dhcp-server", "10.0.0.1", "--relay-address", "10.0.1.1", "--in-flight", "0")]
    [InlineData("--mac-base 'nope'", "--dhcp-server", "10.0.0.1", "--relay-address", "10.0.1.1", "--mac-base", "nope")]
    [InlineData("multicast", "--dhcp-server", "10.0.0.1", "--relay-address", "10.0.1.1", "--mac-base", "01:00:5e:00:00:01")]
    [InlineData("leaves no room for 2 machines", "--dhcp-server", "10.0.0.1", "--relay-address", "10.0.1.1", "--mac-base", "fe:ff:ff:ff:ff:ff", "--machines", "2")]
    [InlineData("--admin 'ftp://x'", "--dhcp-server", "10.0.0.1", "--relay-address", "10.0.1.1", "--admin", "ftp://x")]
    [InlineData("unknown output format 'yaml'", "--dhcp-server", "10.0.0.1", "--relay-address", "10.0.1.1", "-o", "yaml")]
    public void Usage_errors_say_what_is_wrong(string expected, params string[] args)
    {
        Assert.Contains(expected, Refused(args));
    }

    [Fact]
    public void The_last_mac_may_be_the_last_unicast_address_of_its_range()
    {
        var options = Parse("--dhcp-server", "10.0.0.1", "--relay-address", "10.0.1.1", "--mac-base", "fe:ff:ff:ff:ff:fe", "--machines", "2");

        Assert.Equal([0xfe, 0xff, 0xff, 0xff, 0xff, 0xff], options.Mac(1));
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    [InlineData("help")]
    public void Help_is_asked_for_anywhere(string help)
    {
        Assert.Null(SimulateOptions.Parse(["--machines", "3", help], _ => null));
    }
}
