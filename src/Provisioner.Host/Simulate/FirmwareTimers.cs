namespace Provisioner.Host.Simulate;

/// <summary>
/// When a packet is sent again: after each send the sender waits <see cref="Waits"/>[i] for an answer, sends again,
/// and gives up once the last wait has passed without one. Every wait is bounded, so every exchange ends.
/// </summary>
public sealed record RetransmitSchedule(string Name, IReadOnlyList<TimeSpan> Waits)
{
    /// <summary>How many times the packet is sent at most.</summary>
    public int Sends => Waits.Count;

    /// <summary>How long the sender tries before it gives up.</summary>
    public TimeSpan GiveUpAfter => Waits.Aggregate(TimeSpan.Zero, (sum, wait) => sum + wait);

    public override string ToString() =>
        $"{Name}: {string.Join(", ", Waits.Select(w => w.TotalSeconds.ToString("0.##", System.Globalization.CultureInfo.InvariantCulture)))} s";
}

/// <summary>
/// The retransmission timers of real firmware, which is what a boot storm puts on an edge.
/// <list type="bullet">
/// <item>PXE ROM DHCP (PXE 2.1 spec, as iPXE's config/dhcp.h quotes it): DISCOVER sent 4 times with timeouts of
/// 4, 8, 16 and 32 s; REQUEST 4 times at 1, 2, 3 and 4 s. The simulator does not wait for ProxyDHCP offers after an
/// OFFER (the edge's OFFER is complete, and it tells iPXE so with 175.176).</item>
/// <item>iPXE DHCP (its defaults in config/dhcp.h and retry.c): DISCOVER at 1, 2, 4, 8 s (the timer doubles from
/// DHCP_DISC_START_TIMEOUT_SEC 1 and fails past DHCP_DISC_END_TIMEOUT_SEC 10); REQUEST from the retry timer's
/// 0.25 s minimum doubling to 8 s.</item>
/// <item>TFTP (iPXE's tftp.c on the default retry timer, DEFAULT_MIN_TIMEOUT 1/4 s to DEFAULT_MAX_TIMEOUT 10 s): the
/// RRQ, and then the last ACK, sent again after 0.25, 0.5, 1, 2, 4, 8 s without a packet; the timer starts over at
/// 0.25 s with every block that arrives.</item>
/// </list>
/// </summary>
public static class FirmwareTimers
{
    public static RetransmitSchedule PxeDiscover { get; } = Seconds("PXE DISCOVER", 4, 8, 16, 32);

    public static RetransmitSchedule PxeRequest { get; } = Seconds("PXE REQUEST", 1, 2, 3, 4);

    public static RetransmitSchedule IpxeDiscover { get; } = Seconds("iPXE DISCOVER", 1, 2, 4, 8);

    public static RetransmitSchedule IpxeRequest { get; } = Seconds("iPXE REQUEST", 0.25, 0.5, 1, 2, 4, 8);

    public static RetransmitSchedule Tftp { get; } = Seconds("TFTP RRQ/ACK", 0.25, 0.5, 1, 2, 4, 8);

    public static IReadOnlyList<RetransmitSchedule> All { get; } = [PxeDiscover, PxeRequest, IpxeDiscover, IpxeRequest, Tftp];

    private static RetransmitSchedule Seconds(string name, params double[] waits) =>
        new(name, [.. waits.Select(TimeSpan.FromSeconds)]);
}
