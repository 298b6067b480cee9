using Microsoft.Extensions.Logging;

namespace Provisioner.Edge.Tftp;

/// <summary>
/// Puts the network boot programs the DHCP server hands out into the TFTP root, copied from the NBP source
/// (Debian's <c>/usr/lib/ipxe</c>). Copying, not linking: Debian's <c>ipxe.efi</c> is a symlink to
/// <c>/boot/ipxe.efi</c>, and the TFTP server rightly refuses symlinks that leave its root, so serving
/// <c>/usr/lib/ipxe</c> directly would break every UEFI client.
/// </summary>
public static partial class NbpStaging
{
    /// <returns>The files now present in <paramref name="root"/>.</returns>
    public static IReadOnlyList<string> Stage(string source, string root, IEnumerable<string> files, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(files);
        ArgumentNullException.ThrowIfNull(logger);
        Directory.CreateDirectory(root);
        var staged = new List<string>();
        foreach (var file in files.Distinct(StringComparer.Ordinal))
        {
            if (Follow(Path.Combine(source, file)) is not { } target)
            {
                if (!File.Exists(Path.Combine(root, file)))
                {
                    LogMissing(logger, file, source);
                }

                continue;
            }

            if (CopyIfChanged(target, file, root, logger))
            {
                staged.Add(file);
            }
        }

        return staged;
    }

    /// <summary>
    /// Copies the GRUB chains' binaries (signed shim and network GRUBs) into <paramref name="root"/> under the names the
    /// chain is asked by (<paramref name="files"/>: TFTP name → source path). A missing or unreadable one is one error
    /// line, not a failure of the node: machines on other chains boot as before.
    /// </summary>
    /// <returns>The names now present in <paramref name="root"/>.</returns>
    public static IReadOnlyList<string> StageSigned(string root, IReadOnlyDictionary<string, string> files, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(files);
        ArgumentNullException.ThrowIfNull(logger);
        Directory.CreateDirectory(root);
        var staged = new List<string>();
        foreach (var (name, source) in files)
        {
            if (Follow(source) is not { } target)
            {
                LogSignedMissing(logger, name, source);
                continue;
            }

            if (CopyIfChanged(target, name, root, logger))
            {
                staged.Add(name);
            }
        }

        return staged;
    }

    /// <summary>The file at <paramref name="path"/>, its symbolic links followed (Debian's ipxe.efi links into /boot), or null when there is none.</summary>
    private static FileInfo? Follow(string path)
    {
        var from = new FileInfo(path);
        try
        {
            return (from.ResolveLinkTarget(returnFinalTarget: true) as FileInfo ?? from) is { Exists: true } target ? target : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null; // a missing path (FileNotFoundException), or a link that cannot be followed
        }
    }

    /// <summary>Copies <paramref name="target"/> to <paramref name="root"/>/<paramref name="name"/> unless the copy there has its size and time; false when that failed.</summary>
    private static bool CopyIfChanged(FileInfo target, string name, string root, ILogger logger)
    {
        var to = new FileInfo(Path.Combine(root, name));
        try
        {
            if (!to.Exists || to.Length != target.Length || to.LastWriteTimeUtc != target.LastWriteTimeUtc)
            {
                Directory.CreateDirectory(to.DirectoryName!);
                File.Copy(target.FullName, to.FullName, overwrite: true);
                File.SetLastWriteTimeUtc(to.FullName, target.LastWriteTimeUtc);
                LogCopied(logger, name, target.FullName, root);
            }

            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogCopyFailed(logger, e, name, root);
            return false;
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "tftp: GRUB chain: {File} not staged, {Source} does not exist: machines whose profile has boot-chain = shim or grub and needs it cannot boot (install shim-signed / grub-efi-amd64-signed / grub-efi-arm64-signed, or set provisioner.edge.tftp.secure-boot.shim / .grub / .grub-arm64)")]
    private static partial void LogSignedMissing(ILogger logger, string file, string source);

    [LoggerMessage(Level = LogLevel.Warning, Message = "tftp: boot file {File} not found in {Source}: clients that need it get no boot (install the ipxe package or set provisioner.edge.tftp.nbp-source)")]
    private static partial void LogMissing(ILogger logger, string file, string source);

    [LoggerMessage(Level = LogLevel.Information, Message = "tftp: staged {File} from {From} into {Root}")]
    private static partial void LogCopied(ILogger logger, string file, string from, string root);

    [LoggerMessage(Level = LogLevel.Warning, Message = "tftp: could not stage {File} into {Root}")]
    private static partial void LogCopyFailed(ILogger logger, Exception e, string file, string root);
}
