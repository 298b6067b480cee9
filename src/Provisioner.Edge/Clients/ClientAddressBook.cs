using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using Provisioner.Domain.Machines;

namespace Provisioner.Edge.Clients;

/// <summary>
/// Which machine is behind a client IPv4 address. TFTP and HTTP requests carry only the client's address;
/// the DHCP server records every address it hands out here, and the kernel's ARP table (of this node's
/// network namespace) answers for clients on the segment that got their address elsewhere.
/// </summary>
public sealed class ClientAddressBook(Func<IPAddress, MachineId?>? fallback = null)
{
    private readonly ConcurrentDictionary<IPAddress, MachineId> _byAddress = new();
    private readonly Func<IPAddress, MachineId?> _fallback = fallback ?? ArpTable.Lookup;

    public void Record(IPAddress address, MachineId machine) => _byAddress[address] = machine;

    public void Forget(IPAddress address) => _byAddress.TryRemove(address, out _);

    public MachineId? Find(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        return _byAddress.TryGetValue(address, out var machine) ? machine : _fallback(address);
    }
}

/// <summary>Reads <c>/proc/net/arp</c>: "IP address  HW type  Flags  HW address  Mask  Device".</summary>
public static class ArpTable
{
    public const string DefaultPath = "/proc/net/arp";

    public static MachineId? Lookup(IPAddress address) => Lookup(address, DefaultPath);

    public static MachineId? Lookup(IPAddress address, string path)
    {
        ArgumentNullException.ThrowIfNull(address);
        var text = address.ToString();
        try
        {
            foreach (var line in File.ReadLines(path).Skip(1))
            {
                // Only the line of this address is split: the table is read whole for every unknown client (a TFTP
                // transfer's report, say), and splitting all of its lines was a sixth of a transfer thread's CPU with
                // 200 clients at once. The space after the address keeps 10.0.0.1 from matching 10.0.0.10.
                if (!line.StartsWith(text, StringComparison.Ordinal) || line.Length == text.Length || line[text.Length] != ' ')
                {
                    continue;
                }

                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                // Flags 0x0 = incomplete entry (no answer to ARP yet).
                if (fields.Length >= 4 && fields[2] != "0x0" &&
                    MachineId.TryParse(fields[3], out var machine))
                {
                    return machine;
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return null;
    }

    /// <summary>Formats a line as the kernel does; used by tests that fake the table.</summary>
    public static string FormatLine(IPAddress address, string mac, string device) =>
        string.Create(CultureInfo.InvariantCulture, $"{address,-16} 0x1         0x2         {mac}     *        {device}");
}
