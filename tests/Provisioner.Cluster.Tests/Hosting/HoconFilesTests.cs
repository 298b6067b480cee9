using Akka.Configuration;
using Provisioner.Cluster.Hosting;
using Provisioner.Cluster.Tests.Support;
using Provisioner.Domain.Machines;

namespace Provisioner.Cluster.Tests.Hosting;

/// <summary>Tests that read or set PROVISIONER_* variables run alone: every other test's node loads its settings through them too.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class EnvironmentTests
{
    public const string Name = "environment";
}

/// <summary>STYLE.md convention 8: every shipped hocon file loads and binds; environment overrides win; bad settings fail fast naming the key.</summary>
[Collection(EnvironmentTests.Name)]
public sealed class HoconFilesTests
{
    private static string Dir => TestNode.HoconDirectory;

    public static IEnumerable<object[]> ShippedFiles =>
        Directory.GetFiles(Dir, "*.conf").Order(StringComparer.Ordinal).Select(f => new object[] { Path.GetFileName(f) });

    [Fact]
    public void The_shipped_hocon_directory_is_copied_next_to_the_tests_with_every_known_file()
    {
        var names = ProvisionerConfig.ListNames(Dir).ToArray();

        Assert.Subset(names.ToHashSet(), new HashSet<string> { "defaults", "single-node", "core", "edge", "postgres" });
    }

    [Theory]
    [MemberData(nameof(ShippedFiles))]
    public void Every_shipped_file_loads_over_the_defaults_and_binds(string file)
    {
        var settings = Bind(file);

        Assert.NotEmpty(settings.Roles);
        Assert.True(settings.IsCore || settings.IsEdge);
        Assert.True(settings.Shards > 0);
        Assert.True(settings.Policy.DiscoveredTimeout > TimeSpan.Zero);
        if (settings.Journal == JournalProvider.PostgreSql)
        {
            Assert.NotEmpty(settings.ConnectionString);
        }
    }

    [Fact]
    public void Defaults_describe_one_self_contained_node_on_sqlite_with_the_default_policy()
    {
        var settings = Bind("defaults");

        Assert.Equal([Roles.Core, Roles.Edge], settings.Roles);
        Assert.Equal(JournalProvider.Sqlite, settings.Journal);
        Assert.Empty(settings.SeedNodes);
        Assert.Equal("/var/lib/provisioner", settings.DataDirectory);
        Assert.Equal(4053, settings.Port);
        Assert.Equal(100, settings.Shards);
        Assert.Equal(50, settings.SnapshotEvery);
        Assert.Equal(TimeSpan.FromMinutes(2), settings.PassivateAfter);
        Assert.Equal(TimeSpan.FromSeconds(5), settings.AskTimeout);
        // The file and the code's defaults agree, so a node without the file behaves the same.
        Assert.Equal(MachinePolicy.Default, settings.Policy);
        Assert.Equal("http://127.0.0.1:9780", settings.AdminListen);
        Assert.Empty(settings.AdminToken);
    }

    [Fact]
    public void Single_node_binds_to_core_and_edge_on_sqlite_with_no_seeds_and_any_free_port()
    {
        var settings = Bind("single-node");

        Assert.Equal([Roles.Core, Roles.Edge], settings.Roles);
        Assert.True(settings.IsCore);
        Assert.True(settings.IsEdge);
        Assert.Equal(JournalProvider.Sqlite, settings.Journal);
        Assert.Empty(settings.SeedNodes);
        Assert.Empty(settings.ConnectionString);
        Assert.Equal(0, settings.Port);
        Assert.Equal(Path.Combine("/var/lib/provisioner", "provisioner.db"), settings.SqlitePath);
    }

    [Fact]
    public void Core_binds_to_the_core_role_on_postgresql_with_the_included_connection_string_and_seeds()
    {
        var settings = Bind("core");

        Assert.Equal([Roles.Core], settings.Roles);
        Assert.True(settings.IsCore);
        Assert.False(settings.IsEdge);
        // journal and connection-string come only from postgres.conf, which core.conf includes.
        Assert.Equal(JournalProvider.PostgreSql, settings.Journal);
        Assert.Equal("Host=127.0.0.1;Port=5432;Database=provisioner;Username=provisioner;Password=provisioner", settings.ConnectionString);
        Assert.Equal(["akka.tcp://provisioner@127.0.0.1:4053"], settings.SeedNodes);
        Assert.Equal(4053, settings.Port);
    }

    [Fact]
    public void Edge_binds_to_the_edge_role_only_and_joins_the_core_seed()
    {
        var settings = Bind("edge");

        Assert.Equal([Roles.Edge], settings.Roles);
        Assert.False(settings.IsCore);
        Assert.True(settings.IsEdge);
        Assert.Equal(["akka.tcp://provisioner@127.0.0.1:4053"], settings.SeedNodes);
        Assert.Equal(4054, settings.Port);
    }

