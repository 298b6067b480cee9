namespace Provisioner.Host.Simulate;

/// <summary>
/// Packets of a run: DHCP requests sent and how many of them were retransmissions, replies no exchange waited for
/// (late answers, duplicates), and TFTP packets (RRQ or ACK) sent again after a timeout. A storm the edge keeps up
/// with has none of either; retransmissions are the first sign that it does not.
/// </summary>
public sealed record Retransmissions(long DhcpSent, long DhcpRetransmitted, long DhcpUnmatched, long TftpRetransmitted);

/// <summary>The counters behind <see cref="Retransmissions"/>, shared by every machine of a run.</summary>
public sealed class PacketCounters
{
    private long _dhcpSent;
    private long _dhcpRetransmitted;
    private long _dhcpUnmatched;
    private long _tftpRetransmitted;

    public void DhcpSent(bool retransmission)
    {
        Interlocked.Increment(ref _dhcpSent);
        if (retransmission)
        {
            Interlocked.Increment(ref _dhcpRetransmitted);
        }
    }

    public void DhcpUnmatched() => Interlocked.Increment(ref _dhcpUnmatched);

    public void TftpRetransmitted() => Interlocked.Increment(ref _tftpRetransmitted);

    public Retransmissions Snapshot() => new(
        Interlocked.Read(ref _dhcpSent), Interlocked.Read(ref _dhcpRetransmitted), Interlocked.Read(ref _dhcpUnmatched), Interlocked.Read(ref _tftpRetransmitted));
}
