using Provisioner.Domain.Machines;

namespace Provisioner.Edge.Http;

/// <summary>
/// Optional: the hostname reserved for a machine (a DHCP reservation's <c>hostname</c>). When none is registered, or
/// it answers null, a machine is called <c>node-&lt;mac without colons&gt;</c>.
/// </summary>
public interface IMachineHostnames
{
    string? HostnameOf(MachineId machine);
}