    [Fact]
    public void A_name_may_be_given_with_or_without_conf_or_as_a_path_outside_the_directory()
    {
        using var site = new TempDirectory();
        var siteFile = Path.Combine(site.Path, "lab.conf");
        File.WriteAllText(siteFile, "provisioner.machines.shards = 7\n");

        var plain = Bind("single-node");
        var withExtension = Bind("single-node.conf");
        var byPath = Bind(siteFile);

        Assert.Equal((plain.Port, plain.Journal, plain.Shards), (withExtension.Port, withExtension.Journal, withExtension.Shards));
        Assert.Equal(plain.Roles, withExtension.Roles);
        // A site file outside the directory still sits on the directory's defaults.
        Assert.Equal(7, byPath.Shards);
        Assert.Equal(plain.Policy, byPath.Policy);
        Assert.Equal(4053, byPath.Port);
    }

    [Fact]
    public void Later_layers_win_defaults_then_the_file_then_extra_hocon()
    {
        var settings = Bind("edge", "provisioner.node.port = 4999");

        // 4053 in defaults.conf, 4054 in edge.conf, 4999 from the caller.
        Assert.Equal(4999, settings.Port);
    }

    [Fact]
    public void Environment_overrides_win_over_every_file_and_extra_hocon()
    {
        var settings = Bind(
            "edge",
            """
            provisioner.persistence.data-dir = "/from/extra"
            provisioner.node.port = 4999
            """,
            new()
            {
                ["PROVISIONER_DATA_DIR"] = "/srv/provisioner data",
                ["PROVISIONER_ADMIN_LISTEN"] = "http://127.0.0.1:9999",
                ["PROVISIONER_PORT"] = "4100",
                ["PROVISIONER_HOSTNAME"] = "core1.lab",
            });

        Assert.Equal("/srv/provisioner data", settings.DataDirectory);
        Assert.Equal("http://127.0.0.1:9999", settings.AdminListen);
        // A variable is a string; numeric keys still bind from it.
        Assert.Equal(4100, settings.Port);
        Assert.Equal("core1.lab", settings.Hostname);
    }

    [Fact]
    public void Environment_can_switch_a_single_node_to_postgresql()
    {
        const string db = "Host=db.lab;Database=provisioner;Username=provisioner;Password=s3cret";
        var settings = Bind("single-node", environment: new() { ["PROVISIONER_JOURNAL"] = "postgresql", ["PROVISIONER_DB"] = db });

        Assert.Equal(JournalProvider.PostgreSql, settings.Journal);
        Assert.Equal(db, settings.ConnectionString);
    }

    [Fact]
    public void Environment_values_with_hocon_and_json_special_characters_arrive_verbatim()
    {
        // Quotes, backslashes, HOCON substitution and comment syntax, and characters JSON escapes as \uXXXX.
        const string password = "p\"a\\ss${x}#//&+<>'é";
        var db = $"Host=db;Password={password}";
        const string token = "tok en+/=&<>\"\\";
        var settings = Bind("core", environment: new() { ["PROVISIONER_DB"] = db, ["PROVISIONER_ADMIN_TOKEN"] = token, ["PROVISIONER_ADMIN_LISTEN"] = "http://0.0.0.0:9780" });

        Assert.Equal(db, settings.ConnectionString);
        Assert.Equal(token, settings.AdminToken);
        Assert.Equal("http://0.0.0.0:9780", settings.AdminListen);
    }

    [Fact]
    public void An_empty_environment_variable_does_not_override()
    {
        var settings = Bind("single-node", environment: new() { ["PROVISIONER_DATA_DIR"] = string.Empty });

        Assert.Equal("/var/lib/provisioner", settings.DataDirectory);
    }

    [Fact]
    public void Every_environment_override_names_a_key_that_defaults_conf_declares()
    {
        var defaults = WithEnvironment(new(), () => ProvisionerConfig.Load(Dir, "defaults"));

        Assert.All(ProvisionerConfig.EnvironmentOverrides, o => Assert.True(defaults.HasPath(o.Key), $"{o.Variable} overrides {o.Key}, which defaults.conf does not declare"));
        Assert.Equal(ProvisionerConfig.EnvironmentOverrides.Count, ProvisionerConfig.EnvironmentOverrides.Select(o => o.Variable).Distinct().Count());
    }

