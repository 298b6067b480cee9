using System.Collections.Frozen;
using System.Globalization;
using System.Text.RegularExpressions;
using Provisioner.Domain.Machines;
using Provisioner.Protocols.Dhcp;

namespace Provisioner.Domain.Profiles;

/// <summary>
/// The profiles and rules of one configuration directory (<c>edge.config-dir</c>):
/// <code>
/// &lt;config-dir&gt;/rules.conf                  mac|subnet|default lines, first match wins
/// &lt;config-dir&gt;/profiles/&lt;name&gt;.profile      key = value lines
/// &lt;config-dir&gt;/profiles/&lt;template&gt;         kickstart (and optional iPXE script) templates
/// </code>
/// Immutable once loaded; <see cref="Load"/> either returns a catalog that is fully valid or throws a
/// <see cref="ProfileConfigException"/> listing every problem with its file and line. The format is documented in
/// <c>deploy/config/README.md</c>.
/// </summary>
public sealed partial class ProfileCatalog
{
    public const string RulesFile = "rules.conf";
    public const string ProfilesDirectory = "profiles";
    public const string ProfileExtension = ".profile";

    private static readonly string[] RequiredKeys = ["kernel", "initrd", "repo-url", "kickstart", "root-password-hash"];

    private static readonly HashSet<string> KnownKeys = new(StringComparer.Ordinal)
    {
        "description", "kernel", "initrd", "kernel-args", "repo-url", "kickstart", "ipxe-script",
        "root-password-hash", "disk-layout", "timezone", "lang", "keyboard", "boot-chain",
    };

    /// <summary>A profile key naming a boot file: <c>boot-file.&lt;family or option 93 value&gt; = file</c>.</summary>
    private const string BootFileKey = "boot-file.";

    /// <summary>The families a profile's <c>boot-file.&lt;family&gt;</c> stands for, as the edge's <c>dhcp.boot-files</c> has them.</summary>
    private static readonly Dictionary<string, int[]> BootFileFamilies = new(StringComparer.Ordinal)
    {
        ["bios"] = [(int)ClientArchitecture.X86Bios],
        ["x86-uefi"] = [(int)ClientArchitecture.X86Uefi],
        ["x64-uefi"] = [(int)ClientArchitecture.X64Uefi, (int)ClientArchitecture.EfiByteCode],
        ["arm64-uefi"] = [(int)ClientArchitecture.Arm64Uefi],
    };

    private readonly Dictionary<string, Profile> profiles;
    private readonly HashSet<string> assetPaths;

