using System.Text;

namespace Provisioner.Domain.Profiles;

/// <summary>How values are written into a rendered template.</summary>
public enum TemplateOutput
{
    /// <summary>Kickstart: values are written as they are (they come from the operator's own config or are validated).</summary>
    Kickstart,

    /// <summary>
    /// iPXE script: one command per line, so a value with a line break (or any control character) would start a
    /// new command; such a value is refused rather than rewritten.
    /// </summary>
    Ipxe,
}

/// <summary>
/// A tiny, safe template: literal text with <c>{{name}}</c> placeholders (spaces inside the braces allowed).
/// No expressions, loops or code; every placeholder must be a known variable, checked when the template is
/// parsed (at load time), so a typo fails at start-up rather than in the middle of an install.
/// </summary>
public sealed class ProfileTemplate
{
    private readonly IReadOnlyList<Segment> segments;

    private ProfileTemplate(string file, IReadOnlyList<Segment> segments)
    {
        File = file;
        this.segments = segments;
    }

    /// <summary>The file the template came from (for messages).</summary>
    public string File { get; }

    /// <summary>The placeholder names used, in order of first use.</summary>
    public IReadOnlyList<string> Placeholders => segments.Where(s => s.Name is not null).Select(s => s.Name!).Distinct(StringComparer.Ordinal).ToArray();

    /// <summary>
    /// Parses <paramref name="text"/>; every problem (unclosed <c>{{</c>, unknown or malformed placeholder) is added to
    /// <paramref name="problems"/> with its line. Returns null when there was at least one.
    /// </summary>
    public static ProfileTemplate? Parse(string text, string file, IReadOnlySet<string> knownNames, ICollection<ConfigProblem> problems)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(knownNames);
        ArgumentNullException.ThrowIfNull(problems);

        var segments = new List<Segment>();
        var failed = false;
        var position = 0;
        while (position < text.Length)
        {
            var open = text.IndexOf("{{", position, StringComparison.Ordinal);
            if (open < 0)
            {
                segments.Add(new Segment(text[position..], null));
                break;
            }

            if (open > position)
            {
                segments.Add(new Segment(text[position..open], null));
            }

            var line = LineOf(text, open);
            var close = text.IndexOf("}}", open + 2, StringComparison.Ordinal);
            var newline = text.IndexOf('\n', open);
            if (close < 0 || (newline >= 0 && newline < close))
            {
                problems.Add(new ConfigProblem(file, line, "'{{' is not closed by '}}' on the same line"));
                failed = true;
                position = newline < 0 ? text.Length : newline;
                continue;
            }

            var name = text[(open + 2)..close].Trim();
            if (!IsName(name))
            {
                problems.Add(new ConfigProblem(file, line, $"'{{{{{name}}}}}' is not a placeholder (expected {{{{name}}}} with letters, digits and '_')"));
                failed = true;
            }
            else if (!knownNames.Contains(name))
            {
                problems.Add(new ConfigProblem(file, line, $"unknown placeholder '{{{{{name}}}}}' (known: {string.Join(", ", knownNames.Order(StringComparer.Ordinal))})"));
                failed = true;
            }
            else
            {
                segments.Add(new Segment(null, name));
            }

            position = close + 2;
        }

        return failed ? null : new ProfileTemplate(file, segments);
    }

    /// <summary>Renders with <paramref name="values"/>; throws <see cref="TemplateRenderException"/> when a value cannot be written safely.</summary>
    public string Render(IReadOnlyDictionary<string, string> values, TemplateOutput output)
    {
        ArgumentNullException.ThrowIfNull(values);
        var builder = new StringBuilder();
        foreach (var segment in segments)
        {
            if (segment.Name is null)
            {
                builder.Append(segment.Text);
                continue;
            }

            if (!values.TryGetValue(segment.Name, out var value))
            {
                throw new TemplateRenderException($"{File}: no value for placeholder '{segment.Name}'");
            }

            if (output == TemplateOutput.Ipxe && value.Any(char.IsControl))
            {
                throw new TemplateRenderException($"{File}: the value of '{segment.Name}' contains a line break or control character and cannot go into an iPXE script");
            }

            builder.Append(value);
        }

        return builder.ToString();
    }

    private static bool IsName(string name) =>
        name.Length > 0 && (char.IsAsciiLetter(name[0]) || name[0] == '_') && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');

    private static int LineOf(string text, int index)
    {
        var line = 1;
        for (var i = 0; i < index; i++)
        {
            if (text[i] == '\n')
            {
                line++;
            }
        }

        return line;
    }

    private sealed record Segment(string? Text, string? Name);
}
