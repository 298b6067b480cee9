namespace Provisioner.Lab.Tests.Support;

public sealed class LabNetworkTests
{
    [Fact]
    public async Task A_client_namespace_reaches_the_server_over_the_bridge_and_everything_is_removed_after()
    {
        string[] names;
        await using (var lab = await LabNetwork.CreateAsync(clients: 1))
        {
            names = [lab.Server, .. lab.Clients];
            await lab.RunAsync(lab.Clients[0], $"ip addr add 10.77.{lab.Subnet}.50/24 dev eth0");
            var ping = await lab.RunAsync(lab.Clients[0], $"ping -c 1 -W 2 {lab.ServerAddress}", TimeSpan.FromSeconds(10));
            Assert.True(ping.ExitCode == 0, ping.Output + ping.Error);
        }

        var list = await LabNetwork.Exec("ip", "netns list", TimeSpan.FromSeconds(10));
        foreach (var name in names)
        {
            Assert.DoesNotContain(name, list.Output);
        }
    }
}
