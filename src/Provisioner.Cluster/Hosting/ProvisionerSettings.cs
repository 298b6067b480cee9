using Akka.Configuration;
using Provisioner.Domain.Machines;

namespace Provisioner.Cluster.Hosting;

public enum JournalProvider
{
    Sqlite,
    PostgreSql,
}

/// <summary>
/// The <c>provisioner { … }</c> section of the node's HOCON, bound and validated once at start-up.
/// A missing or bad key fails fast with the key's full path in the message.
/// </summary>
public sealed record ProvisionerSettings
{
    public required IReadOnlyList<string> Roles { get; init; }

    public required string Hostname { get; init; }

    public required int Port { get; init; }

    public required IReadOnlyList<string> SeedNodes { get; init; }

    public required JournalProvider Journal { get; init; }

    public required string DataDirectory { get; init; }

    /// <summary>PostgreSQL connection string (journal = postgresql); empty for SQLite.</summary>
    public required string ConnectionString { get; init; }

    public required int Shards { get; init; }

    public required int SnapshotEvery { get; init; }

    public required TimeSpan PassivateAfter { get; init; }

    /// <summary>Idle time after which a machine actor that has persisted nothing (DISCOVERs only) stops (<c>machines.passivate-new-after</c>).</summary>
    public TimeSpan PassivateNewAfter { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Live machine actors that have persisted nothing, at most (<c>machines.max-new-live</c>); see NewMachineLimit.</summary>
    public int MaxNewLive { get; init; } = 5000;

    public required TimeSpan AskTimeout { get; init; }

    public required MachinePolicy Policy { get; init; }

    public required string AdminListen { get; init; }

    public required string AdminToken { get; init; }

    /// <summary>The whole configuration the settings were bound from; its <c>akka { … }</c> section tunes the ActorSystem.</summary>
    public Config Hocon { get; init; } = Config.Empty;

    public bool IsCore => Roles.Contains(Cluster.Roles.Core);

    public bool IsEdge => Roles.Contains(Cluster.Roles.Edge);

    public string SqlitePath => Path.Combine(DataDirectory, "provisioner.db");

    public static ProvisionerSettings FromConfig(Config config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var root = config.GetConfig("provisioner") ?? throw new ConfigurationException("missing section 'provisioner'");
        var keys = new ConfigKeys(root, "provisioner");

        var roles = keys.StringList("node.roles");
        foreach (var role in roles)
        {
            if (role is not (Cluster.Roles.Core or Cluster.Roles.Edge))
            {
                throw Bad("node.roles", $"unknown role '{role}' (expected core and/or edge)");
            }
        }

        if (roles.Length == 0)
        {
            throw Bad("node.roles", "at least one role is required (core, edge)");
        }

        var journal = keys.Required("persistence.journal").ToLowerInvariant() switch
        {
            "sqlite" => JournalProvider.Sqlite,
            "postgresql" or "postgres" => JournalProvider.PostgreSql,
            var other => throw Bad("persistence.journal", $"'{other}' is not sqlite or postgresql"),
        };

        var connectionString = root.GetString("persistence.connection-string", string.Empty);
        if (journal == JournalProvider.PostgreSql && string.IsNullOrWhiteSpace(connectionString))
        {
            throw Bad("persistence.connection-string", "required when persistence.journal = postgresql");
        }

        var policy = new MachinePolicy
        {
            DiscoveredTimeout = PositiveDuration(keys, "machines.deadlines.discovered"),
            NbpServedTimeout = PositiveDuration(keys, "machines.deadlines.nbp-served"),
            KernelFetchedTimeout = PositiveDuration(keys, "machines.deadlines.kernel-fetched"),
            KickstartFetchedTimeout = PositiveDuration(keys, "machines.deadlines.kickstart-fetched"),
            MaxTimeouts = PositiveInt(keys, "machines.max-timeouts"),
        };

        var adminListen = keys.Required("admin.listen");
        var adminToken = root.GetString("admin.token", string.Empty);
        if (!Uri.TryCreate(adminListen, UriKind.Absolute, out var adminUri) || adminUri.Scheme != Uri.UriSchemeHttp)
        {
            throw Bad("admin.listen", $"'{adminListen}' is not an http:// URL");
        }

        if (string.IsNullOrEmpty(adminToken) && !IsLoopback(adminUri.Host))
        {
            throw Bad("admin.listen", $"'{adminListen}' is not loopback; set provisioner.admin.token to expose the admin API");
        }

        return new ProvisionerSettings
        {
            Roles = roles,
            Hostname = keys.Required("node.hostname"),
            Port = PortNumber(keys, "node.port"),
            SeedNodes = keys.StringList("node.seed-nodes"),
            Journal = journal,
            DataDirectory = keys.Required("persistence.data-dir"),
            ConnectionString = connectionString,
            Shards = PositiveInt(keys, "machines.shards"),
            SnapshotEvery = PositiveInt(keys, "machines.snapshot-every"),
            PassivateAfter = PositiveDuration(keys, "machines.passivate-after"),
            PassivateNewAfter = PositiveDuration(keys, "machines.passivate-new-after"),
            MaxNewLive = PositiveInt(keys, "machines.max-new-live"),
            AskTimeout = PositiveDuration(keys, "machines.ask-timeout"),
            Policy = policy,
            AdminListen = adminListen,
            AdminToken = adminToken,
            Hocon = config,
        };
    }

    private static bool IsLoopback(string host) =>
        host is "localhost" || (System.Net.IPAddress.TryParse(host, out var ip) && System.Net.IPAddress.IsLoopback(ip));

    private static ConfigurationException Bad(string key, string reason) => new($"provisioner.{key}: {reason}");

    private static int PositiveInt(ConfigKeys keys, string key)
    {
        var value = NonNegativeInt(keys, key);
        return value > 0 ? value : throw keys.Bad(key, "must be greater than 0");
    }

    private static int PortNumber(ConfigKeys keys, string key)
    {
        var value = NonNegativeInt(keys, key);
        return value <= System.Net.IPEndPoint.MaxPort ? value : throw keys.Bad(key, $"{value} is not a TCP port (0 to 65535)");
    }

    private static int NonNegativeInt(ConfigKeys keys, string key)
    {
        var value = keys.WholeNumber(key);
        return value >= 0 ? value : throw keys.Bad(key, "must not be negative");
    }

    private static TimeSpan PositiveDuration(ConfigKeys keys, string key)
    {
        var value = keys.Duration(key);
        return value > TimeSpan.Zero ? value : throw keys.Bad(key, "must be a positive duration");
    }
}