    [Theory]
    [InlineData("provisioner.machines.deadlines.discovered = soon", "provisioner.machines.deadlines.discovered")]
    [InlineData("provisioner.machines.deadlines.kickstart-fetched = 0s", "provisioner.machines.deadlines.kickstart-fetched")]
    [InlineData("provisioner.machines.passivate-after = -5s", "provisioner.machines.passivate-after")]
    [InlineData("provisioner.machines.ask-timeout = fast", "provisioner.machines.ask-timeout")]
    [InlineData("provisioner.node.port = -1", "provisioner.node.port")]
    [InlineData("provisioner.node.port = 70000", "provisioner.node.port")]
    [InlineData("provisioner.node.port = any", "provisioner.node.port")]
    [InlineData("provisioner.node.roles = [core, dhcp]", "provisioner.node.roles")]
    [InlineData("provisioner.node.roles = []", "provisioner.node.roles")]
    [InlineData("provisioner.node.hostname = \"\"", "provisioner.node.hostname")]
    [InlineData("provisioner.persistence.journal = mongodb", "provisioner.persistence.journal")]
    [InlineData("provisioner.persistence.journal = postgresql", "provisioner.persistence.connection-string")]
    [InlineData("provisioner.persistence.data-dir = \"\"", "provisioner.persistence.data-dir")]
    [InlineData("provisioner.machines.shards = 0", "provisioner.machines.shards")]
    [InlineData("provisioner.machines.snapshot-every = many", "provisioner.machines.snapshot-every")]
    [InlineData("provisioner.machines.max-timeouts = 0", "provisioner.machines.max-timeouts")]
    [InlineData("provisioner.admin.listen = \"http://0.0.0.0:9780\"", "provisioner.admin.listen")]
    [InlineData("provisioner.admin.listen = \"http://provisioner.lab:9780\"", "provisioner.admin.listen")]
    [InlineData("provisioner.admin.listen = \"https://127.0.0.1:9780\"", "provisioner.admin.listen")]
    [InlineData("provisioner.admin.listen = \"127.0.0.1:9780\"", "provisioner.admin.listen")]
    public void A_bad_setting_fails_fast_naming_its_full_key(string hocon, string key)
    {
        var error = Assert.Throws<ConfigurationException>(() => Bind("single-node", hocon));

        Assert.Contains(key + ":", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_non_loopback_admin_api_is_allowed_once_it_has_a_token()
    {
        var settings = Bind("single-node", """
            provisioner.admin.listen = "http://0.0.0.0:9780"
            provisioner.admin.token = "t0ken"
            """);

        Assert.Equal("http://0.0.0.0:9780", settings.AdminListen);
        Assert.Equal("t0ken", settings.AdminToken);
    }

    [Theory]
    [InlineData("http://localhost:9780")]
    [InlineData("http://127.0.0.2:9780")]
    [InlineData("http://[::1]:9780")]
    public void A_loopback_admin_api_needs_no_token(string listen)
    {
        var settings = Bind("single-node", $"provisioner.admin.listen = {ProvisionerConfig.Quote(listen)}");

        Assert.Equal(listen, settings.AdminListen);
    }

    [Fact]
    public void A_missing_file_fails_fast_naming_the_file_and_the_files_there_are()
    {
        var error = Assert.Throws<ConfigurationException>(() => Load("no-such-node"));

        Assert.Contains(Path.Combine(Dir, "no-such-node.conf"), error.Message, StringComparison.Ordinal);
        Assert.Contains("single-node", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_provisioner_section_fails_fast()
    {
        var error = Assert.Throws<ConfigurationException>(() => ProvisionerSettings.FromConfig(ConfigurationFactory.ParseString("akka.loglevel = INFO")));

        Assert.Contains("provisioner", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Includes_are_inlined_from_the_same_directory_nested_and_in_place()
    {
        using var dir = SiteDirectory();
        File.WriteAllText(Path.Combine(dir.Path, "journal.conf"), "include \"db.conf\"\nprovisioner.persistence.journal = postgresql\n");
        File.WriteAllText(Path.Combine(dir.Path, "db.conf"), "provisioner.persistence.connection-string = \"Host=nested\"\nprovisioner.machines.shards = 9\n");
        // The include sits before a key that overrides what it brought in: inlined in place, so the later key wins.
        File.WriteAllText(Path.Combine(dir.Path, "site.conf"), "include \"journal.conf\"\nprovisioner.machines.shards = 11\n");

        var settings = WithEnvironment(new(), () => ProvisionerSettings.FromConfig(ProvisionerConfig.Load(dir.Path, "site")));

        Assert.Equal(JournalProvider.PostgreSql, settings.Journal);
        Assert.Equal("Host=nested", settings.ConnectionString);
        Assert.Equal(11, settings.Shards);
    }

    [Fact]
    public void A_site_file_kept_outside_hocon_includes_the_shipped_core_conf_and_its_own_keys_win()
    {
        using var site = new TempDirectory();
        var file = Path.Combine(site.Path, "site-a-core1.conf");
        File.WriteAllText(file, """
            include "core.conf"
            provisioner.node { hostname = "10.1.0.11", seed-nodes = ["akka.tcp://provisioner@10.1.0.11:4053"] }
            """);

        var settings = WithEnvironment(new(), () => ProvisionerSettings.FromConfig(ProvisionerConfig.Load(Dir, file)));

        Assert.Equal([Roles.Core], settings.Roles);
        Assert.Equal(JournalProvider.PostgreSql, settings.Journal);
        Assert.Equal("10.1.0.11", settings.Hostname);
        Assert.Equal(["akka.tcp://provisioner@10.1.0.11:4053"], settings.SeedNodes);
    }

    [Fact]
    public void A_site_file_named_like_a_shipped_one_includes_the_shipped_one_instead_of_itself()
    {
        using var site = new TempDirectory();
        var file = Path.Combine(site.Path, "edge.conf");
        File.WriteAllText(file, "include \"edge.conf\"\nprovisioner.node.port = 4999\n");

        var settings = WithEnvironment(new(), () => ProvisionerSettings.FromConfig(ProvisionerConfig.Load(Dir, file)));

        Assert.Equal([Roles.Edge], settings.Roles);
        Assert.Equal(4999, settings.Port);
    }

    [Fact]
    public void A_file_beside_the_site_file_wins_over_a_shipped_one_of_the_same_name()
    {
        using var site = new TempDirectory();
        File.WriteAllText(Path.Combine(site.Path, "postgres.conf"), "provisioner.persistence { journal = postgresql, connection-string = \"Host=site-db\" }\n");
        var file = Path.Combine(site.Path, "core1.conf");
        File.WriteAllText(file, "include \"core.conf\"\ninclude \"postgres.conf\"\n");

        var settings = WithEnvironment(new(), () => ProvisionerSettings.FromConfig(ProvisionerConfig.Load(Dir, file)));

        Assert.Equal("Host=site-db", settings.ConnectionString);
    }

    [Fact]
    public void A_missing_include_fails_fast_naming_the_included_file()
    {
        using var dir = SiteDirectory();
        File.WriteAllText(Path.Combine(dir.Path, "site.conf"), "include \"gone.conf\"\n");

        var error = Assert.Throws<ConfigurationException>(() => Load(dir.Path, "site"));

        Assert.Contains("gone.conf", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_include_cycle_fails_fast_instead_of_recursing_forever()
    {
        using var dir = SiteDirectory();
        File.WriteAllText(Path.Combine(dir.Path, "a.conf"), "include \"b.conf\"\n");
        File.WriteAllText(Path.Combine(dir.Path, "b.conf"), "include \"a.conf\"\n");

        var error = Assert.Throws<ConfigurationException>(() => Load(dir.Path, "a"));

        Assert.Contains("nested too deeply", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_hocon_cannot_resolve_fails_fast_naming_the_file()
    {
        // Akka's HOCON parser is lenient about unbalanced brackets (see the report), but an unresolvable substitution throws.
        using var dir = SiteDirectory();
        File.WriteAllText(Path.Combine(dir.Path, "broken.conf"), "provisioner.node.port = ${no-such-key}\n");

        var error = Assert.Throws<ConfigurationException>(() => Load(dir.Path, "broken"));

        Assert.Contains(Path.Combine(dir.Path, "broken.conf"), error.Message, StringComparison.Ordinal);
    }

    /// <summary>Loads and binds with none of the PROVISIONER_* variables set, or exactly <paramref name="environment"/>.</summary>
    private static ProvisionerSettings Bind(string name, string? extraHocon = null, Dictionary<string, string>? environment = null) =>
        WithEnvironment(environment ?? [], () => ProvisionerSettings.FromConfig(ProvisionerConfig.Load(Dir, name, extraHocon)));

    private static Config Load(string name) => Load(Dir, name);

    private static Config Load(string directory, string name) => WithEnvironment(new(), () => ProvisionerConfig.Load(directory, name));

    /// <summary>A directory with the shipped defaults.conf, for site files the test writes.</summary>
    private static TempDirectory SiteDirectory()
    {
        var dir = new TempDirectory();
        File.Copy(Path.Combine(Dir, ProvisionerConfig.DefaultsFile), Path.Combine(dir.Path, ProvisionerConfig.DefaultsFile));
        return dir;
    }

    /// <summary>
    /// Runs <paramref name="action"/> with exactly the given PROVISIONER_* overrides set (any others from the ambient
    /// environment are cleared, so a CI variable cannot change what a file binds to), then restores them all.
    /// </summary>
    private static T WithEnvironment<T>(Dictionary<string, string> variables, Func<T> action)
    {
        var saved = ProvisionerConfig.EnvironmentOverrides.ToDictionary(o => o.Variable, o => Environment.GetEnvironmentVariable(o.Variable));
        try
        {
            foreach (var (variable, _) in ProvisionerConfig.EnvironmentOverrides)
            {
                Environment.SetEnvironmentVariable(variable, variables.GetValueOrDefault(variable));
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
