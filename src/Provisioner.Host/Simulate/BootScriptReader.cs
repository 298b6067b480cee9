using System.Text.RegularExpressions;

namespace Provisioner.Host.Simulate;

/// <summary>What an install script has iPXE fetch, and where the installer will find its kickstart.</summary>
public sealed record InstallFiles(Uri Kernel, Uri Initrd, Uri Kickstart);

/// <summary>
/// Reads what a simulated machine needs from the texts the edge serves: the iPXE script's <c>kernel</c> and
/// <c>initrd</c> lines (image options such as <c>--name</c> skipped, URLs resolved against the script's own URL as
/// iPXE does) with the kernel's <c>ks=</c> / <c>inst.ks=</c> argument, and the kickstart's phone-home URL.
/// </summary>
public static partial class BootScriptReader
{
    /// <summary>iPXE image-command options that take a value (<c>imgfetch --name NAME</c>, <c>--timeout MS</c>).</summary>
    private static readonly HashSet<string> OptionsWithValue = new(StringComparer.Ordinal) { "--name", "-n", "--timeout", "-t" };

    public static InstallFiles? Read(string script, Uri scriptUrl, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(script);
        ArgumentNullException.ThrowIfNull(scriptUrl);
        problem = null;
        if (!script.StartsWith("#!ipxe", StringComparison.Ordinal))
        {
            problem = "the boot script does not start with #!ipxe";
            return null;
        }

        Uri? kernel = null, initrd = null, kickstart = null;
        foreach (var raw in script.Split('\n'))
        {
            var words = raw.Trim().Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (words.Length == 0 || words[0].StartsWith('#'))
            {
                continue;
            }

            switch (words[0])
            {
                case "kernel" or "chain" or "imgexec" when kernel is null:
                {
                    var (url, arguments) = Image(words);
                    kernel = Resolve(scriptUrl, url);
                    var ks = arguments.FirstOrDefault(a => a.StartsWith("ks=", StringComparison.Ordinal) || a.StartsWith("inst.ks=", StringComparison.Ordinal));
                    kickstart = ks is null ? null : Resolve(scriptUrl, ks[(ks.IndexOf('=', StringComparison.Ordinal) + 1)..]);
                    break;
                }

                case "initrd" or "module" or "imgfetch" when initrd is null:
                    initrd = Resolve(scriptUrl, Image(words).Url);
                    break;
            }
        }

        if (kernel is null)
        {
            var said = script.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith("echo ", StringComparison.Ordinal));
            problem = "the boot script loads no kernel" + (said is null ? string.Empty : $" ({Shorten(said[5..])})");
            return null;
        }

        if (initrd is null)
        {
            problem = "the boot script loads no initrd";
            return null;
        }

        if (kickstart is null)
        {
            problem = "the kernel line has no ks= (kickstart URL)";
            return null;
        }

        return new InstallFiles(kernel, initrd, kickstart);
    }

    /// <summary>The first http(s) URL in the kickstart with <c>/phone-home/</c> in its path (the %post curl).</summary>
    public static Uri? PhoneHome(string kickstart)
    {
        ArgumentNullException.ThrowIfNull(kickstart);
        foreach (Match match in Url().Matches(kickstart))
        {
            if (Uri.TryCreate(match.Value, UriKind.Absolute, out var uri) && uri.AbsolutePath.Contains("/phone-home/", StringComparison.Ordinal))
            {
                return uri;
            }
        }

        return null;
    }

    private static (string? Url, IEnumerable<string> Arguments) Image(string[] words)
    {
        for (var i = 1; i < words.Length; i++)
        {
            if (OptionsWithValue.Contains(words[i]))
            {
                i++;
            }
            else if (!words[i].StartsWith('-'))
            {
                return (words[i], words.Skip(i + 1));
            }
        }

        return (null, []);
    }

    private static Uri? Resolve(Uri baseUrl, string? text) =>
        text is not null && Uri.TryCreate(baseUrl, text, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps) ? uri : null;

    /// <summary>An echo line as a failure reason: MACs masked (so machines that failed alike group together), at most 80 characters.</summary>
    private static string Shorten(string text)
    {
        text = Mac().Replace(text, "<mac>");
        return text.Length <= 80 ? text : text[..77] + "...";
    }

    [GeneratedRegex("[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}")]
    private static partial Regex Mac();

    [GeneratedRegex(@"https?://[^\s'""<>]+")]
    private static partial Regex Url();
}
