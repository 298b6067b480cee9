using System.Net;
using Provisioner.Protocols.Tftp;

namespace Provisioner.Edge.Tftp;

/// <summary>
/// The transfers running now: how many in all and per client address (what <see cref="TftpAdmission"/>
/// decides on), and which request each client port is being served (to drop a retransmitted RRQ). Every
/// entry belongs to a running transfer and is removed when it ends, so the table is bounded by
/// <see cref="TftpServerOptions.MaxTransfers"/>. Thread-safe; socket-free.
/// </summary>
public sealed class TftpTransferTable
{
    private readonly Lock _gate = new();
    private readonly Dictionary<long, (IPEndPoint Client, TftpRequest Request)> _byId = [];
    private readonly Dictionary<IPEndPoint, long> _latestByEndPoint = [];
    private readonly Dictionary<IPAddress, int> _perAddress = [];
    private long _nextId;

    /// <summary>
    /// The request each client port was last served in full, until when (Environment.TickCount64): a copy of it that was
    /// still queued behind the transfer (a fast transfer on loopback ends before the listener reads the client's
    /// retransmitted RRQ) is a retransmission, not a new transfer whose DATA nobody would ever ACK. Bounded.
    /// </summary>
    private readonly Dictionary<IPEndPoint, (TftpRequest Request, long Until)> _servedByEndPoint = [];

    /// <summary>Bound on <see cref="_servedByEndPoint"/> (a flood of short transfers from many ports must not grow it).</summary>
    private const int MaxServed = 4096;

    /// <summary>Transfers running.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _byId.Count;
            }
        }
    }

    /// <summary>Distinct client addresses with a transfer running (never more than <see cref="Count"/>).</summary>
    public int Addresses
    {
        get
        {
            lock (_gate)
            {
                return _perAddress.Count;
            }
        }
    }

    /// <summary>Transfers running for <paramref name="address"/>.</summary>
    public int CountFor(IPAddress address)
    {
        lock (_gate)
        {
            return _perAddress.GetValueOrDefault(address);
        }
    }

    /// <summary>
    /// True when the latest transfer started for <paramref name="client"/> (address and port) is running and
    /// was started by this same request: a retransmission.
    /// </summary>
    public bool IsRetransmission(IPEndPoint client, TftpRequest request)
    {
        lock (_gate)
        {
            if (_latestByEndPoint.TryGetValue(client, out var id))
            {
                return _byId[id].Request == request;
            }

            return _servedByEndPoint.TryGetValue(client, out var served) && served.Until > Environment.TickCount64 && served.Request == request;
        }
    }

    /// <summary>
    /// Decides for <paramref name="request"/> with the current counts (<see cref="TftpAdmission.Decide"/>) and,
    /// when admitted, takes its slot at once (the decision and the count cannot be raced). Returns the
    /// decision; <paramref name="id"/> is the slot to <see cref="Release"/>, or 0.
    /// </summary>
    public TftpAdmissionDecision TryAdmit(IPEndPoint client, TftpRequest request, int maxTransfers, int maxTransfersPerClient, out long id)
    {
        ArgumentNullException.ThrowIfNull(client);
        lock (_gate)
        {
            var decision = TftpAdmission.Decide(request, _byId.Count, _perAddress.GetValueOrDefault(client.Address), maxTransfers, maxTransfersPerClient);
            if (decision.Outcome != TftpAdmissionOutcome.Admit)
            {
                id = 0;
                return decision;
            }

            id = ++_nextId;
            _byId.Add(id, (client, request));
            _latestByEndPoint[client] = id;
            _perAddress[client.Address] = _perAddress.GetValueOrDefault(client.Address) + 1;
            return decision;
        }
    }

    /// <summary>
    /// Frees the slot <paramref name="id"/> (from <see cref="TryAdmit"/>); a second call does nothing. With
    /// <paramref name="servedUntil"/> (Environment.TickCount64, 0 = not served in full) the same request from the same
    /// port is still taken for a retransmission until then.
    /// </summary>
    public void Release(long id, long servedUntil = 0)
    {
        lock (_gate)
        {
            if (!_byId.Remove(id, out var entry))
            {
                return;
            }

            if (servedUntil > 0)
            {
                if (_servedByEndPoint.Count >= MaxServed)
                {
                    var now = Environment.TickCount64;
                    foreach (var stale in _servedByEndPoint.Where(kv => kv.Value.Until <= now).Select(kv => kv.Key).ToList())
                    {
                        _servedByEndPoint.Remove(stale);
                    }
                }

                if (_servedByEndPoint.Count < MaxServed)
                {
                    _servedByEndPoint[entry.Client] = (entry.Request, servedUntil);
                }
            }
            else
            {
                _servedByEndPoint.Remove(entry.Client);
            }

            if (_latestByEndPoint.TryGetValue(entry.Client, out var latest) && latest == id)
            {
                _latestByEndPoint.Remove(entry.Client);
            }

            var left = _perAddress[entry.Client.Address] - 1;
            if (left == 0)
            {
                _perAddress.Remove(entry.Client.Address);
            }
            else
            {
                _perAddress[entry.Client.Address] = left;
            }
        }
    }
}
