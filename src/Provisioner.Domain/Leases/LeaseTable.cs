using System.Globalization;
using Provisioner.Protocols.Dhcp;
using static Provisioner.Domain.Leases.LeaseCommands;
using static Provisioner.Domain.Leases.LeaseEvents;

namespace Provisioner.Domain.Leases;

/// <summary>
/// Address allocation for one subnet. <see cref="Decide"/> holds the rules and never mutates; <see cref="Apply"/>
/// folds a fact into the table in place, is total and deterministic and never reads a clock (expiry is judged against each command's time).
/// Rules, in order of precedence:
/// <list type="number">
/// <item>No two MACs ever hold the same unexpired address (nor is an address offered to two MACs at once).</item>
/// <item>A reserved address is only ever given to its MAC; that MAC gets it whenever it is free.</item>
/// <item>A MAC keeps its address across renewals, releases and restarts while nobody else took it.</item>
/// <item>Otherwise the client's requested address (option 50) when free, then a never-used pool address,
/// then the address whose lease expired longest ago.</item>
/// </list>
/// A renewal that keeps the address and would extend expiry by less than half a lease time decides to no events,
/// so a retransmitted REQUEST persists nothing. Tentative offers are not facts and not in the state: Decide reads them
/// from the subnet's <see cref="OfferBook"/> and the caller holds <see cref="LeaseDecision.Offer"/> there.
/// </summary>
public static class LeaseTable
{
    public static LeaseDecision Decide(LeaseTableState state, IOfferView offers, SubnetDefinition subnet, LeaseCommand command, LeasePolicy policy)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(offers);
        ArgumentNullException.ThrowIfNull(subnet);
        ArgumentNullException.ThrowIfNull(command);
        ArgumentNullException.ThrowIfNull(policy);

