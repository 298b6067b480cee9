using Provisioner.Protocols.Tftp;

namespace Provisioner.Edge.Tftp;

/// <summary>Which cap an RRQ was shed by.</summary>
public enum TftpShedCause
{
    /// <summary><see cref="TftpServerOptions.MaxTransfers"/> transfers were running.</summary>
    Global,

    /// <summary>The client's address had <see cref="TftpServerOptions.MaxTransfersPerClient"/> running.</summary>
    PerClient,
}

/// <summary>What to do with a request.</summary>
public enum TftpAdmissionOutcome
{
    /// <summary>Go on: resolve the name, open the file, then open a transfer socket.</summary>
    Admit,

    /// <summary>Answer with <see cref="TftpAdmissionDecision.Refusal"/> from the listening port; no transfer.</summary>
    Refuse,

    /// <summary>Drop unanswered and count it: the client retransmits and is served once a slot frees.</summary>
    Shed,
}

/// <summary>An ERROR to answer a request with, and why (for counters and the log).</summary>
/// <param name="Cause">The counted cause.</param>
/// <param name="Code">The ERROR code on the wire.</param>
/// <param name="Message">The ERROR message on the wire (fixed text: nothing from the request is echoed).</param>
/// <param name="Reason">Why, for the log.</param>
public sealed record TftpRefusal(TftpRefusalCause Cause, TftpErrorCode Code, string Message, string Reason)
{
    internal static readonly TftpRefusal WriteRequest = new(
        TftpRefusalCause.WriteRequest, TftpErrorCode.AccessViolation, "Access violation: this server is read-only", "write request (writes are not implemented)");

    internal static readonly TftpRefusal UnknownMode = new(
        TftpRefusalCause.UnknownMode, TftpErrorCode.IllegalOperation, "Unknown mode", "mode not supported");
}

/// <summary>The outcome of <see cref="TftpAdmission.Decide"/>.</summary>
/// <param name="Outcome">Admit, refuse or shed.</param>
/// <param name="Refusal">The ERROR, when refused.</param>
/// <param name="Shed">The cap, when shed.</param>
public readonly record struct TftpAdmissionDecision(TftpAdmissionOutcome Outcome, TftpRefusal? Refusal, TftpShedCause? Shed)
{
    internal static readonly TftpAdmissionDecision Admitted = new(TftpAdmissionOutcome.Admit, null, null);
}

/// <summary>
/// Whether a request may become a transfer, decided before anything is opened: no sockets, no files, no
/// clock. The server asks it for every request with the counts of running transfers, then resolves the name
/// (<see cref="ForPath"/>) and opens the file (<see cref="ForOpenFailure"/>) before it creates a socket.
/// <para>
/// Order: a WRQ or an unknown mode is refused whatever the load (the answer is an ERROR from the listening
/// port, which the refusal limiter bounds); an RRQ over a cap is shed, never refused, because PXE firmware
/// gives up the boot on an ERROR but retransmits an unanswered RRQ; only then is the name looked at.
/// </para>
/// </summary>
public static class TftpAdmission
{
    /// <summary>Decides for <paramref name="request"/>, given how many transfers run in all and for its client's address.</summary>
    public static TftpAdmissionDecision Decide(TftpRequest request, int running, int runningForClient, int maxTransfers, int maxTransfersPerClient)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Opcode == TftpOpcode.WriteRequest)
        {
            return new(TftpAdmissionOutcome.Refuse, TftpRefusal.WriteRequest, null);
        }

        if (request.Mode is not (TftpMode.Octet or TftpMode.NetAscii))
        {
            return new(TftpAdmissionOutcome.Refuse, TftpRefusal.UnknownMode, null);
        }

        if (running >= maxTransfers)
        {
            return new(TftpAdmissionOutcome.Shed, null, TftpShedCause.Global);
        }

        if (runningForClient >= maxTransfersPerClient)
        {
            return new(TftpAdmissionOutcome.Shed, null, TftpShedCause.PerClient);
        }

        return TftpAdmissionDecision.Admitted;
    }

    /// <summary>The refusal for a name the resolver did not accept; null when it may be opened.</summary>
    public static TftpRefusal? ForPath(TftpPathResolver.Result resolved)
    {
        if (resolved.Succeeded)
        {
            return null;
        }

        return resolved.Error == TftpErrorCode.FileNotFound
            ? new(TftpRefusalCause.FileNotFound, TftpErrorCode.FileNotFound, "File not found", resolved.Reason ?? "file not found")
            : new(TftpRefusalCause.AccessViolation, TftpErrorCode.AccessViolation, "Access violation", resolved.Reason ?? "access violation");
    }

    /// <summary>The refusal for a file that resolved but could not be opened (gone since, or unreadable); null when the exception is not about the file.</summary>
    public static TftpRefusal? ForOpenFailure(Exception exception) => exception switch
    {
        FileNotFoundException or DirectoryNotFoundException =>
            new(TftpRefusalCause.FileNotFound, TftpErrorCode.FileNotFound, "File not found", "file not found"),
        UnauthorizedAccessException or IOException =>
            new(TftpRefusalCause.Unreadable, TftpErrorCode.AccessViolation, "Access violation", "cannot open: " + exception.Message),
        _ => null,
    };
}
