using Provisioner.Protocols.Dhcp;
using static Provisioner.Domain.Leases.LeaseEvents;

namespace Provisioner.Domain.Leases;

/// <summary>What <see cref="LeaseTable.Decide"/> may read of a subnet's tentative offers.</summary>
public interface IOfferView
{
    /// <summary>Where the search for a never-used address starts (a hint, not a fact): just past the last address offered.</summary>
    uint FreshHint { get; }

    bool TryGetByMac(string mac, out TentativeOffer offer);

    bool TryGetByAddress(IPv4Address address, out TentativeOffer offer);
}

/// <summary>
/// One subnet's tentative offers, by MAC and by address. An OFFER commits nothing (RFC 2131 §4.3.1), so offers are not
/// facts: never persisted, never folded from events, lost on a restart by design. They live here, beside the pure
/// <see cref="LeaseTableState"/>, in plain mutable maps owned by the subnet's lease actor: a rollout makes and settles
/// thousands a second, and as immutable maps in the state they were a sixth of all the allocation of a new machine's
/// DORA. <see cref="LeaseTable.Decide"/> reads them through <see cref="IOfferView"/> only.
/// </summary>
public sealed class OfferBook : IOfferView
{
    /// <summary>Expired offers are swept when the book grows past this (doubling: amortised O(1) per offer).</summary>
    private const int MinimumSweep = 256;

    private readonly Dictionary<string, TentativeOffer> _byMac = new(StringComparer.Ordinal);
    private readonly Dictionary<IPv4Address, TentativeOffer> _byAddress = [];
    private int _sweepAbove = MinimumSweep;

    /// <summary>An empty book, for a <see cref="LeaseTable.Decide"/> that has no offers to consider.</summary>
    public static IOfferView None { get; } = new OfferBook();

    public uint FreshHint { get; private set; }

    /// <summary>Offers held (by MAC).</summary>
    public int Count => _byMac.Count;

    /// <summary>Addresses offered (never more than <see cref="Count"/>).</summary>
    public int AddressCount => _byAddress.Count;

    public bool TryGetByMac(string mac, out TentativeOffer offer) => _byMac.TryGetValue(mac, out offer!);

    public bool TryGetByAddress(IPv4Address address, out TentativeOffer offer) => _byAddress.TryGetValue(address, out offer!);

    /// <summary>Holds <paramref name="offer"/>, replacing its MAC's previous one; expired offers are swept now and then.</summary>
    public void Hold(TentativeOffer offer)
    {
        ArgumentNullException.ThrowIfNull(offer);
        var address = IPv4Address.Parse(offer.Address);
        Release(offer.Mac);
        if (_byMac.Count >= _sweepAbove)
        {
            // Offers are judged by their own times: whatever lapsed before this one was made is gone.
            List<string>? lapsed = null;
            foreach (var (mac, old) in _byMac)
            {
                if (old.Until <= offer.At)
                {
                    (lapsed ??= []).Add(mac);
                }
            }

            foreach (var mac in lapsed ?? [])
            {
                Release(mac);
            }

            _sweepAbove = Math.Max(MinimumSweep, 2 * _byMac.Count);
        }

        _byMac[offer.Mac] = offer;
        _byAddress[address] = offer;
        if (address.Value >= FreshHint)
        {
            FreshHint = address.Value + 1;
        }
    }

    /// <summary>What a fact just applied to the table does to the offers: a grant settles its MAC's offer, a decline of the offered address withdraws it.</summary>
    public void Settle(ILeaseEvent @event)
    {
        switch (@event)
        {
            case LeaseGranted e:
                Release(e.Mac);
                break;
            case FirstBootLeaseGranted e:
                Release(e.Mac);
                break;
            case AddressDeclined e when _byMac.TryGetValue(e.Mac, out var offer) && offer.Address == e.Address:
                Release(e.Mac);
                break;
        }
    }

    /// <summary>Drops <paramref name="mac"/>'s offer, if any (its address stays offered only if another MAC holds it now).</summary>
    public void Release(string mac)
    {
        if (!_byMac.Remove(mac, out var old))
        {
            return;
        }

        var address = IPv4Address.Parse(old.Address);
        if (_byAddress.TryGetValue(address, out var current) && current.Mac == mac)
        {
            _byAddress.Remove(address);
        }
    }
}
