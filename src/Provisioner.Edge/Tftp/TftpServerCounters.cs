using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Provisioner.Edge.Tftp;

/// <summary>Why a request was answered with an ERROR instead of a transfer.</summary>
public enum TftpRefusalCause
{
    /// <summary>A WRQ: the server is read-only (ERROR 2).</summary>
    WriteRequest,

    /// <summary>A mode other than octet and netascii (ERROR 4).</summary>
    UnknownMode,

    /// <summary>A name the resolver refuses: traversal, absolute, control characters, a directory, outside the root (ERROR 2).</summary>
    AccessViolation,

    /// <summary>No such file under the root (ERROR 1).</summary>
    FileNotFound,

    /// <summary>The file exists but could not be opened (ERROR 2).</summary>
    Unreadable,
}

/// <summary>Why a running transfer ended without the last block acknowledged.</summary>
public enum TftpFailureCause
{
    /// <summary>The client stopped acknowledging and the retries ran out.</summary>
    TimedOut,

    /// <summary>ICMP port unreachable: the client went away.</summary>
    Unreachable,

    /// <summary>The client sent an ERROR mid-transfer.</summary>
    ClientError,

    /// <summary>Another socket error.</summary>
    SocketError,

    /// <summary>The file could not be read, or changed under the transfer.</summary>
    ReadError,

    /// <summary>The server stopped.</summary>
    Stopping,
}

/// <summary>
/// What the TFTP server did with every datagram on its port and every transfer, as monotonic counts (read with
/// <see cref="Interlocked"/>; tests read them, and <see cref="EdgeMetrics.Meter"/> publishes them as
/// <c>provisioner.tftp.*</c>). They add up: <see cref="Received"/> = <see cref="Malformed"/> + <see cref="Ignored"/>
/// + <see cref="Retransmissions"/> + <see cref="Refused"/> + <see cref="ShedGlobal"/> + <see cref="ShedPerClient"/>
/// + <see cref="SocketFailed"/> + <see cref="Unexpected"/> + <see cref="Started"/>, and <see cref="Started"/> = <see cref="Completed"/> +
/// <see cref="Failed"/> + <see cref="Probes"/> + the transfers still running.
/// </summary>
public sealed class TftpServerCounters
{
    private static readonly TftpRefusalCause[] RefusalCauses = Enum.GetValues<TftpRefusalCause>();
    private static readonly TftpFailureCause[] FailureCauses = Enum.GetValues<TftpFailureCause>();

    private readonly long[] _refused = new long[RefusalCauses.Length];
    private readonly long[] _failed = new long[FailureCauses.Length];
    private long _received;
    private long _malformed;
    private long _ignored;
    private long _retransmissions;
    private long _shedGlobal;
    private long _shedPerClient;
    private long _refusalsRateLimited;
    private long _refusalsUntracked;
    private long _errorSendFailed;
    private long _socketFailed;
    private long _unexpected;
    private long _started;
    private long _completed;
    private long _probes;

    /// <summary>Datagrams read from the listening socket.</summary>
    public long Received => Interlocked.Read(ref _received);

    /// <summary>Datagrams that did not parse as TFTP (RFC 1350 section 5), dropped.</summary>
    public long Malformed => Interlocked.Read(ref _malformed);

    /// <summary>Well-formed DATA, ACK, ERROR or OACK on the listening port: no transfer owns them, dropped silently.</summary>
    public long Ignored => Interlocked.Read(ref _ignored);

    /// <summary>The same RRQ again from the same port while its transfer runs (the transfer retransmits on its own), dropped.</summary>
    public long Retransmissions => Interlocked.Read(ref _retransmissions);

    /// <summary>Requests refused, all causes (whether or not the ERROR could be sent).</summary>
    public long Refused => RefusalCauses.Sum(c => RefusedBy(c));

    /// <summary>RRQs dropped unanswered because <see cref="TftpServerOptions.MaxTransfers"/> transfers were running.</summary>
    public long ShedGlobal => Interlocked.Read(ref _shedGlobal);

    /// <summary>RRQs dropped unanswered because the client's address had <see cref="TftpServerOptions.MaxTransfersPerClient"/> running.</summary>
    public long ShedPerClient => Interlocked.Read(ref _shedPerClient);