    private ProfileCatalog(string directory, IReadOnlyList<Profile> profiles, IReadOnlyList<ProfileRule> rules)
    {
        Directory = directory;
        this.profiles = profiles.ToDictionary(p => p.Name, StringComparer.Ordinal);
        Profiles = profiles;
        Rules = rules;
        assetPaths = new HashSet<string>(
            profiles.SelectMany(p => new[] { p.KernelIsUrl ? null : p.Kernel, p.InitrdIsUrl ? null : p.Initrd }).OfType<string>(),
            StringComparer.Ordinal);
        BootFiles = profiles.SelectMany(p => p.BootFiles.Values)
            .Concat(rules.OfType<MacRule>().Select(r => r.BootFile))
            .OfType<string>().Where(f => !BootUrls.IsAbsoluteHttpUrl(f)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        HasBootFileOverrides = profiles.Any(p => p.BootFiles.Count > 0 || p.BootChain != BootChain.Ipxe) || rules.OfType<MacRule>().Any(r => r.BootFile is not null);
    }

    /// <summary>Every network boot program a profile or a machine's rule names over TFTP: what the TFTP root must hold besides the edge's.</summary>
    public IReadOnlyList<string> BootFiles { get; }

    /// <summary>Whether any profile or machine names its own boot files or boot chain (when not, the edge's table alone decides).</summary>
    public bool HasBootFileOverrides { get; }

    public string Directory { get; }

    /// <summary>Every profile, ordered by name.</summary>
    public IReadOnlyList<Profile> Profiles { get; }

    /// <summary>The rules in file order.</summary>
    public IReadOnlyList<ProfileRule> Rules { get; }

    public Profile? Find(string? name) => name is not null && profiles.TryGetValue(name, out var profile) ? profile : null;

    /// <summary>True when some profile boots <paramref name="assetPath"/> as its kernel or initrd (a cheap pre-check before asking the machine).</summary>
    public bool IsBootAsset(string assetPath) => assetPaths.Contains(assetPath);

    /// <summary>The first rule that matches <paramref name="mac"/> (at <paramref name="address"/>, if known), or null; allocation-free, for the DHCP path.</summary>
    public ProfileRule? Match(MachineId mac, IPv4Address? address)
    {
        foreach (var rule in Rules)
        {
            if (rule.Matches(mac, address))
            {
                return rule;
            }
        }

        return null;
    }

    /// <summary>
    /// The profile of a machine being served its boot files: the one chosen when it DHCP'd (kept in its state) if it
    /// still exists, else the rules, matched on <paramref name="address"/> (<see cref="AddressOf"/>).
    /// </summary>
    public ProfileResolution ResolveFor(MachineState state, MachineId mac, IPv4Address? address)
    {
        ArgumentNullException.ThrowIfNull(state);
        return Find(state.Profile) is { } chosen
            ? new ProfileResolution(chosen, $"profile {chosen.Name} chosen at boot")
            : Resolve(mac, address);
    }

    /// <summary>A machine's address for its profile's subnet rules: the one leased to it, else the one its request came from.</summary>
    public static IPv4Address? AddressOf(MachineState state, System.Net.IPAddress? remote)
    {
        ArgumentNullException.ThrowIfNull(state);
        return IPv4Address.TryParse(state.Address, out var leased) ? leased
            : IPv4Address.TryFrom(remote, out var from) ? from
            : null;
    }

    /// <summary>The first rule that matches names the profile. A subnet rule needs the machine's address.</summary>
    public ProfileResolution Resolve(MachineId mac, IPv4Address? address)
    {
        foreach (var rule in Rules)
        {
            if (rule.Matches(mac, address))
            {
                var profile = Find(rule.Profile)!;
                return new ProfileResolution(profile, string.Create(CultureInfo.InvariantCulture, $"{rule.File}:{rule.Line}: {rule.Describe()}"));
            }
        }

        return new ProfileResolution(null, address is { } a
            ? $"no rule in {Path.Combine(Directory, RulesFile)} matches {mac} at {a} (add a 'default' rule?)"
            : $"no rule in {Path.Combine(Directory, RulesFile)} matches {mac} (its address is unknown, so subnet rules cannot match)");
    }

    /// <summary>Reads and validates the whole directory. Throws <see cref="ProfileConfigException"/> listing every problem.</summary>
    public static ProfileCatalog Load(string configDir)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(configDir);
        var problems = new List<ConfigProblem>();
        var loaded = new List<Profile>();

        var profileDir = Path.Combine(configDir, ProfilesDirectory);
        if (!System.IO.Directory.Exists(profileDir))
        {
            problems.Add(new ConfigProblem(profileDir, 0, "directory not found (profiles live in <config-dir>/profiles/<name>.profile)"));
        }
        else
        {
            foreach (var file in System.IO.Directory.EnumerateFiles(profileDir, "*" + ProfileExtension).Order(StringComparer.Ordinal))
            {
                var profile = LoadProfile(file, profileDir, problems);
                if (profile is not null)
                {
                    loaded.Add(profile);
                }
            }
        }

        var rulesPath = Path.Combine(configDir, RulesFile);
        var names = loaded.Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        var profileFiles = System.IO.Directory.Exists(profileDir)
            ? System.IO.Directory.EnumerateFiles(profileDir, "*" + ProfileExtension).Select(f => Path.GetFileNameWithoutExtension(f)).ToHashSet(StringComparer.Ordinal)
            : [];
        var rules = LoadRules(rulesPath, names, profileFiles, problems);

        if (problems.Count > 0)
        {
            throw new ProfileConfigException(problems);
        }

        return new ProfileCatalog(configDir, loaded, rules);
    }

