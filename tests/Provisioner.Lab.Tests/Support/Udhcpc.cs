using System.Text.RegularExpressions;

namespace Provisioner.Lab.Tests.Support;

/// <summary>busybox udhcpc as the lab's DHCP client: one exchange on <c>eth0</c>, no script, the lease read from its output.</summary>
public static partial class Udhcpc
{
    /// <summary>The line udhcpc prints for a lease; group 1 is the address.</summary>
    [GeneratedRegex(@"lease of (\d+\.\d+\.\d+\.\d+) obtained")]
    public static partial Regex LeaseLine();

    /// <summary>
    /// Runs <c>udhcpc -i eth0 -n -q -f -t TRIES -T PERIOD -s /bin/true OPTIONS</c> in <paramref name="ns"/> (OPTIONS e.g.
    /// <c>-r ADDRESS</c>, <c>-V VENDOR-CLASS</c>, <c>-x OPT:HEX</c>) and returns the address leased; fails the test without
    /// one. The default (5 DISCOVERs 2 s apart) is a quick client; a PXE ROM keeps asking for about 60 s (4, 8, 16, 32 s).
    /// </summary>
    public static async Task<string> LeaseAsync(LabNetwork lab, string ns, string options, TimeSpan timeout, int tries = 5, int periodSeconds = 2)
    {
        ArgumentNullException.ThrowIfNull(lab);
        var result = await lab.RunAsync(ns, $"udhcpc -i eth0 -n -q -f -t {tries} -T {periodSeconds} -s /bin/true {options}", timeout);
        var match = LeaseLine().Match(result.Output + result.Error);
        Assert.True(match.Success, $"udhcpc got no lease (exit {result.ExitCode}):\n{result.Output}\n{result.Error}");
        return match.Groups[1].Value;
    }
}
