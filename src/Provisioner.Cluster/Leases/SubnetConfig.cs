using System.Globalization;
using Akka.Configuration;
using Akka.Configuration.Hocon;
using Provisioner.Domain.Leases;
using Provisioner.Domain.Machines;
using Provisioner.Protocols.Dhcp;

namespace Provisioner.Cluster.Leases;

/// <summary>
/// Binds <c>provisioner.edge.dhcp.subnets</c>: a list of objects
/// <c>{ id, network = "10.0.0.0/24", pool-start, pool-end, router, dns = [..], domain, lease-time = 1h,
/// reservations = [ { mac, address, hostname } ] }</c>. Fails fast with a <see cref="ConfigurationException"/>
/// naming the full key (e.g. <c>provisioner.edge.dhcp.subnets.1.pool-end</c>).
/// </summary>
/// <remarks>Lives here rather than beside <see cref="SubnetDefinition"/> because the Domain project has no Akka reference.</remarks>
public static class SubnetConfig
{
    public const string SubnetsPath = "provisioner.edge.dhcp.subnets";

    public static readonly TimeSpan DefaultLeaseTime = TimeSpan.FromHours(1);

    /// <summary>Every subnet of the node's configuration (none when the key is absent), checked together: unique ids, no overlaps.</summary>
    public static IReadOnlyList<SubnetDefinition> ListFromConfig(Config root)
    {
        ArgumentNullException.ThrowIfNull(root);
        return ListFrom(root, SubnetsPath);
    }

    /// <summary>The subnets under <paramref name="path"/> of <paramref name="config"/>, errors named with <paramref name="keyPath"/>.</summary>
    /// <param name="poolRequired">False for a proxyDHCP edge, which leases nothing: see <see cref="FromConfig"/>.</param>
    public static IReadOnlyList<SubnetDefinition> ListFrom(Config config, string path, string? keyPath = null, bool poolRequired = true)
    {
        ArgumentNullException.ThrowIfNull(config);
        keyPath ??= path;
        if (!config.HasPath(path))
        {
            return [];
        }

        IList<HoconValue> items;
        try
        {
            items = config.GetValue(path).GetArray();
        }
        catch (Exception e) when (e is not ConfigurationException)
        {
            throw new ConfigurationException($"{keyPath}: expected a list of subnet objects");
        }

        var subnets = new List<SubnetDefinition>(items.Count);
        for (var i = 0; i < items.Count; i++)
        {
            var itemPath = string.Create(CultureInfo.InvariantCulture, $"{keyPath}.{i}");
            if (!items[i].IsObject())
            {
                throw new ConfigurationException($"{itemPath}: expected an object {{ id, network, pool-start, pool-end, … }}");
            }

            subnets.Add(FromConfig(new Config(new HoconRoot(items[i])), itemPath, poolRequired));
        }

        if (SubnetDefinition.CheckAll(subnets) is { } problem)
        {
            throw new ConfigurationException(string.Create(CultureInfo.InvariantCulture, $"{keyPath}.{problem.Index}.{problem.Key}: {problem.Problem}"));
        }

        return subnets;
    }

