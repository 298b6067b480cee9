using System.Net;
using System.Net.Sockets;

namespace Provisioner.Lab.Tests.Support;

[Collection(LabCollection.Name)]
public sealed class NetnsSocketTests
{
    [Fact]
    public async Task A_socket_created_in_a_client_namespace_sends_from_that_namespace_and_address()
    {
        await using var lab = await LabNetwork.CreateAsync(clients: 1);
        var client = lab.Clients[0];
        var clientAddress = IPAddress.Parse($"10.77.{lab.Subnet}.50");
        await lab.RunAsync(client, $"ip addr add {clientAddress}/24 dev eth0");

        // The root namespace has no such address: binding there fails, so the helper really did switch.
        using (var root = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
        {
            Assert.Throws<SocketException>(() => root.Bind(new IPEndPoint(clientAddress, 0)));
        }

        using var receiver = NetnsSocket.CreateUdp(lab.Server, new IPEndPoint(IPAddress.Parse(lab.ServerAddress), 0));
        using var sender = NetnsSocket.CreateUdp(client, new IPEndPoint(clientAddress, 0));
        sender.SendTo("hello"u8.ToArray(), receiver.LocalEndPoint!);

        var buffer = new byte[16];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        var received = await receiver.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), timeout.Token);

        Assert.Equal("hello", System.Text.Encoding.ASCII.GetString(buffer, 0, received.ReceivedBytes));
        Assert.Equal(sender.LocalEndPoint, received.RemoteEndPoint);
    }

    [Fact]
    public void A_namespace_that_does_not_exist_is_an_error_not_the_root_namespace()
    {
        var e = Assert.Throws<InvalidOperationException>(() => NetnsSocket.CreateUdp("pv-no-such-namespace", new IPEndPoint(IPAddress.Loopback, 0)));
        Assert.Contains("/var/run/netns/pv-no-such-namespace", e.Message);
    }
}
