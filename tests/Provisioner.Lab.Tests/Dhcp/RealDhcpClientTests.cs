using System.Text.RegularExpressions;
using Provisioner.Lab.Tests.Support;

namespace Provisioner.Lab.Tests.Dhcp;

/// <summary>busybox udhcpc and ISC dhclient against `provisioner serve` on a lab bridge.</summary>
[Collection(LabCollection.Name)]
public sealed partial class RealDhcpClientTests
{
    private static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(40);

    [Fact]
    public async Task Udhcpc_and_dhclient_get_distinct_leases_from_the_pool()
    {
        await using var lab = await LabNetwork.CreateAsync(clients: 2);
        using var dir = new LabDirectory();
        await using var node = await ProvisionerNode.StartAsync(lab, dir.Path);

        var first = await Udhcpc(lab, lab.Clients[0]);
        var second = await Dhclient(lab, lab.Clients[1], dir.Path);

        Assert.NotEqual(first, second);
        Assert.True(InPool(lab, first), first);
        Assert.True(InPool(lab, second), second);
    }

    [Fact]
    public async Task Renewal_keeps_the_address_and_a_restarted_server_keeps_every_lease()
    {
        await using var lab = await LabNetwork.CreateAsync(clients: 3);
        using var dir = new LabDirectory();
        string a, b;
        await using (var node = await ProvisionerNode.StartAsync(lab, dir.Path))
        {
            a = await Udhcpc(lab, lab.Clients[0]);
            b = await Udhcpc(lab, lab.Clients[1]);
            Assert.NotEqual(a, b);

            // Asking again for its address (REQUEST with option 50, as a renewing or rebooting client does).
            Assert.Equal(a, await Udhcpc(lab, lab.Clients[0], requested: a));
        }

        // The node was killed (SIGKILL): every acknowledged lease must still be there after a restart.
        await using (var node = await ProvisionerNode.StartAsync(lab, dir.Path))
        {
            Assert.Equal(a, await Udhcpc(lab, lab.Clients[0], requested: a));
            Assert.Equal(b, await Udhcpc(lab, lab.Clients[1]));
            // A client asking for someone else's address gets its own, never theirs.
            var c = await Udhcpc(lab, lab.Clients[2], requested: a);
            Assert.NotEqual(a, c);
            Assert.NotEqual(b, c);
        }
    }

    private static bool InPool(LabNetwork lab, string address)
    {
        var last = int.Parse(address.Split('.')[3], System.Globalization.CultureInfo.InvariantCulture);
        return address.StartsWith($"10.77.{lab.Subnet}.", StringComparison.Ordinal) && last is >= 100 and <= 199;
    }

    private static Task<string> Udhcpc(LabNetwork lab, string ns, string? requested = null) =>
        Support.Udhcpc.LeaseAsync(lab, ns, requested is null ? string.Empty : $"-r {requested}", ClientTimeout);

    private static async Task<string> Dhclient(LabNetwork lab, string ns, string directory)
    {
        var leases = Path.Combine(directory, $"{ns}.leases");
        var pid = Path.Combine(directory, $"{ns}.pid");
        var result = await lab.RunAsync(ns, $"dhclient -1 -v -d -sf /bin/true -lf {leases} -pf {pid} eth0", ClientTimeout);
        var match = DhclientBound().Match(result.Output + result.Error);
        Assert.True(match.Success, $"dhclient got no lease (exit {result.ExitCode}):\n{result.Output}\n{result.Error}");
        return match.Groups[1].Value;
    }

    [GeneratedRegex(@"bound to (\d+\.\d+\.\d+\.\d+)")]
    private static partial Regex DhclientBound();
}
