using System.Net.Sockets;

namespace Provisioner.Edge.Tftp;

/// <summary>
/// Linux UDP generic segmentation offload (UDP_SEGMENT, kernel 4.18+): with the option set to a segment
/// size, one send of N × size bytes leaves as N datagrams of that size (the last may be shorter). A TFTP
/// window of full DATA packets is exactly that shape, so a whole window costs one system call instead of
/// one per block; that per-block cost is what held windowed transfers below atftpd. Where the option or a
/// segmented send is refused (another OS, an old kernel, a device without checksum offload gives EIO) the
/// caller falls back to one send per block and stops trying for the rest of the process.
/// </summary>
internal static class UdpSegmentation
{
    private const int SolUdp = 17;
    private const int UdpSegment = 103;

    /// <summary>The kernel's UDP_MAX_SEGMENTS.</summary>
    private const int MaxSegments = 64;

    /// <summary>Largest UDP payload of one IPv4 send (65535 − 20 − 8), which bounds a segmented send too.</summary>
    private const int MaxPayload = 65507;

    private static volatile bool s_unsupported = !OperatingSystem.IsLinux();

    /// <summary>False once the kernel has refused segmentation in this process.</summary>
    public static bool Available => !s_unsupported;

    /// <summary>How many segments of <paramref name="segmentSize"/> bytes one send may carry.</summary>
    public static int SegmentsPerSend(int segmentSize) => Math.Clamp(MaxPayload / segmentSize, 1, MaxSegments);

    /// <summary>Sets the segment size for every later send on <paramref name="socket"/> (0 turns it off); false when refused.</summary>
    public static bool TrySet(Socket socket, int segmentSize)
    {
        if (s_unsupported)
        {
            return false;
        }

        try
        {
            socket.SetRawSocketOption(SolUdp, UdpSegment, BitConverter.GetBytes(segmentSize));
            return true;
        }
        catch (SocketException)
        {
            MarkUnsupported();
            return false;
        }
    }

    /// <summary>A segmented send on <paramref name="socket"/> failed: turn the option off there and stop using it in this process.</summary>
    public static void Refused(Socket socket)
    {
        try
        {
            socket.SetRawSocketOption(SolUdp, UdpSegment, BitConverter.GetBytes(0));
        }
        catch (SocketException)
        {
            // nothing more to undo
        }

        MarkUnsupported();
    }

    private static void MarkUnsupported() => s_unsupported = true;
}
