using Akka.Configuration;

namespace Provisioner.Cluster.Hosting;

/// <summary>
/// Reads typed keys of one HOCON section and fails fast with the key's full path (<c>provisioner.edge.tftp.port: …</c>).
/// Every options binder (node settings, TFTP, HTTP) reads through this, so a bad key reads the same everywhere.
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
