using System.Globalization;
using Akka.Configuration;
using Provisioner.Cluster.Hosting;

namespace Provisioner.Cluster.Tests.Support;

/// <summary>
/// The repository's deploy/ directory as the test project copies it next to the tests (as it does hocon/), and its
/// example site files loaded the way <c>provisioner serve --hocon-dir … --config FILE</c> loads them.
/// </summary>
public static class DeployFiles
{
    public static string Directory => Path.Combine(AppContext.BaseDirectory, "deploy");

    public static string ExamplesDirectory => Path.Combine(Directory, "examples");

    /// <summary>The shipped hocon/ directory, copied next to the tests.</summary>
    public static string HoconDirectory => Path.Combine(AppContext.BaseDirectory, "hocon");

    public static string SystemdUnitPath => Path.Combine(Directory, "systemd", "provisioner@.service");

    public static string OpenRcScriptPath => Path.Combine(Directory, "openrc", "provisioner");

    public static string OpenRcConfPath => Path.Combine(Directory, "openrc", "provisioner.confd");

    /// <summary>Every site file under deploy/examples, as paths relative to it (e.g. <c>two-site/core1.conf</c>).</summary>
    public static IReadOnlyList<string> ExampleFiles() =>
        System.IO.Directory.GetFiles(ExamplesDirectory, "*.conf", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(ExamplesDirectory, f))
            .Order(StringComparer.Ordinal)
            .ToArray();

    /// <summary>One example loaded over the shipped defaults with no PROVISIONER_* variable set, and bound.</summary>
    public static ProvisionerSettings Bind(string exampleFile) =>
        CleanEnvironment.Run(() => ProvisionerSettings.FromConfig(ProvisionerConfig.Load(HoconDirectory, Path.Combine(ExamplesDirectory, exampleFile))));

    /// <summary>The shipped defaults.conf alone, bound with no PROVISIONER_* variable set.</summary>
    public static Config Defaults() => CleanEnvironment.Run(() => ProvisionerConfig.Load(HoconDirectory, ProvisionerConfig.DefaultsFile));

    /// <summary>The unit's ExecStart split into words (it quotes nothing), with the template's %i given.</summary>
    public static IReadOnlyList<string> SystemdExecStart(string instance)
    {
        var unit = SystemdUnit.Parse(File.ReadAllText(SystemdUnitPath));
        var execStart = unit.Values("Service", "ExecStart");
        return execStart.Count == 1
            ? execStart[0].Replace("%i", instance, StringComparison.Ordinal).Split(' ', StringSplitOptions.RemoveEmptyEntries)
            : throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"{SystemdUnitPath}: {execStart.Count} ExecStart lines, expected 1"));
    }
}

/// <summary>Runs code with none of the PROVISIONER_* override variables set (a CI variable must not change what a file binds to), then restores them.</summary>
public static class CleanEnvironment
{
    public static T Run<T>(Func<T> action)
    {
        ArgumentNullException.ThrowIfNull(action);
        var saved = ProvisionerConfig.EnvironmentOverrides.ToDictionary(o => o.Variable, o => Environment.GetEnvironmentVariable(o.Variable));
        try
        {
            foreach (var (variable, _) in ProvisionerConfig.EnvironmentOverrides)
            {
                Environment.SetEnvironmentVariable(variable, null);
            }

            return action();
        }
        finally
        {
            foreach (var (variable, value) in saved)
            {
                Environment.SetEnvironmentVariable(variable, value);
            }
        }
    }
}
