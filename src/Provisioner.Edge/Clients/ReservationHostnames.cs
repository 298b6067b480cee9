using Provisioner.Domain.Leases;
using Provisioner.Domain.Machines;
using Provisioner.Edge.Http;

namespace Provisioner.Edge.Clients;

/// <summary>Hostnames from the DHCP reservations (<c>reservations = [{ mac, address, hostname }]</c>), for kickstarts.</summary>
public sealed class ReservationHostnames(IEnumerable<SubnetDefinition> subnets) : IMachineHostnames
{
    private readonly Dictionary<MachineId, string> _byMachine = subnets
        .SelectMany(s => s.Reservations)
        .Where(r => !string.IsNullOrWhiteSpace(r.Hostname) && MachineId.TryParse(r.Mac, out _))
        .GroupBy(r => MachineId.Parse(r.Mac))
        .ToDictionary(g => g.Key, g => g.First().Hostname!);

    public string? HostnameOf(MachineId machine) => _byMachine.TryGetValue(machine, out var name) ? name : null;
}
