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

        var roles = StringList(root, "node.roles");
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

        var journal = Required(root, "persistence.journal").ToLowerInvariant() switch
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
            DiscoveredTimeout = Duration(root, "machines.deadlines.discovered"),
            NbpServedTimeout = Duration(root, "machines.deadlines.nbp-served"),
            KernelFetchedTimeout = Duration(root, "machines.deadlines.kernel-fetched"),
            KickstartFetchedTimeout = Duration(root, "machines.deadlines.kickstart-fetched"),
            MaxTimeouts = PositiveInt(root, "machines.max-timeouts"),
        };

        var adminListen = Required(root, "admin.listen");
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
            Hostname = Required(root, "node.hostname"),
            Port = PortNumber(root, "node.port"),
            SeedNodes = StringList(root, "node.seed-nodes"),
            Journal = journal,
            DataDirectory = Required(root, "persistence.data-dir"),
            ConnectionString = connectionString,
            Shards = PositiveInt(root, "machines.shards"),
            SnapshotEvery = PositiveInt(root, "machines.snapshot-every"),
            PassivateAfter = Duration(root, "machines.passivate-after"),
            AskTimeout = Duration(root, "machines.ask-timeout"),
            Policy = policy,
            AdminListen = adminListen,
            AdminToken = adminToken,
            Hocon = config,
        };
    }

    private static bool IsLoopback(string host) =>
        host is "localhost" || (System.Net.IPAddress.TryParse(host, out var ip) && System.Net.IPAddress.IsLoopback(ip));

    private static ConfigurationException Bad(string key, string reason) => new($"provisioner.{key}: {reason}");

    private static string Required(Config c, string key)
    {
        var value = c.HasPath(key) ? c.GetString(key) : null;
        return string.IsNullOrWhiteSpace(value) ? throw Bad(key, "missing") : value;
    }

    private static string[] StringList(Config c, string key)
    {
        if (!c.HasPath(key))
        {
            throw Bad(key, "missing");
        }

        try
        {
            return c.GetStringList(key).Where(s => !string.IsNullOrWhiteSpace(s)).ToArray();
        }
        catch (Exception e) when (e is not ConfigurationException)
        {
            throw Bad(key, "expected a list of strings");
        }
    }

    private static int PositiveInt(Config c, string key)
    {
        var value = NonNegativeInt(c, key);
        return value > 0 ? value : throw Bad(key, "must be greater than 0");
    }

    private static int PortNumber(Config c, string key)
    {
        var value = NonNegativeInt(c, key);
        return value <= System.Net.IPEndPoint.MaxPort ? value : throw Bad(key, $"{value} is not a TCP port (0 to 65535)");
    }

    private static int NonNegativeInt(Config c, string key)
    {
        if (!c.HasPath(key))
        {
            throw Bad(key, "missing");
        }

        try
        {
            var value = c.GetInt(key);
            return value >= 0 ? value : throw Bad(key, "must not be negative");
        }
        catch (Exception e) when (e is not ConfigurationException)
        {
            throw Bad(key, $"'{c.GetString(key)}' is not a whole number");
        }
    }

    private static TimeSpan Duration(Config c, string key)
    {
        if (!c.HasPath(key))
        {
            throw Bad(key, "missing");
        }

        try
        {
            var value = c.GetTimeSpan(key);
            return value > TimeSpan.Zero ? value : throw Bad(key, "must be a positive duration");
        }
        catch (Exception e) when (e is not ConfigurationException)
        {
            throw Bad(key, $"'{c.GetString(key)}' is not a duration (e.g. 30s, 5m)");
        }
    }
}