    private static Profile? LoadProfile(string file, string profileDir, List<ConfigProblem> problems)
    {
        var before = problems.Count;
        var name = Path.GetFileNameWithoutExtension(file);
        if (!ProfileName().IsMatch(name))
        {
            problems.Add(new ConfigProblem(file, 0, $"'{name}' is not a profile name (lower-case letters, digits, '.', '_' and '-', starting with a letter or digit)"));
        }

        if (!TryReadLines(file, problems, out var lines))
        {
            return null;
        }

        var values = new Dictionary<string, (string Value, int Line)>(StringComparer.Ordinal);
        var layout = new List<(string Value, int Line)>();
        var bootFileLines = new List<(string Architecture, string Value, int Line)>();
        for (var i = 0; i < lines.Length; i++)
        {
            var number = i + 1;
            var line = lines[i].Trim();
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var equals = line.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                problems.Add(new ConfigProblem(file, number, $"expected 'key = value', got '{line}'"));
                continue;
            }

            var key = line[..equals].Trim();
            var value = line[(equals + 1)..].Trim();
            if (key.StartsWith(BootFileKey, StringComparison.Ordinal))
            {
                bootFileLines.Add((key[BootFileKey.Length..], value, number));
                continue;
            }

            if (!KnownKeys.Contains(key))
            {
                problems.Add(new ConfigProblem(file, number, $"unknown key '{key}' (known: {string.Join(", ", KnownKeys.Order(StringComparer.Ordinal))})"));
                continue;
            }

            if (key == "disk-layout")
            {
                // The one repeatable key: each line is one kickstart partitioning command, in order.
                layout.Add((value, number));
                continue;
            }

            if (values.TryGetValue(key, out var earlier))
            {
                problems.Add(new ConfigProblem(file, number, string.Create(CultureInfo.InvariantCulture, $"'{key}' is already set on line {earlier.Line}")));
                continue;
            }

            values[key] = (value, number);
        }

        foreach (var key in RequiredKeys)
        {
            if (!values.TryGetValue(key, out var entry))
            {
                problems.Add(new ConfigProblem(file, 0, $"missing required key '{key}'"));
            }
            else if (entry.Value.Length == 0)
            {
                problems.Add(new ConfigProblem(file, entry.Line, $"'{key}' is empty"));
            }
        }

        string Get(string key, string fallback) => values.TryGetValue(key, out var v) ? v.Value : fallback;
        void Check(string key, Func<string, string?> validate)
        {
            if (values.TryGetValue(key, out var entry) && entry.Value.Length > 0 && validate(entry.Value) is { } reason)
            {
                problems.Add(new ConfigProblem(file, entry.Line, $"'{key}': {reason}"));
            }
        }

        Check("kernel", ValidateAsset);
        Check("initrd", ValidateAsset);
        Check("repo-url", ValidateRepo);
        Check("root-password-hash", v => CryptHash().IsMatch(v)
            ? null
            : "not a crypt(3) hash ($6$… from `openssl passwd -6` or `python3 -c 'import crypt; print(crypt.crypt(\"pw\"))'`); plain passwords are refused");
        Check("kernel-args", v => v.Any(char.IsControl) ? "contains a control character" : null);
        Check("timezone", v => Timezone().IsMatch(v) ? null : $"'{v}' is not a time zone name (e.g. Asia/Shanghai, Etc/UTC)");
        Check("lang", v => Word().IsMatch(v) ? null : $"'{v}' is not a locale (e.g. en_US.UTF-8)");
        Check("keyboard", v => Word().IsMatch(v) ? null : $"'{v}' is not a keyboard layout (e.g. us, cn)");
        Check("boot-chain", v => BootChains.TryParse(v, out _) ? null : $"'{v}' is not a boot chain (ipxe, shim, grub)");
        var chain = BootChains.TryParse(Get("boot-chain", "ipxe"), out var parsedChain) ? parsedChain : BootChain.Ipxe;
        if (chain != BootChain.Ipxe)
        {
            // Debian's network GRUB speaks TFTP only: the kernel and initrd must be files the edge serves.
            var only = $"with boot-chain = {Get("boot-chain", "ipxe")} it must be a path under the assets directory (GRUB fetches it over TFTP, it has no HTTP)";
            Check("kernel", v => BootUrls.IsAbsoluteHttpUrl(v) ? only : null);
            Check("initrd", v => BootUrls.IsAbsoluteHttpUrl(v) ? only : null);
        }

