using System.Net;
using Provisioner.Protocols.Tftp;

namespace Provisioner.Edge.Tftp;

/// <summary>
/// Told about the end of every read request. The host maps the client address to a MAC and tells the
/// machine actor (<c>NbpServed</c>); the server only reports. Called on a thread-pool thread or a transfer's
/// own thread (<see cref="TftpServerOptions.DedicatedThreads"/>), possibly concurrently for different transfers;
/// must not block.
/// <para>
/// A transfer the client abandons by answering the OACK with an ERROR (EDK2's tsize probe: ERROR 8 "User
/// aborted the transfer", RFC 2347's way of refusing the negotiated options) is reported to neither method:
/// it is logged at Debug and the client asks again.
/// </para>
/// </summary>
public interface ITftpTransferObserver
{
    /// <summary>The client acknowledged the last block.</summary>
    void TransferCompleted(TftpTransferRecord record);

    /// <summary>The request was refused, timed out, or the client broke off mid-transfer.</summary>
    void TransferFailed(TftpTransferRecord record, string reason);
}

/// <summary>One read request as it ended.</summary>
/// <param name="Client">The client's address and port (its TID).</param>
/// <param name="RequestedFileName">The file name exactly as the client sent it (Latin-1).</param>
/// <param name="ResolvedFileName">The served file's path relative to the root ('/'-separated), or null when it was refused before resolving.</param>
/// <param name="BytesSent">File bytes the client acknowledged (the netascii-encoded length in netascii mode); retransmissions are not counted twice.</param>
/// <param name="Duration">From the request to the last acknowledgement, error or give-up.</param>
/// <param name="BlockSize">Negotiated block size (512 when not negotiated).</param>
/// <param name="WindowSize">Negotiated window size (1 when not negotiated).</param>
/// <param name="ClientError">The ERROR code the client ended the transfer with, null when it did not send one.</param>
public sealed record TftpTransferRecord(
    IPEndPoint Client,
    string RequestedFileName,
    string? ResolvedFileName,
    long BytesSent,
    TimeSpan Duration,
    int BlockSize,
    int WindowSize,
    TftpErrorCode? ClientError)
{
    /// <summary>True when the transfer ended because the client sent an ERROR.</summary>
    public bool EndedByClientError => ClientError is not null;
}

/// <summary>An observer that ignores everything.</summary>
public sealed class NullTftpTransferObserver : ITftpTransferObserver
{
    /// <summary>The shared instance.</summary>
    public static NullTftpTransferObserver Instance { get; } = new();

    /// <inheritdoc />
    public void TransferCompleted(TftpTransferRecord record)
    {
    }

    /// <inheritdoc />
    public void TransferFailed(TftpTransferRecord record, string reason)
    {
    }
}
