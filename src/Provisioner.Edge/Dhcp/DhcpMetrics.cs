using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Provisioner.Edge.Dhcp;

/// <summary>
/// The DHCP instruments on <see cref="EdgeMetrics.Meter"/> (<c>provisioner.dhcp.*</c>), created once per process; each
/// running server registers its <see cref="DhcpServerCounters"/> and is reported with a <c>listener</c> tag. Every
/// packet shed or refused shows up here: nothing a peer does to the DHCP port is silent.
/// </summary>
internal static class DhcpMetrics
{
    private static readonly ConcurrentDictionary<DhcpServer, string> Servers = new();
    private static int _created;

    public static void Register(DhcpServer server, string listener)
    {
        if (Interlocked.Exchange(ref _created, 1) == 0)
        {
            Create(EdgeMetrics.Meter);
        }

        Servers[server] = listener;
    }

    public static void Unregister(DhcpServer server) => Servers.TryRemove(server, out _);

    private static void Create(Meter meter)
    {
        Counter(meter, "provisioner.dhcp.datagrams.received", "{datagram}", "Datagrams read on the DHCP port", c => c.Received);
        Counter(meter, "provisioner.dhcp.datagrams.malformed", "{datagram}", "Datagrams that did not parse as DHCP/BOOTP, dropped", c => c.Malformed);
        meter.CreateObservableCounter(
            "provisioner.dhcp.requests.shed",
            () => Each(s =>
            [
                (s.Counters.RateLimited, "cause", "per-mac-rate"),
                (s.Counters.ShedFull, "cause", "backlog-full"),
                (s.Counters.ShedStale, "cause", "waited-too-long"),
            ]),
            "{request}",
            "Requests dropped before any work was done on them, by cause (the client retransmits)");
        Counter(meter, "provisioner.dhcp.requests.replied", "{request}", "Requests answered (OFFER, ACK, NAK)", c => c.Replied);
        Counter(meter, "provisioner.dhcp.requests.silent", "{request}", "Requests handled without a reply (another server's, RELEASE, DECLINE, no address, policy)", c => c.Silent);
        Counter(meter, "provisioner.dhcp.requests.replayed", "{request}", "Retransmitted DISCOVERs and REQUESTs answered with the reply their exchange already got (no actor asked)", c => c.Replayed);
        Counter(meter, "provisioner.dhcp.proxy.new_machines.refused", "{request}", "proxyDHCP: DISCOVERs of never-journaled machines dropped over dhcp.proxy-new-machines-per-second (the firmware retransmits)", c => c.ProxyNewRefused);
        Counter(meter, "provisioner.dhcp.requests.failed", "{request}", "Requests whose handling threw (an actor did not answer in time, a send failed)", c => c.Failed);
        meter.CreateObservableGauge(
            "provisioner.dhcp.backlog",
            () => Each(s => [((long)s.Backlog, (string?)null, (string?)null)]),
            "{request}",
            "Requests waiting for a handler");
    }

    private static void Counter(Meter meter, string name, string unit, string description, Func<DhcpServerCounters, long> read) =>
        meter.CreateObservableCounter(name, () => Each(s => [(read(s.Counters), (string?)null, (string?)null)]), unit, description);

    private static List<Measurement<long>> Each(Func<DhcpServer, IEnumerable<(long Value, string? Key, string? Tag)>> read) =>
        EdgeMetrics.PerListener(Servers, read);
}
