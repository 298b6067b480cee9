using System.Net;
using System.Net.Sockets;

namespace Provisioner.Host.Simulate;

/// <summary>
/// Where a simulated machine's TFTP and HTTP traffic comes from. A real machine sends from the address it was ACKed,
/// and the edge ties a TFTP download to the machine by that address. The simulator does the same when the leased
/// addresses are local to its host (a local route for the relayed subnet, e.g. <c>ip route add local 10.88.0.0/24
/// dev lo</c>); the first bind that fails (EADDRNOTAVAIL) switches every later machine to the host's own address.
/// </summary>
public sealed class SourceAddresses
{
    private int _hostOnly;
    private long _leased;
    private long _host;

    /// <summary>How the run's traffic went out, for the report.</summary>
    public string Describe()
    {
        var leased = Interlocked.Read(ref _leased);
        var host = Interlocked.Read(ref _host);
        return (leased, host) switch
        {
            (0, 0) => "no TFTP or HTTP traffic",
            (_, 0) => "each machine's leased address",
            (0, _) => "this host's address (leased addresses are not local here, so the edge cannot tell whose NBP download it serves)",
            _ => $"each machine's leased address for {leased} sockets, this host's for {host} (leased addresses stopped being local)",
        };
    }

    /// <summary>Binds <paramref name="socket"/> to <paramref name="leased"/> if the host has it, else leaves it to the kernel.</summary>
    public void Bind(Socket socket, IPAddress? leased)
    {
        ArgumentNullException.ThrowIfNull(socket);
        if (leased is not null && Volatile.Read(ref _hostOnly) == 0)
        {
            try
            {
                socket.Bind(new IPEndPoint(leased, 0));
                Interlocked.Increment(ref _leased);
                return;
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressNotAvailable)
            {
                Volatile.Write(ref _hostOnly, 1);
            }
        }

        Interlocked.Increment(ref _host);
    }
}