        var diskLayout = ExpandLayout(file, layout, problems);
        var bootFiles = ParseBootFiles(file, bootFileLines, problems);
        var kickstart = LoadTemplate(file, values, "kickstart", profileDir, problems);
        var bootScript = values.ContainsKey("ipxe-script")
            ? LoadTemplate(file, values, "ipxe-script", profileDir, problems)
            : ProfileTemplate.Parse(Profile.DefaultBootScript, "(built-in iPXE script)", TemplateVariables.Names, problems);

        if (problems.Count > before || kickstart is null || bootScript is null)
        {
            return null;
        }

        return new Profile
        {
            Name = name,
            File = file,
            Description = Get("description", string.Empty),
            Kernel = Get("kernel", string.Empty),
            Initrd = Get("initrd", string.Empty),
            KernelArgs = Get("kernel-args", string.Empty),
            RepoUrl = Get("repo-url", string.Empty),
            Kickstart = kickstart,
            BootScript = bootScript,
            RootPasswordHash = Get("root-password-hash", string.Empty),
            DiskLayout = diskLayout,
            Timezone = Get("timezone", "Etc/UTC"),
            Lang = Get("lang", "en_US.UTF-8"),
            Keyboard = Get("keyboard", "us"),
            BootFiles = bootFiles,
            BootChain = chain,
        };
    }

    /// <summary>
    /// <c>boot-file.x64-uefi = snponly.efi</c>, <c>boot-file.11 = grubaa64.efi</c>, <c>boot-file.bios =</c> (none): a
    /// family first, then numbers, which win over their family, as in the edge's <c>dhcp.boot-files</c>.
    /// </summary>
    private static FrozenDictionary<int, string?> ParseBootFiles(string file, List<(string Architecture, string Value, int Line)> lines, List<ConfigProblem> problems)
    {
        if (lines.Count == 0)
        {
            return FrozenDictionary<int, string?>.Empty;
        }

        var byFamily = new Dictionary<int, string?>();
        var byNumber = new Dictionary<int, string?>();
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (architecture, value, line) in lines)
        {
            var key = BootFileKey + architecture;
            if (seen.TryGetValue(architecture, out var earlier))
            {
                problems.Add(new ConfigProblem(file, line, string.Create(CultureInfo.InvariantCulture, $"'{key}' is already set on line {earlier}")));
                continue;
            }

            seen[architecture] = line;
            if (value.Length > 0 && ValidateBootFile(value) is { } reason)
            {
                problems.Add(new ConfigProblem(file, line, $"'{key}': {reason}"));
                continue;
            }

            var name = value.Length > 0 ? value : null;
            if (BootFileFamilies.TryGetValue(architecture, out var family))
            {
                foreach (var number in family)
                {
                    byFamily[number] = name;
                }
            }
            else if (ushort.TryParse(architecture, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
            {
                byNumber[number] = name;
            }
            else
            {
                problems.Add(new ConfigProblem(file, line, $"'{key}': '{architecture}' is neither a family ({string.Join(", ", BootFileFamilies.Keys)}) nor a client architecture number (option 93, 0-65535)"));
            }
        }

        foreach (var (number, name) in byNumber)
        {
            byFamily[number] = name;
        }

        return byFamily.ToFrozenDictionary();
    }

    /// <summary>A boot file is a path under the TFTP root (no '..', not absolute, no blanks) or an http(s) URL (a UEFI HTTP-boot client's).</summary>
    private static string? ValidateBootFile(string value)
    {
        if (BootUrls.IsAbsoluteHttpUrl(value))
        {
            return null;
        }

        if (!value.StartsWith('/') && Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme.Length > 1)
        {
            return $"'{value}' is neither an http(s) URL nor a path under the TFTP root";
        }

        return value.Length > 127
            ? "longer than the BOOTP file field's 127 bytes"
            : ValidateRelativePath(value) is { } reason ? $"'{value}': {reason} (a path under the TFTP root, or an http(s) URL)" : null;
    }

    private static string ExpandLayout(string file, List<(string Value, int Line)> layout, List<ConfigProblem> problems)
    {
        if (layout.Count == 0)
        {
            return DiskLayouts.Expand(DiskLayouts.Default);
        }

        if (layout.Count == 1 && !layout[0].Value.Contains(' ', StringComparison.Ordinal))
        {
            var name = layout[0].Value;
            if (DiskLayouts.IsNamed(name))
            {
                return DiskLayouts.Expand(name);
            }

            if (!DiskLayouts.Commands.Contains(name))
            {
                problems.Add(new ConfigProblem(file, layout[0].Line, $"'disk-layout': unknown layout '{name}' (named layouts: {string.Join(", ", DiskLayouts.Names)}; or kickstart lines such as 'part /boot --fstype=xfs --size=1024')"));
                return string.Empty;
            }
        }

        foreach (var (value, line) in layout)
        {
            var command = value.Split(' ', 2)[0];
            if (!DiskLayouts.Commands.Contains(command))
            {
                problems.Add(new ConfigProblem(file, line, $"'disk-layout': '{command}' is not a kickstart partitioning command (expected one of {string.Join(", ", DiskLayouts.Commands.Order(StringComparer.Ordinal))}, or a named layout)"));
            }
            else if (value.Any(char.IsControl))
            {
                problems.Add(new ConfigProblem(file, line, "'disk-layout': contains a control character"));
            }
        }

        return string.Join('\n', layout.Select(l => l.Value));
    }

    private static ProfileTemplate? LoadTemplate(string file, Dictionary<string, (string Value, int Line)> values, string key, string profileDir, List<ConfigProblem> problems)
    {
        if (!values.TryGetValue(key, out var entry) || entry.Value.Length == 0)
        {
            return null;
        }

        if (ValidateRelativePath(entry.Value) is { } reason)
        {
            problems.Add(new ConfigProblem(file, entry.Line, $"'{key}': {reason} (a file name relative to {profileDir})"));
            return null;
        }

        var templatePath = Path.Combine(profileDir, entry.Value);
        if (!File.Exists(templatePath))
        {
            problems.Add(new ConfigProblem(file, entry.Line, $"'{key}': template file {templatePath} not found"));
            return null;
        }

        string text;
        try
        {
            text = File.ReadAllText(templatePath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problems.Add(new ConfigProblem(templatePath, 0, $"cannot read: {e.Message}"));
            return null;
        }

        return ProfileTemplate.Parse(text, templatePath, TemplateVariables.Names, problems);
    }

    private static List<ProfileRule> LoadRules(string file, HashSet<string> profiles, HashSet<string> profileFiles, List<ConfigProblem> problems)
    {
        var rules = new List<ProfileRule>();
        if (!File.Exists(file))
        {
            problems.Add(new ConfigProblem(file, 0, "file not found (one rule per line: 'mac <mac> <profile>', 'subnet <cidr> <profile>', 'default <profile>')"));
            return rules;
        }

        if (!TryReadLines(file, problems, out var lines))
        {
            return rules;
        }

        var macs = new Dictionary<MachineId, int>();
        int? defaultLine = null;
        for (var i = 0; i < lines.Length; i++)
        {
            var number = i + 1;
            // MACs, networks and profile names never contain '#', so a comment may follow a rule.
            var line = lines[i];
            var hash = line.IndexOf('#', StringComparison.Ordinal);
            line = (hash >= 0 ? line[..hash] : line).Trim();
            if (line.Length == 0)
            {
                continue;
            }

            var fields = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            string? bootFile = null;
            if (fields[0] == "mac" && fields.Length == 4 && fields[3].StartsWith("boot-file=", StringComparison.Ordinal))
            {
                // A machine's own network boot program: `mac <mac> <profile> boot-file=<file>`.
                bootFile = fields[3]["boot-file=".Length..];
                var reason = bootFile.Length == 0 ? "names no file" : ValidateBootFile(bootFile);
                if (reason is not null)
                {
                    problems.Add(new ConfigProblem(file, number, $"'boot-file={bootFile}': {reason}"));
                    continue;
                }

                fields = fields[..3];
            }

            var expected = fields[0] == "default" ? 2 : 3;
            if (fields[0] is not ("mac" or "subnet" or "default"))
            {
                problems.Add(new ConfigProblem(file, number, $"unknown rule '{fields[0]}' (expected mac, subnet or default)"));
                continue;
            }

            if (fields.Length != expected)
            {
                problems.Add(new ConfigProblem(file, number, fields[0] == "default"
                    ? "expected 'default <profile>'"
                    : fields[0] == "mac" ? "expected 'mac <mac> <profile> [boot-file=<file>]'" : "expected 'subnet <cidr> <profile>'"));
                continue;
            }

            if (defaultLine is { } d)
            {
                problems.Add(new ConfigProblem(file, number, string.Create(CultureInfo.InvariantCulture, $"never reached: the default rule on line {d} matches every machine first")));
            }

            var profile = fields[^1];
            var known = profiles.Contains(profile);
            if (!known && !profileFiles.Contains(profile))
            {
                problems.Add(new ConfigProblem(file, number, $"unknown profile '{profile}' (no profiles/{profile}{ProfileExtension})"));
            }

            ProfileRule? rule = null;
            switch (fields[0])
            {
                case "mac":
                    if (!MachineId.TryParse(fields[1], out var mac))
                    {
                        problems.Add(new ConfigProblem(file, number, $"'{fields[1]}' is not a MAC address (expected aa:bb:cc:dd:ee:ff)"));
                    }
                    else if (macs.TryGetValue(mac, out var first))
                    {
                        problems.Add(new ConfigProblem(file, number, string.Create(CultureInfo.InvariantCulture, $"{mac} already has a rule on line {first}")));
                    }
                    else
                    {
                        macs[mac] = number;
                        rule = new MacRule(mac, profile, file, number, bootFile);
                    }

                    break;
                case "subnet":
                    if (!Ipv4Cidr.TryParse(fields[1], out var cidr, out var error))
                    {
                        problems.Add(new ConfigProblem(file, number, error));
                    }
                    else
                    {
                        rule = new SubnetRule(cidr, profile, file, number);
                    }

                    break;
                default:
                    defaultLine ??= number;
                    rule = new DefaultRule(profile, file, number);
                    break;
            }

            if (rule is not null && known)
            {
                rules.Add(rule);
            }
        }

        return rules;
    }

    private static bool TryReadLines(string file, List<ConfigProblem> problems, out string[] lines)
    {
        try
        {
            lines = File.ReadAllLines(file);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problems.Add(new ConfigProblem(file, 0, $"cannot read: {e.Message}"));
            lines = [];
            return false;
        }
    }

    private static string? ValidateAsset(string value)
    {
        if (!value.StartsWith('/') && Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme.Length > 1)
        {
            return BootUrls.IsAbsoluteHttpUrl(value) ? null : $"'{value}' is neither an http(s) URL nor a path under the assets directory";
        }

        return ValidateRelativePath(value) is { } reason ? $"'{value}': {reason} (a path under http.assets, or an http(s) URL)" : null;
    }

    private static string? ValidateRepo(string value)
    {
        if (!value.StartsWith('/') && Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme.Length > 1)
        {
            return uri.Scheme is "http" or "https" or "ftp" ? null : $"'{value}' is not an http, https or ftp URL";
        }

        return ValidateRelativePath(value) is { } reason ? $"'{value}': {reason} (an http(s)/ftp URL or a path under http.assets)" : null;
    }

    private static string? ValidateRelativePath(string value)
    {
        if (value.StartsWith('/'))
        {
            return "must be relative (no leading '/')";
        }

        if (value.Contains('\\', StringComparison.Ordinal) || value.Any(char.IsControl) || value.Any(char.IsWhiteSpace))
        {
            return "contains a backslash, space or control character";
        }

        var segments = value.TrimEnd('/').Split('/');
        return segments.Any(s => s.Length == 0 || s is "." or "..") ? "contains an empty, '.' or '..' segment" : null;
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]*$")]
    private static partial Regex ProfileName();

    /// <summary>crypt(3) MD5, SHA-256, SHA-512, yescrypt and bcrypt hashes: "$id$…" with no spaces.</summary>
    [GeneratedRegex(@"^\$(1|5|6|y|2[aby])\$\S+$")]
    private static partial Regex CryptHash();

    [GeneratedRegex(@"^[A-Za-z0-9_+\-/]+$")]
    private static partial Regex Timezone();

    [GeneratedRegex(@"^[A-Za-z0-9_.@\-]+$")]
    private static partial Regex Word();
}
