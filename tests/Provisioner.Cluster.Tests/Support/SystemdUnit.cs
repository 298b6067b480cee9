using System.Globalization;

namespace Provisioner.Cluster.Tests.Support;

/// <summary>
/// A systemd unit file read the way systemd reads one (systemd.syntax(7)): <c>[Section]</c> headers, <c>Key=Value</c>
/// lines, <c>#</c> and <c>;</c> comments, a trailing backslash continuing a line. A key may be assigned many times; for
/// list settings an empty assignment clears what came before, as in systemd.
/// </summary>
public sealed class SystemdUnit
{
    private readonly List<(string Section, string Key, string Value)> _assignments;

    private SystemdUnit(List<(string Section, string Key, string Value)> assignments) => _assignments = assignments;

    public static SystemdUnit Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var assignments = new List<(string, string, string)>();
        string? section = null;
        var lines = text.ReplaceLineEndings("\n").Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            if (line.Length == 0 || line[0] is '#' or ';')
            {
                continue;
            }

            while (line.EndsWith('\\') && i + 1 < lines.Length)
            {
                line = line[..^1] + " " + lines[++i].Trim();
            }

            if (line[0] == '[')
            {
                section = line.EndsWith(']') ? line[1..^1] : throw new FormatException($"line {i + 1}: unterminated section header '{line}'");
                continue;
            }

            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (section is null || eq <= 0)
            {
                throw new FormatException($"line {i + 1}: '{line}' is neither a section header nor Key=Value inside a section");
            }

            assignments.Add((section, line[..eq].Trim(), line[(eq + 1)..].Trim()));
        }

        return new SystemdUnit(assignments);
    }

    public IEnumerable<string> Sections => _assignments.Select(a => a.Section).Distinct(StringComparer.Ordinal);

    /// <summary>Every value assigned to the key since its last empty assignment, in order.</summary>
    public IReadOnlyList<string> Values(string section, string key)
    {
        var values = new List<string>();
        foreach (var (s, k, v) in _assignments)
        {
            if (s == section && k == key)
            {
                if (v.Length == 0)
                {
                    values.Clear();
                }
                else
                {
                    values.Add(v);
                }
            }
        }

        return values;
    }

    /// <summary>The last value of a single-valued setting, or null when it is not set.</summary>
    public string? Value(string section, string key) => Values(section, key) is { Count: > 0 } values ? values[^1] : null;

    /// <summary>Every whitespace-separated word of a list setting (capabilities, paths, address families).</summary>
    public IReadOnlyList<string> Words(string section, string key) =>
        Values(section, key).SelectMany(v => v.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToArray();

    /// <summary>A yes/no setting: null when unset.</summary>
    public bool? Boolean(string section, string key) => Value(section, key)?.ToLowerInvariant() switch
    {
        null => null,
        "1" or "yes" or "y" or "true" or "t" or "on" => true,
        "0" or "no" or "n" or "false" or "f" or "off" => false,
        var other => throw new FormatException($"{section}.{key}: '{other}' is not a boolean"),
    };

    /// <summary>A time span (systemd.time(7)): <c>45</c> (seconds), <c>45s</c>, <c>1min 30s</c>, <c>500ms</c>, <c>2h</c>.</summary>
    public static TimeSpan ParseTimeSpan(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var total = TimeSpan.Zero;
        var rest = text.Replace(" ", string.Empty, StringComparison.Ordinal);
        if (rest.Length == 0)
        {
            throw new FormatException("empty time span");
        }

        while (rest.Length > 0)
        {
            var digits = rest.TakeWhile(c => char.IsAsciiDigit(c) || c == '.').Count();
            var units = rest[digits..].TakeWhile(char.IsAsciiLetter).Count();
            if (digits == 0)
            {
                throw new FormatException($"'{text}' is not a time span");
            }

            var number = double.Parse(rest[..digits], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture);
            total += rest.Substring(digits, units) switch
            {
                "" or "s" or "sec" or "second" or "seconds" => TimeSpan.FromSeconds(number),
                "ms" or "msec" => TimeSpan.FromMilliseconds(number),
                "m" or "min" or "minute" or "minutes" => TimeSpan.FromMinutes(number),
                "h" or "hr" or "hour" or "hours" => TimeSpan.FromHours(number),
                var unit => throw new FormatException($"'{text}': unknown time unit '{unit}'"),
            };
            rest = rest[(digits + units)..];
        }

        return total;
    }
}
