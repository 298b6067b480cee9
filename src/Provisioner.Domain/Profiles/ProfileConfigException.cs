using System.Globalization;

namespace Provisioner.Domain.Profiles;

/// <summary>One problem in the profile configuration. Line 0 means the file as a whole (missing, unreadable).</summary>
public sealed record ConfigProblem(string File, int Line, string Reason)
{
    public override string ToString() => Line > 0
        ? string.Create(CultureInfo.InvariantCulture, $"{File}:{Line}: {Reason}")
        : $"{File}: {Reason}";
}

/// <summary>
/// The profile configuration directory does not load. Lists every problem found (not just the first), each
/// naming its file, line and reason, so an operator fixes them all in one pass.
/// </summary>
public sealed class ProfileConfigException : Exception
{
    public ProfileConfigException()
        : this(Array.Empty<ConfigProblem>())
    {
    }

    public ProfileConfigException(string message)
        : base(message)
    {
        Problems = Array.Empty<ConfigProblem>();
    }

    public ProfileConfigException(string message, Exception innerException)
        : base(message, innerException)
    {
        Problems = Array.Empty<ConfigProblem>();
    }

    public ProfileConfigException(IReadOnlyList<ConfigProblem> problems)
        : base(Describe(problems))
    {
        Problems = problems;
    }

    public IReadOnlyList<ConfigProblem> Problems { get; }

    private static string Describe(IReadOnlyList<ConfigProblem> problems)
    {
        ArgumentNullException.ThrowIfNull(problems);
        return problems.Count == 0
            ? "the profile configuration does not load"
            : string.Create(CultureInfo.InvariantCulture, $"the profile configuration has {problems.Count} problem(s):{Environment.NewLine}")
              + string.Join(Environment.NewLine, problems.Select(p => "  " + p));
    }
}

/// <summary>A template value cannot be written into its output safely (e.g. a newline in an iPXE script line).</summary>
public sealed class TemplateRenderException : Exception
{
    public TemplateRenderException()
    {
    }

    public TemplateRenderException(string message)
        : base(message)
    {
    }

    public TemplateRenderException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
