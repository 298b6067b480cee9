using Provisioner.Host.Cli;

namespace Provisioner.Host.Tests.Simulate;

public sealed class SimulateCliTests
{
    private static async Task<(int Exit, string Output, string Error)> Run(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await CommandLine.RunAsync(args, stdout, stderr);
        return (exit, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public async Task Simulate_help_prints_its_own_options_and_the_main_help_names_the_verb()
    {
        var (exit, output, error) = await Run("simulate", "--help");
        Assert.Equal((CommandLine.Ok, string.Empty), (exit, error));
        Assert.Contains("--relay-address IP[:PORT]", output);
        Assert.Contains("--timeout-per-machine T", output);

        var (mainExit, main, _) = await Run("--help");
        Assert.Equal(CommandLine.Ok, mainExit);
        Assert.Contains("provisioner simulate --dhcp-server IP[:PORT] --relay-address IP[:PORT]", main);
    }

    [Fact]
    public async Task Simulate_usage_errors_exit_2_on_stderr_and_options_of_other_verbs_are_refused()
    {
        var (exit, output, error) = await Run("simulate", "--dhcp-server", "10.0.0.1", "--relay-address", "10.0.1.1", "--server", "http://x");

        Assert.Equal(CommandLine.Usage, exit);
        Assert.Equal(string.Empty, output);
        Assert.Contains("unknown option '--server' for simulate", error);
    }

    [Fact]
    public async Task A_relay_address_this_host_does_not_have_fails_with_exit_1_before_any_machine_starts()
    {
        // 192.0.2.1 (TEST-NET-1) is no address of this host: the bind fails, nothing is sent anywhere.
        var (exit, output, error) = await Run("simulate", "--dhcp-server", "127.0.0.1:6767", "--relay-address", "192.0.2.1", "--machines", "1");

        Assert.Equal(CommandLine.Failed, exit);
        Assert.Equal(string.Empty, output);
        Assert.Contains("cannot listen on the relay address 192.0.2.1:6767", error);
    }
}
