using Akka.Configuration;

namespace Provisioner.Cluster.Hosting;

/// <summary>
/// Reads typed keys of one HOCON section and fails fast with the key's full path (<c>provisioner.edge.tftp.port: …</c>).
/// Every options binder (node settings, TFTP, HTTP, DHCP) reads through this, so a bad key reads the same everywhere.
/// </summary>
public sealed class ConfigKeys(Config section, string path)
{
    public ConfigurationException Bad(string key, string reason) => new($"{path}.{key}: {reason}");

    public string Required(string key)
    {
        var value = section.HasPath(key) ? section.GetString(key) : null;
        return string.IsNullOrWhiteSpace(value) ? throw Bad(key, "missing") : value;
    }

    public string[] StringList(string key) => Read(key, "expected a list of strings", c => c.GetStringList(key).Where(s => !string.IsNullOrWhiteSpace(s)).ToArray());

    public int WholeNumber(string key) => Read(key, $"'{Text(key)}' is not a whole number", c => c.GetInt(key));

    public bool Bool(string key) => Read(key, $"'{Text(key)}' is not on/off", c => c.GetBoolean(key));

    public long? ByteSize(string key) => Read(key, $"'{Text(key)}' is not a byte size", c => c.GetByteSize(key));

    /// <summary>A byte size of at least 0 (<c>268435456</c>, <c>256M</c>, <c>64 MiB</c>).</summary>
    public long NonNegativeBytes(string key) =>
        ByteSize(key) is { } value and >= 0 ? value : throw Bad(key, $"'{Text(key)}' is not a non-negative byte size");

    public TimeSpan Duration(string key) => Read(key, $"'{Text(key)}' is not a duration (e.g. 30s, 5m)", c => c.GetTimeSpan(key));

    /// <summary>On/off; <paramref name="fallback"/> when the key is absent.</summary>
    public bool Bool(string key, bool fallback) => section.HasPath(key) ? Bool(key) : fallback;

    /// <summary>A TCP/UDP port (1 to 65535); <paramref name="fallback"/> when the key is absent.</summary>
    public int Port(string key, int fallback)
    {
        var port = section.HasPath(key) ? Read(key, $"'{Text(key)}' is not a port number", c => c.GetInt(key)) : fallback;
        return port is > 0 and <= 65535 ? port : throw Bad(key, $"{port} is not a port (1 to 65535)");
    }

    /// <summary>A number greater than 0; <paramref name="fallback"/> when the key is absent.</summary>
    public double Positive(string key, double fallback)
    {
        var value = section.HasPath(key) ? Read(key, $"'{Text(key)}' is not a number", c => c.GetDouble(key)) : fallback;
        return value > 0 ? value : throw Bad(key, "must be greater than 0");
    }

    /// <summary>A whole number of at least 0; <paramref name="fallback"/> when the key is absent.</summary>
    public int NonNegative(string key, int fallback)
    {
        var value = section.HasPath(key) ? WholeNumber(key) : fallback;
        return value >= 0 ? value : throw Bad(key, $"{value} is negative");
    }

    /// <summary>A whole number of at least 1; <paramref name="fallback"/> when the key is absent.</summary>
    public int PositiveWhole(string key, int fallback)
    {
        var value = section.HasPath(key) ? WholeNumber(key) : fallback;
        return value >= 1 ? value : throw Bad(key, $"{value} is not at least 1");
    }

    /// <summary>A duration above zero; <paramref name="fallback"/> when the key is absent.</summary>
    public TimeSpan PositiveDuration(string key, TimeSpan fallback)
    {
        var value = section.HasPath(key) ? Duration(key) : fallback;
        return value > TimeSpan.Zero ? value : throw Bad(key, $"{value} is not positive");
    }

    /// <summary>The key's raw text, for messages (null when absent).</summary>
    public string? Text(string key) => section.HasPath(key) ? section.GetString(key) : null;

    private T Read<T>(string key, string reason, Func<Config, T> read)
    {
        if (!section.HasPath(key))
        {
            throw Bad(key, "missing");
        }

        try
        {
            return read(section);
        }
        catch (Exception e) when (e is not ConfigurationException)
        {
            throw Bad(key, reason);
        }
    }
}