        var table = new View(state, offers);
        return command switch
        {
            Offer c => DecideOffer(table, subnet, c, policy),
            Request c => DecideRequest(table, subnet, c.Mac, c.Address, c.At, renewing: false),
            Renew c => DecideRequest(table, subnet, c.Mac, c.Address, c.At, renewing: true),
            Release c => DecideRelease(state, c),
            Decline c => DecideDecline(table, c, policy),
            _ => Noted($"unknown command {command.GetType().Name}"),
        };
    }

    /// <summary>The facts and the offers a decision reads, side by side.</summary>
    private readonly record struct View(LeaseTableState State, IOfferView Offers);

    private static LeaseDecision Noted(string? reason = null) => new(LeaseOutcome.Noted, null, null, [], reason);

    private static LeaseDecision Nak(string reason) => new(LeaseOutcome.Nakked, null, null, [], reason);

    private static LeaseDecision DecideOffer(View table, SubnetDefinition subnet, Offer c, LeasePolicy policy)
    {
        var (state, offers) = table;
        var now = c.At;
        IPv4Address? chosen = null;
        if (subnet.ReservationFor(c.Mac) is { } reservation && IsAvailable(table, subnet, reservation.Address, c.Mac, now))
        {
            chosen = reservation.Address;
        }
        else if (offers.TryGetByMac(c.Mac, out var held) && held.Until > now && IsAvailable(table, subnet, IPv4Address.Parse(held.Address), c.Mac, now))
        {
            chosen = IPv4Address.Parse(held.Address);
        }
        else if (state.MacMap.TryGetValue(c.Mac, out var previous) && IsAvailable(table, subnet, previous, c.Mac, now))
        {
            chosen = previous;
        }
        else if (IPv4Address.TryParse(c.Requested, out var requested) && IsAvailable(table, subnet, requested, c.Mac, now))
        {
            chosen = requested;
        }
        else
        {
            chosen = FirstNeverUsed(table, subnet, c.Mac, now) ?? LongestExpired(table, subnet, c.Mac, now);
        }

        if (chosen is not { } address)
        {
            return new LeaseDecision(LeaseOutcome.NoAddress, null, null, [], $"no free address in {subnet.Id} ({subnet.PoolStart}-{subnet.PoolEnd})");
        }

        var text = address.ToString();
        return new LeaseDecision(LeaseOutcome.Offered, text, now + subnet.LeaseTime, [], Offer: new TentativeOffer(c.Mac, text, now + policy.OfferHold, now));
    }

    private static LeaseDecision DecideRequest(View table, SubnetDefinition subnet, string mac, string addressText, DateTimeOffset now, bool renewing)
    {
        var state = table.State;
        if (!IPv4Address.TryParse(addressText, out var address))
        {
            return Nak($"'{addressText}' is not an IPv4 address");
        }

        if (!subnet.Contains(address))
        {
            return Nak($"{address} is not on subnet {subnet.Id} ({subnet.Cidr})");
        }

        if (renewing && !(state.MacMap.TryGetValue(mac, out var current) && current == address && state.BindingMap.TryGetValue(address, out var own) && own.Mac == mac))
        {
            return Nak($"{mac} holds no lease on {address}");
        }

        // The reserved address wins over whatever the client asks for, as long as it can have it.
        if (subnet.ReservationFor(mac) is { } reservation && reservation.Address != address
            && IsAvailable(table, subnet, reservation.Address, mac, now))
        {
            return Nak($"{mac} has reserved address {reservation.Address}");
        }

        if (WhyUnavailable(table, subnet, address, mac, now) is { } why)
        {
            return Nak(why);
        }

        var expiresAt = now + subnet.LeaseTime;
        if (state.BindingMap.TryGetValue(address, out var binding) && binding.Mac == mac && binding.ExpiresAt > now
            && state.MacMap.TryGetValue(mac, out var bound) && bound == address
            && expiresAt - binding.ExpiresAt < subnet.LeaseTime / 2)
        {
            // A retransmission or an early renewal: the lease stands as it is, nothing to persist.
            return new LeaseDecision(LeaseOutcome.Acked, address.ToString(), binding.ExpiresAt, []);
        }

        var text = address.ToString();
        return new LeaseDecision(LeaseOutcome.Acked, text, expiresAt, [new LeaseGranted(now, mac, text, expiresAt)]);
    }

    private static LeaseDecision DecideRelease(LeaseTableState state, Release c)
    {
        if (IPv4Address.TryParse(c.Address, out var address) && state.HolderOf(address, c.At) == c.Mac)
        {
            return new LeaseDecision(LeaseOutcome.Noted, address.ToString(), null, [new LeaseReleased(c.At, c.Mac, address.ToString())]);
        }

        return Noted($"{c.Mac} holds no lease on {c.Address}");
    }

    private static LeaseDecision DecideDecline(View table, Decline c, LeasePolicy policy)
    {
        var state = table.State;
        if (!IPv4Address.TryParse(c.Address, out var address))
        {
            return Noted($"'{c.Address}' is not an IPv4 address");
        }

        // Only the MAC that was given the address may take it out of service, so one client cannot drain the pool.
        var offered = table.Offers.TryGetByAddress(address, out var offer) && offer.Mac == c.Mac;
        var held = state.BindingMap.TryGetValue(address, out var binding) && binding.Mac == c.Mac && binding.ExpiresAt > c.At;
        if (!offered && !held)
        {
            return Noted($"{c.Mac} was not given {address}");
        }

        var text = address.ToString();
        return new LeaseDecision(LeaseOutcome.Noted, text, null, [new AddressDeclined(c.At, c.Mac, text, c.At + policy.DeclineQuarantine)]);
    }

    private enum Unavailable
    {
        No = 0,
        NotAHost,
        ReservedForAnother,
        OutsidePool,
        Leased,
        Offered,
        Quarantined,
    }

    private static bool IsAvailable(View table, SubnetDefinition subnet, IPv4Address address, string mac, DateTimeOffset now) =>
        Check(table, subnet, address, mac, now) == Unavailable.No;

    /// <summary>Null when <paramref name="mac"/> may hold <paramref name="address"/> at <paramref name="now"/>; else the reason.</summary>
    private static string? WhyUnavailable(View table, SubnetDefinition subnet, IPv4Address address, string mac, DateTimeOffset now) =>
        Check(table, subnet, address, mac, now) switch
        {
            Unavailable.No => null,
            Unavailable.NotAHost => $"{address} is not a host address for clients on {subnet.Cidr}",
            Unavailable.ReservedForAnother => $"{address} is reserved for another machine",
            Unavailable.OutsidePool => $"{address} is outside the pool {subnet.PoolStart}-{subnet.PoolEnd}",
            Unavailable.Leased => $"{address} is leased to another machine",
            Unavailable.Offered => $"{address} is offered to another machine",
            _ => string.Create(CultureInfo.InvariantCulture, $"{address} was declined and is quarantined until {table.State.QuarantineMap[address]:O}"),
        };

    /// <summary>Allocation-free: this runs for every candidate address an offer looks at.</summary>
    private static Unavailable Check(View table, SubnetDefinition subnet, IPv4Address address, string mac, DateTimeOffset now)
    {
        var state = table.State;
        if (!subnet.Contains(address) || address == subnet.Network || address == subnet.Broadcast || address == subnet.Router)
        {
            return Unavailable.NotAHost;
        }

        var reservation = subnet.Reservations.Count == 0 ? null : subnet.ReservationOf(address);
        if (reservation is not null && reservation.Mac != mac)
        {
            return Unavailable.ReservedForAnother;
        }

        if (reservation is null && !subnet.InPool(address))
        {
            return Unavailable.OutsidePool;
        }

        if (state.BindingMap.TryGetValue(address, out var binding) && binding.ExpiresAt > now && binding.Mac != mac)
        {
            return Unavailable.Leased;
        }

        if (table.Offers.TryGetByAddress(address, out var offer) && offer.Mac != mac && offer.Until > now)
        {
            return Unavailable.Offered;
        }

        if (state.QuarantineMap.TryGetValue(address, out var until) && until > now)
        {
            return Unavailable.Quarantined;
        }

        return Unavailable.No;
    }

    /// <summary>
    /// A pool address never leased and free, searched from <see cref="IOfferView.FreshHint"/> and wrapping round.
    /// Runs of leased addresses are jumped 64 and 4,096 at a time (<see cref="LeaseTableState.NextNeverBound"/>), so the
    /// cost barely grows with the number of leases.
    /// </summary>
    private static IPv4Address? FirstNeverUsed(View table, SubnetDefinition subnet, string mac, DateTimeOffset now)
    {
        var first = subnet.PoolStart.Value;
        var last = subnet.PoolEnd.Value;
        var fresh = table.Offers.FreshHint;
        var hint = fresh >= first && fresh <= last ? fresh : first;
        return Scan(hint, last) ?? (hint > first ? Scan(first, hint - 1) : null);

        IPv4Address? Scan(uint from, uint to)
        {
            var value = from;
            while (value <= to)
            {
                var gap = table.State.NextNeverBound(value);
                if (gap is not { } candidate || candidate > to)
                {
                    return null;
                }

                var address = new IPv4Address(candidate);
                if (IsAvailable(table, subnet, address, mac, now))
                {
                    return address;
                }

                if (candidate == uint.MaxValue)
                {
                    return null;
                }

                value = candidate + 1;
            }

            return null;
        }
    }

    /// <summary>The pool address whose lease expired longest ago and is free, from the expiry index (oldest first).</summary>
    private static IPv4Address? LongestExpired(View table, SubnetDefinition subnet, string mac, DateTimeOffset now)
    {
        foreach (var (expiresAt, address) in table.State.ExpirySet)
        {
            if (expiresAt > now)
            {
                return null;
            }

            if (subnet.InPool(address) && IsAvailable(table, subnet, address, mac, now))
            {
                return address;
            }
        }

        return null;
    }

    /// <summary>Folds <paramref name="event"/> into <paramref name="state"/>, in place, and returns it.</summary>
    public static LeaseTableState Apply(LeaseTableState state, ILeaseEvent @event)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(@event);

        var bindings = state.BindingMap;
        var byMac = state.MacMap;
        switch (@event)
        {
            case LeaseGranted e when IPv4Address.TryParse(e.Address, out var address):
            {
                if (byMac.TryGetValue(e.Mac, out var old) && old != address && bindings.TryGetValue(old, out var oldBinding) && oldBinding.Mac == e.Mac)
                {
                    // Moving to a new address ends the old lease now.
                    state.SetBinding(old, oldBinding with { ExpiresAt = Min(oldBinding.ExpiresAt, e.At) });
                }

                if (bindings.TryGetValue(address, out var previous) && previous.Mac != e.Mac
                    && byMac.TryGetValue(previous.Mac, out var theirs) && theirs == address)
                {
                    // The previous (expired) holder loses its affinity to this address.
                    byMac.Remove(previous.Mac);
                }

                state.SetBinding(address, new LeaseBinding(e.Mac, e.ExpiresAt));
                byMac[e.Mac] = address;
                return state;
            }

            case LeaseReleased e when IPv4Address.TryParse(e.Address, out var address)
                && bindings.TryGetValue(address, out var binding) && binding.Mac == e.Mac:
                state.SetBinding(address, binding with { ExpiresAt = Min(binding.ExpiresAt, e.At) });
                return state;

            case AddressDeclined e when IPv4Address.TryParse(e.Address, out var address):
            {
                if (bindings.TryGetValue(address, out var binding) && binding.Mac == e.Mac)
                {
                    state.SetBinding(address, binding with { ExpiresAt = Min(binding.ExpiresAt, e.At) });
                }

                if (byMac.TryGetValue(e.Mac, out var current) && current == address)
                {
                    byMac.Remove(e.Mac);
                }

                state.QuarantineMap[address] = e.QuarantinedUntil;
                return state;
            }

            case FirstBootGranted e:
                // Written with its LeaseGranted, after it: the lease itself is that event's business.
                state.PendingMap[e.Mac] = e;
                return state;

            case FirstBootLeaseGranted e:
                return Apply(Apply(state, e.Lease), e.Boot);

            default:
                // Total: an event this version cannot use changes nothing.
                return state;
        }
    }

    public static LeaseTableState Replay(string subnetId, IEnumerable<ILeaseEvent> events) =>
        events.Aggregate(LeaseTableState.Empty(subnetId), Apply);

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;
}
