using System.Text;
using System.Text.RegularExpressions;
using Akka.Configuration;

namespace Provisioner.Cluster.Hosting;

/// <summary>
/// Loads a node's HOCON: <c>defaults.conf</c> first, then the named file on top (later keys win), with
/// <c>include "other.conf"</c> lines inlined (from the including file's directory, else from the hocon/ directory, so a
/// site file kept anywhere can <c>include "core.conf"</c>) and <c>${?ENV}</c> overrides resolved.
/// </summary>
public static partial class ProvisionerConfig
{
    public const string DefaultsFile = "defaults.conf";

    private static readonly TimeSpan ParseTimeout = TimeSpan.FromSeconds(10);

    /// <param name="directory">The hocon/ directory.</param>
    /// <param name="name">A file in it, with or without <c>.conf</c> (e.g. <c>single-node</c>), or a path to any file.</param>
    public static Config Load(string directory, string name, string? extraHocon = null)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(name);

        var path = File.Exists(name) ? name : Path.Combine(directory, name.EndsWith(".conf", StringComparison.Ordinal) ? name : name + ".conf");
        if (!File.Exists(path))
        {
            throw new ConfigurationException($"configuration file '{path}' not found (files in {directory}: {string.Join(", ", ListNames(directory))})");
        }

        var text = new StringBuilder();
        text.AppendLine(Read(Path.Combine(directory, DefaultsFile), directory, depth: 0));
        if (Path.GetFileName(path) != DefaultsFile)
        {
            text.AppendLine(Read(path, directory, depth: 0));
        }

        if (!string.IsNullOrWhiteSpace(extraHocon))
        {
            text.AppendLine(extraHocon);
        }

        foreach (var (variable, key) in EnvironmentOverrides)
        {
            if (Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value)
            {
                text.Append(key).Append(" = ").AppendLine(Quote(value));
            }
        }

        // Akka's HOCON parser can loop forever on some unbalanced brackets: never let a typo hang start-up.
        var parse = Task.Run(() => ConfigurationFactory.ParseString(text.ToString()));
        try
        {
            if (!parse.Wait(ParseTimeout))
            {
                throw new ConfigurationException($"{path}: could not be parsed within {ParseTimeout.TotalSeconds:0} s (unbalanced {{ }} or [ ] ?)");
            }

            return parse.Result;
        }
        catch (AggregateException e) when (e.InnerException is { } inner)
        {
            throw inner is ConfigurationException ? inner : new ConfigurationException($"{path}: {inner.Message}", inner);
        }
    }

    /// <summary>Environment variables that override one key each, applied after every file.</summary>
    public static readonly IReadOnlyList<(string Variable, string Key)> EnvironmentOverrides =
    [
        ("PROVISIONER_HOSTNAME", "provisioner.node.hostname"),
        ("PROVISIONER_PORT", "provisioner.node.port"),
        ("PROVISIONER_JOURNAL", "provisioner.persistence.journal"),
        ("PROVISIONER_DATA_DIR", "provisioner.persistence.data-dir"),
        ("PROVISIONER_DB", "provisioner.persistence.connection-string"),
        ("PROVISIONER_ADMIN_LISTEN", "provisioner.admin.listen"),
        ("PROVISIONER_ADMIN_TOKEN", "provisioner.admin.token"),
    ];

    /// <summary>A HOCON quoted string (JSON escaping is valid HOCON).</summary>
    public static string Quote(string value) => System.Text.Json.JsonSerializer.Serialize(value);

    public static IEnumerable<string> ListNames(string directory) =>
        Directory.Exists(directory)
            ? Directory.GetFiles(directory, "*.conf").Select(Path.GetFileNameWithoutExtension).Where(n => n is not null).Select(n => n!).Order(StringComparer.Ordinal)
            : [];

    private static string Read(string path, string shipped, int depth)
    {
        if (depth > 8)
        {
            throw new ConfigurationException($"{path}: includes nested too deeply");
        }

        if (!File.Exists(path))
        {
            throw new ConfigurationException($"configuration file '{path}' not found");
        }

        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        return IncludeLine().Replace(File.ReadAllText(path), m =>
        {
            var name = m.Groups[1].Value;
            var beside = Path.Combine(directory, name);
            // A site file named like a shipped one (a site's edge.conf with include "edge.conf") means the shipped one.
            var itself = string.Equals(Path.GetFullPath(beside), Path.GetFullPath(path), StringComparison.Ordinal);
            var included = File.Exists(beside) && !itself ? beside : Path.Combine(shipped, name);
            return File.Exists(included)
                ? Read(included, shipped, depth + 1)
                : throw new ConfigurationException($"{path}: include \"{name}\" found neither in {directory} nor in {shipped}");
        });
    }

    [GeneratedRegex("""^\s*include\s+"([^"]+)"\s*$""", RegexOptions.Multiline)]
    private static partial Regex IncludeLine();
}