    /// <summary>Refusals whose ERROR was not sent: the client address had spent its refusal budget.</summary>
    public long RefusalsRateLimited => Interlocked.Read(ref _refusalsRateLimited);

    /// <summary>Refusals whose ERROR was not sent: the limiter's table of addresses was full.</summary>
    public long RefusalsUntracked => Interlocked.Read(ref _refusalsUntracked);

    /// <summary>Refusals whose ERROR send failed (the kernel refused it).</summary>
    public long ErrorSendFailed => Interlocked.Read(ref _errorSendFailed);

    /// <summary>Admitted RRQs dropped because the transfer socket could not be created (EMFILE, ENOBUFS …).</summary>
    public long SocketFailed => Interlocked.Read(ref _socketFailed);

    /// <summary>Requests whose handling threw (a bug): logged, the slot released, the receive loop goes on.</summary>
    public long Unexpected => Interlocked.Read(ref _unexpected);

    /// <summary>Transfers started (a socket opened for each).</summary>
    public long Started => Interlocked.Read(ref _started);

    /// <summary>Transfers whose last block was acknowledged.</summary>
    public long Completed => Interlocked.Read(ref _completed);

    /// <summary>Transfers that failed, all causes.</summary>
    public long Failed => FailureCauses.Sum(c => FailedBy(c));

    /// <summary>Transfers the client ended by answering the OACK with an ERROR (EDK2's tsize probe): neither completed nor failed.</summary>
    public long Probes => Interlocked.Read(ref _probes);

    /// <summary>Requests refused for <paramref name="cause"/>.</summary>
    public long RefusedBy(TftpRefusalCause cause) => Interlocked.Read(ref _refused[(int)cause]);

    /// <summary>Transfers failed for <paramref name="cause"/>.</summary>
    public long FailedBy(TftpFailureCause cause) => Interlocked.Read(ref _failed[(int)cause]);

    internal void CountReceived() => Interlocked.Increment(ref _received);

    internal void CountMalformed() => Interlocked.Increment(ref _malformed);

    internal void CountIgnored() => Interlocked.Increment(ref _ignored);

    internal void CountRetransmission() => Interlocked.Increment(ref _retransmissions);

    internal void CountRefused(TftpRefusalCause cause) => Interlocked.Increment(ref _refused[(int)cause]);

    internal void CountShed(TftpShedCause cause) =>
        Interlocked.Increment(ref cause == TftpShedCause.Global ? ref _shedGlobal : ref _shedPerClient);

    internal void CountRefusalDropped(TftpRefusalLimit limit) =>
        Interlocked.Increment(ref limit == TftpRefusalLimit.TableFull ? ref _refusalsUntracked : ref _refusalsRateLimited);

    internal void CountErrorSendFailed() => Interlocked.Increment(ref _errorSendFailed);

    internal void CountSocketFailed() => Interlocked.Increment(ref _socketFailed);

    internal void CountUnexpected() => Interlocked.Increment(ref _unexpected);

    internal void CountStarted() => Interlocked.Increment(ref _started);

    internal void CountCompleted() => Interlocked.Increment(ref _completed);

    internal void CountFailed(TftpFailureCause cause) => Interlocked.Increment(ref _failed[(int)cause]);

    internal void CountProbe() => Interlocked.Increment(ref _probes);

    internal static string Tag(TftpRefusalCause cause) => cause switch
    {
        TftpRefusalCause.WriteRequest => "write-request",
        TftpRefusalCause.UnknownMode => "unknown-mode",
        TftpRefusalCause.AccessViolation => "access-violation",
        TftpRefusalCause.FileNotFound => "file-not-found",
        _ => "unreadable",
    };

    internal static string Tag(TftpFailureCause cause) => cause switch
    {
        TftpFailureCause.TimedOut => "timed-out",
        TftpFailureCause.Unreachable => "unreachable",
        TftpFailureCause.ClientError => "client-error",
        TftpFailureCause.SocketError => "socket-error",
        TftpFailureCause.ReadError => "read-error",
        _ => "stopping",
    };

    internal static IEnumerable<TftpRefusalCause> AllRefusalCauses => RefusalCauses;

    internal static IEnumerable<TftpFailureCause> AllFailureCauses => FailureCauses;
}

