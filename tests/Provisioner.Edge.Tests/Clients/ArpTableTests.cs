using System.Net;
using Provisioner.Domain.Machines;
using Provisioner.Edge.Clients;

namespace Provisioner.Edge.Tests.Clients;

/// <summary>The kernel's ARP table as the fallback for clients the DHCP server did not lease to.</summary>
public sealed class ArpTableTests : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"arp-{Guid.NewGuid():N}");

    public void Dispose() => File.Delete(_path);

    private void Table(params string[] lines) =>
        File.WriteAllLines(_path, ["IP address       HW type     Flags       HW address            Mask     Device", .. lines]);

    [Fact]
    public void An_address_is_found_on_its_own_line_and_not_on_a_line_it_is_a_prefix_of()
    {
        Table(
            ArpTable.FormatLine(IPAddress.Parse("10.0.0.10"), "52:54:00:00:00:10", "br0"),
            ArpTable.FormatLine(IPAddress.Parse("10.0.0.1"), "52:54:00:00:00:01", "br0"),
            ArpTable.FormatLine(IPAddress.Parse("10.0.0.100"), "52:54:00:00:01:00", "br0"));

        Assert.Equal(MachineId.Parse("52:54:00:00:00:01"), ArpTable.Lookup(IPAddress.Parse("10.0.0.1"), _path));
        Assert.Equal(MachineId.Parse("52:54:00:00:00:10"), ArpTable.Lookup(IPAddress.Parse("10.0.0.10"), _path));
        Assert.Equal(MachineId.Parse("52:54:00:00:01:00"), ArpTable.Lookup(IPAddress.Parse("10.0.0.100"), _path));
        Assert.Null(ArpTable.Lookup(IPAddress.Parse("10.0.0.2"), _path));
    }

    [Fact]
    public void An_incomplete_entry_is_no_machine()
    {
        // Flags 0x0: the kernel asked and nobody answered yet (HW address all zeros).
        Table("10.0.0.7         0x1         0x0         00:00:00:00:00:00     *        br0");

        Assert.Null(ArpTable.Lookup(IPAddress.Parse("10.0.0.7"), _path));
    }

    [Fact]
    public void A_missing_table_is_no_machine_not_an_error()
    {
        Assert.Null(ArpTable.Lookup(IPAddress.Parse("10.0.0.1"), _path + "-missing"));
    }
}
