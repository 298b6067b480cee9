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
            var from = new FileInfo(Path.Combine(source, file));
            var target = from.ResolveLinkTarget(returnFinalTarget: true) as FileInfo ?? from;
            var to = new FileInfo(Path.Combine(root, file));
            if (!target.Exists)
            {
                if (!to.Exists)
                {
                    LogMissing(logger, file, source);
                }

                continue;
            }

            if (!to.Exists || to.Length != target.Length || to.LastWriteTimeUtc != target.LastWriteTimeUtc)
            {
                try
                {
                    File.Copy(target.FullName, to.FullName, overwrite: true);
                    File.SetLastWriteTimeUtc(to.FullName, target.LastWriteTimeUtc);
                    LogCopied(logger, file, target.FullName, root);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    LogCopyFailed(logger, e, file, root);
                    continue;
                }
            }

            staged.Add(file);
        }

        return staged;
    }

    /// <summary>
    /// Copies the Secure Boot chain's signed binaries into <paramref name="root"/> under the names the chain is asked by
    /// (<paramref name="files"/>: TFTP name → source path). A missing or unreadable one is one error line, not a failure
    /// of the node: machines on other chains boot as before.
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
            var from = new FileInfo(source);
            FileInfo? target;
            try
            {
                target = from.ResolveLinkTarget(returnFinalTarget: true) as FileInfo ?? from;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                target = null; // a missing path (FileNotFoundException), or a link that cannot be followed
            }

            if (target is not { Exists: true })
            {
                LogSignedMissing(logger, name, source);
                continue;
            }

            var to = new FileInfo(Path.Combine(root, name));
            try
            {
                if (!to.Exists || to.Length != target.Length || to.LastWriteTimeUtc != target.LastWriteTimeUtc)
                {
                    File.Copy(target.FullName, to.FullName, overwrite: true);
                    File.SetLastWriteTimeUtc(to.FullName, target.LastWriteTimeUtc);
                    LogCopied(logger, name, target.FullName, root);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                LogCopyFailed(logger, e, name, root);
                continue;
            }

            staged.Add(name);
        }

        return staged;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "tftp: Secure Boot chain: {File} not staged, {Source} does not exist: machines whose profile has boot-chain = shim cannot boot (install shim-signed / grub-efi-amd64-signed, or set provisioner.edge.tftp.secure-boot.shim / .grub)")]
    private static partial void LogSignedMissing(ILogger logger, string file, string source);

    [LoggerMessage(Level = LogLevel.Warning, Message = "tftp: boot file {File} not found in {Source}: clients that need it get no boot (install the ipxe package or set provisioner.edge.tftp.nbp-source)")]
    private static partial void LogMissing(ILogger logger, string file, string source);

    [LoggerMessage(Level = LogLevel.Information, Message = "tftp: staged {File} from {From} into {Root}")]
    private static partial void LogCopied(ILogger logger, string file, string from, string root);

    [LoggerMessage(Level = LogLevel.Warning, Message = "tftp: could not stage {File} into {Root}")]
    private static partial void LogCopyFailed(ILogger logger, Exception e, string file, string root);
}
