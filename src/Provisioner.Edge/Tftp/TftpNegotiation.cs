using Provisioner.Protocols.Tftp;

namespace Provisioner.Edge.Tftp;

/// <summary>What a transfer will use, and the OACK that says so (null: no option accepted, DATA 1 at once).</summary>
/// <param name="BlockSize">Bytes per DATA block (RFC 2348; 512 when not negotiated).</param>
/// <param name="WindowSize">Blocks per window (RFC 7440; 1 is RFC 1350 lock-step).</param>
/// <param name="Timeout">Base retransmission timeout (RFC 2349, or the server's).</param>
/// <param name="Acknowledgement">The OACK to send first, or null.</param>
public sealed record TftpNegotiated(int BlockSize, int WindowSize, TimeSpan Timeout, TftpOptionAcknowledgement? Acknowledgement);

/// <summary>
/// RFC 2347 negotiation, pure: answer only the options we understand, each with the value we will use
/// (blksize and windowsize capped by the server's limits, tsize the real size, timeout as asked); none → no OACK.
/// </summary>
public static class TftpNegotiation
{
    /// <summary>Negotiates <paramref name="requested"/> for a file of <paramref name="length"/> bytes as sent (netascii: encoded).</summary>
    public static TftpNegotiated Negotiate(TftpOptions requested, long length, TftpServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(requested);
        ArgumentNullException.ThrowIfNull(options);
        var timeout = options.Timeout;
        var blockSize = requested.BlockSize is { } b ? Math.Min(b, options.MaxBlockSize) : (int?)null;
        long? transferSize = requested.TransferSize is not null ? length : null; // RFC 2349: an RRQ sends 0, the OACK carries the size
        int? timeoutSeconds = null;
        if (requested.TimeoutSeconds is { } t)
        {
            timeoutSeconds = t;
            timeout = TimeSpan.FromSeconds(t);
        }

        var windowSize = requested.WindowSize is { } w ? GrantedWindow(w, options) : (int?)null;
        var accepted = TftpOptions.Create(blockSize, transferSize, timeoutSeconds, windowSize);
        return new TftpNegotiated(
            blockSize ?? TftpOptions.DefaultBlockSize,
            windowSize ?? 1,
            timeout,
            accepted.Count == 0 ? null : new TftpOptionAcknowledgement(accepted));
    }

    private static int GrantedWindow(int requested, TftpServerOptions options) =>
        Math.Min(requested, Math.Min(options.MaxWindowSize, TftpServerOptions.WindowSizeLimit));
}
