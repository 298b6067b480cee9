using System.ComponentModel;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace Provisioner.Lab.Tests.Support;

/// <summary>
/// Sockets that live in a lab namespace while the test process stays in the root one. A socket belongs to the network
/// namespace of the thread that created it, for its whole life, whichever thread uses it later. So one dedicated
/// thread joins the namespace (<c>setns(fd, CLONE_NEWNET)</c>, fd from <c>/var/run/netns/NAME</c> as <c>ip netns</c>
/// names it), creates the sockets, switches back and ends. This lets a test send hundreds of thousands of datagrams
/// from inside a namespace without a generator process (no python on CI, and a shell loop is far too slow).
/// </summary>
public static class NetnsSocket
{
    private const int CloneNewNet = 0x40000000;
    private const int OpenReadOnlyCloseOnExec = 0x80000; // O_RDONLY | O_CLOEXEC
    private const int SolSocket = 1;
    private const int SoBindToDevice = 25;

    /// <summary>Runs <paramref name="create"/> on a thread inside namespace <paramref name="ns"/> and returns what it made.</summary>
    public static T InNamespace<T>(string ns, Func<T> create)
    {
        ArgumentException.ThrowIfNullOrEmpty(ns);
        ArgumentNullException.ThrowIfNull(create);
        if (ns.Contains('/', StringComparison.Ordinal) || ns.StartsWith('.'))
        {
            throw new ArgumentException($"'{ns}' is not a namespace name", nameof(ns));
        }

        T? result = default;
        Exception? error = null;
        var thread = new Thread(() =>
        {
            try
            {
                result = Switched(ns, create);
            }
#pragma warning disable CA1031 // rethrown on the caller's thread below
            catch (Exception e)
#pragma warning restore CA1031
            {
                error = e;
            }
        })
        {
            IsBackground = true,
            Name = $"netns {ns}",
        };
        thread.Start();
        if (!thread.Join(TimeSpan.FromSeconds(30)))
        {
            throw new TimeoutException($"creating sockets in namespace {ns} took more than 30 s");
        }

        return error is null ? result! : throw new InvalidOperationException($"in namespace {ns}: {error.Message}", error);
    }

    /// <summary>A UDP socket in <paramref name="ns"/> bound to <paramref name="bind"/> (an address of that namespace).</summary>
    /// <param name="device">SO_BINDTODEVICE, e.g. <c>eth0</c> for limited broadcasts out of one interface.</param>
    public static Socket CreateUdp(string ns, IPEndPoint bind, bool broadcast = false, string? device = null, int sendBufferBytes = 0)
    {
        ArgumentNullException.ThrowIfNull(bind);
        return InNamespace(ns, () =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            try
            {
                socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
                if (broadcast)
                {
                    socket.EnableBroadcast = true;
                }

                if (device is not null)
                {
                    socket.SetRawSocketOption(SolSocket, SoBindToDevice, Encoding.ASCII.GetBytes(device + "\0"));
                }

                if (sendBufferBytes > 0)
                {
                    socket.SendBufferSize = sendBufferBytes;
                }

                socket.Bind(bind);
                return socket;
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        });
    }

    private static T Switched<T>(string ns, Func<T> create)
    {
        var original = Open("/proc/thread-self/ns/net");
        try
        {
            var target = Open($"/var/run/netns/{ns}");
            try
            {
                Join(target, ns);
            }
            finally
            {
                _ = close(target);
            }

            try
            {
                return create();
            }
            finally
            {
                // Not strictly needed (this thread ends next), but it keeps the runtime's thread in the namespace it
                // came from should the runtime ever reuse it.
                Join(original, "the original namespace");
            }
        }
        finally
        {
            _ = close(original);
        }
    }

    private static int Open(string path)
    {
        var fd = open(path, OpenReadOnlyCloseOnExec);
        return fd >= 0 ? fd : throw new Win32Exception(Marshal.GetLastPInvokeError(), $"open {path}");
    }

    private static void Join(int fd, string what)
    {
        if (setns(fd, CloneNewNet) != 0)
        {
            throw new Win32Exception(Marshal.GetLastPInvokeError(), $"setns into {what}");
        }
    }

    [DllImport("libc", SetLastError = true, CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
    private static extern int open(string path, int flags);

    [DllImport("libc", SetLastError = true)]
    private static extern int close(int fd);

    [DllImport("libc", SetLastError = true)]
    private static extern int setns(int fd, int nstype);
}
