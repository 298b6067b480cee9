using System.Security.Cryptography;
using Provisioner.Domain.Profiles;

namespace Provisioner.Edge.Http;

/// <summary>
/// The secret behind <see cref="KickstartTokens"/>: 32 random bytes in <c>&lt;data-dir&gt;/token.key</c>, created with
/// mode 0600 on first start. Edge nodes that should accept each other's tokens share the file.
/// </summary>
public static class TokenSecret
{
    public const int Length = KickstartTokens.MinimumSecretLength;

    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Reads the key, creating it first if absent. Refuses a key of the wrong size or one readable by others.</summary>
    public static byte[] LoadOrCreate(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path))
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            var fresh = RandomNumberGenerator.GetBytes(Length);
            try
            {
                var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
                if (!OperatingSystem.IsWindows())
                {
                    options.UnixCreateMode = OwnerOnly;
                }

                using var stream = new FileStream(path, options);
                stream.Write(fresh);
                stream.Flush(flushToDisk: true);
                return fresh;
            }
            catch (IOException) when (File.Exists(path))
            {
                // Another process created it first: use theirs.
            }
        }

        if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(path) & ~(OwnerOnly | UnixFileMode.UserExecute)) != 0)
        {
            throw new InvalidOperationException($"{path} is readable by other users (mode {Convert.ToString((int)File.GetUnixFileMode(path), 8)}); chmod 600 it: whoever reads it can forge kickstart tokens");
        }

        var secret = File.ReadAllBytes(path);
        return secret.Length == Length
            ? secret
            : throw new InvalidOperationException($"{path} holds {secret.Length} bytes, expected {Length}; delete it to make a new one (outstanding kickstart URLs stop working)");
    }
}