    /// <summary>Binds and checks one subnet object; <paramref name="keyPath"/> prefixes every key named in an error.</summary>
    /// <param name="poolRequired">
    /// False for a proxyDHCP edge (<c>dhcp.mode = proxy</c>): the subnet only names the network it serves, and without
    /// <c>pool-start</c>/<c>pool-end</c> its pool is the network's first host address, which nothing ever leases (such
    /// an edge declares no subnet to the cluster).
    /// </param>
    public static SubnetDefinition FromConfig(Config subnetObject, string keyPath, bool poolRequired = true)
    {
        ArgumentNullException.ThrowIfNull(subnetObject);
        ArgumentNullException.ThrowIfNull(keyPath);
        ConfigurationException Bad(string key, string reason) => new($"{keyPath}.{key}: {reason}");

        var id = String(subnetObject, "id") is { Length: > 0 } s ? s : throw Bad("id", "missing");
        if (id.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')))
        {
            throw Bad("id", $"'{id}' may only hold letters, digits, '-', '_' and '.' (it names the lease journal)");
        }

        var networkText = String(subnetObject, "network") ?? throw Bad("network", "missing (e.g. \"10.0.0.0/24\")");
        if (!SubnetDefinition.TryParseCidr(networkText, out var network, out var prefix))
        {
            throw Bad("network", $"'{networkText}' is not a network in CIDR form with zero host bits (e.g. \"10.0.0.0/24\")");
        }

        var leaseTime = DefaultLeaseTime;
        if (subnetObject.HasPath("lease-time"))
        {
            try
            {
                leaseTime = subnetObject.GetTimeSpan("lease-time");
            }
            catch (Exception e) when (e is not ConfigurationException)
            {
                throw Bad("lease-time", $"'{subnetObject.GetString("lease-time")}' is not a duration (e.g. 1h)");
            }
        }

        var reservations = new List<SubnetReservation>();
        if (subnetObject.HasPath("reservations"))
        {
            IList<HoconValue> items;
            try
            {
                items = subnetObject.GetValue("reservations").GetArray();
            }
            catch (Exception e) when (e is not ConfigurationException)
            {
                throw Bad("reservations", "expected a list of { mac, address, hostname }");
            }

            for (var i = 0; i < items.Count; i++)
            {
                var key = string.Create(CultureInfo.InvariantCulture, $"reservations.{i}");
                if (!items[i].IsObject())
                {
                    throw Bad(key, "expected { mac, address, hostname }");
                }

                var r = new Config(new HoconRoot(items[i]));
                var macText = String(r, "mac");
                if (!MachineId.TryParse(macText, out var mac))
                {
                    throw Bad(key + ".mac", $"'{macText}' is not a MAC address");
                }

                reservations.Add(new SubnetReservation(mac.Value, Address(r, "address", key + ".address", Bad)!.Value, String(r, "hostname")));
            }
        }

        var dns = new List<IPv4Address>();
        if (subnetObject.HasPath("dns"))
        {
            IList<string> texts;
            try
            {
                texts = subnetObject.GetStringList("dns");
            }
            catch (Exception e) when (e is not ConfigurationException)
            {
                throw Bad("dns", "expected a list of IPv4 addresses");
            }

            foreach (var text in texts)
            {
                dns.Add(IPv4Address.TryParse(text, out var a) ? a : throw Bad("dns", $"'{text}' is not an IPv4 address"));
            }
        }

        var subnet = new SubnetDefinition
        {
            Id = id,
            Network = network,
            PrefixLength = prefix,
            PoolStart = poolRequired || subnetObject.HasPath("pool-start") ? Address(subnetObject, "pool-start", "pool-start", Bad)!.Value : new IPv4Address(network.Value + 1),
            PoolEnd = poolRequired || subnetObject.HasPath("pool-end") ? Address(subnetObject, "pool-end", "pool-end", Bad)!.Value : new IPv4Address(network.Value + 1),
            Router = subnetObject.HasPath("router") && String(subnetObject, "router") is { Length: > 0 } ? Address(subnetObject, "router", "router", Bad) : null,
            Dns = dns,
            Domain = String(subnetObject, "domain") is { Length: > 0 } domain ? domain : null,
            LeaseTime = leaseTime,
            Reservations = reservations,
        };

        return subnet.Check() is { } problem ? throw Bad(problem.Key, problem.Problem) : subnet;
    }

    private static string? String(Config c, string key)
    {
        try
        {
            return c.HasPath(key) ? c.GetString(key)?.Trim() : null;
        }
        catch (Exception e) when (e is not ConfigurationException)
        {
            return null;
        }
    }

    private static IPv4Address? Address(Config c, string key, string keyName, Func<string, string, ConfigurationException> bad)
    {
        var text = String(c, key);
        if (string.IsNullOrEmpty(text))
        {
            throw bad(keyName, "missing");
        }

        return IPv4Address.TryParse(text, out var address) ? address : throw bad(keyName, $"'{text}' is not an IPv4 address");
    }
}