/// <summary>
/// The TFTP instruments on <see cref="EdgeMetrics.Meter"/>, created once per process; each running server
/// registers its counters and is reported with a <c>listener</c> tag (its bound address and port).
/// </summary>
internal static class TftpMetrics
{
    private static readonly ConcurrentDictionary<TftpServer, string> Servers = new();
    private static int _created;

    public static void Register(TftpServer server, string listener)
    {
        if (Interlocked.Exchange(ref _created, 1) == 0)
        {
            Create(EdgeMetrics.Meter);
        }

        Servers[server] = listener;
    }

    public static void Unregister(TftpServer server) => Servers.TryRemove(server, out _);

    private static void Create(Meter meter)
    {
        Counter(meter, "provisioner.tftp.datagrams.received", "{datagram}", "Datagrams read on the TFTP port", c => c.Received);
        Counter(meter, "provisioner.tftp.datagrams.malformed", "{datagram}", "Datagrams that did not parse as TFTP, dropped", c => c.Malformed);
        Counter(meter, "provisioner.tftp.datagrams.ignored", "{datagram}", "DATA/ACK/ERROR/OACK on the TFTP port, dropped", c => c.Ignored);
        Counter(meter, "provisioner.tftp.requests.retransmitted", "{request}", "RRQs repeated while their transfer runs, dropped", c => c.Retransmissions);
        meter.CreateObservableCounter(
            "provisioner.tftp.requests.refused",
            () => Each(s => TftpServerCounters.AllRefusalCauses.Select(cause => (s.Counters.RefusedBy(cause), (string?)"cause", (string?)TftpServerCounters.Tag(cause)))),
            "{request}",
            "Requests answered with an ERROR instead of a transfer, by cause");
        meter.CreateObservableCounter(
            "provisioner.tftp.requests.shed",
            () => Each(s => [(s.Counters.ShedGlobal, "cause", "global-cap"), (s.Counters.ShedPerClient, "cause", "per-client-cap")]),
            "{request}",
            "RRQs dropped unanswered over a concurrency cap (the client retransmits)");
        meter.CreateObservableCounter(
            "provisioner.tftp.refusals.dropped",
            () => Each(s => [(s.Counters.RefusalsRateLimited, "cause", "rate-limit"), (s.Counters.RefusalsUntracked, "cause", "table-full"), (s.Counters.ErrorSendFailed, "cause", "send-failed")]),
            "{request}",
            "Refusals whose ERROR was not sent");
        Counter(meter, "provisioner.tftp.sockets.failed", "{request}", "Transfers dropped because their socket could not be created", c => c.SocketFailed);
        Counter(meter, "provisioner.tftp.requests.unexpected", "{request}", "Requests whose handling threw", c => c.Unexpected);
        Counter(meter, "provisioner.tftp.transfers.started", "{transfer}", "Transfers started", c => c.Started);
        Counter(meter, "provisioner.tftp.transfers.completed", "{transfer}", "Transfers whose last block was acknowledged", c => c.Completed);
        Counter(meter, "provisioner.tftp.transfers.probes", "{transfer}", "Transfers the client ended after the OACK (tsize probe)", c => c.Probes);
        meter.CreateObservableCounter(
            "provisioner.tftp.transfers.failed",
            () => Each(s => TftpServerCounters.AllFailureCauses.Select(cause => (s.Counters.FailedBy(cause), (string?)"cause", (string?)TftpServerCounters.Tag(cause)))),
            "{transfer}",
            "Transfers that ended without the last block acknowledged, by cause");
        meter.CreateObservableGauge(
            "provisioner.tftp.transfers.active",
            () => Each(s => [((long)s.ActiveTransfers, (string?)null, (string?)null)]),
            "{transfer}",
            "Transfers running now");
    }

    private static void Counter(Meter meter, string name, string unit, string description, Func<TftpServerCounters, long> read) =>
        meter.CreateObservableCounter(name, () => Each(s => [(read(s.Counters), (string?)null, (string?)null)]), unit, description);

    private static List<Measurement<long>> Each(Func<TftpServer, IEnumerable<(long Value, string? Key, string? Tag)>> read) =>
        EdgeMetrics.PerListener(Servers, read);
}
