using Provisioner.Domain.Leases;
using Provisioner.Domain.Machines;
using Provisioner.Edge.Clients;
using Provisioner.Protocols.Dhcp;

namespace Provisioner.Edge.Tests.Clients;

public sealed class ReservationHostnamesTests
{
    [Fact]
    public void A_reserved_machine_is_named_by_its_reservation_whatever_the_mac_spelling_and_others_are_not()
    {
        var subnet = new SubnetDefinition
        {
            Id = "rack1",
            Network = IPv4Address.Parse("10.20.0.0"),
            PrefixLength = 24,
            PoolStart = IPv4Address.Parse("10.20.0.100"),
            PoolEnd = IPv4Address.Parse("10.20.0.200"),
            LeaseTime = TimeSpan.FromHours(1),
            Reservations =
            [
                new SubnetReservation("52-54-00-12-34-56", IPv4Address.Parse("10.20.0.10"), "db1"),
                new SubnetReservation("52:54:00:12:34:57", IPv4Address.Parse("10.20.0.11"), null),
            ],
        };

        var names = new ReservationHostnames([subnet]);

        Assert.Equal("db1", names.HostnameOf(MachineId.Parse("52:54:00:12:34:56")));
        Assert.Null(names.HostnameOf(MachineId.Parse("52:54:00:12:34:57")));
        Assert.Null(names.HostnameOf(MachineId.Parse("52:54:00:99:99:99")));
    }
}
