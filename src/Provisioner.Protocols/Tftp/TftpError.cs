namespace Provisioner.Protocols.Tftp;

/// <summary>
/// An ERROR packet as owned values (RFC 1350 figure 5-4, drawn above <c>TftpPacket.ParseError</c>).
/// The message is written as Latin-1; NUL and chars above U+00FF go out as '?'.
/// </summary>
public sealed record TftpError
{
    /// <summary>Creates an error.</summary>
    public TftpError(TftpErrorCode code, string message)
    {
        ArgumentNullException.ThrowIfNull(message);
        Code = code;
        Message = message;
    }

    /// <summary>The error code.</summary>
    public TftpErrorCode Code { get; }

    /// <summary>Human-readable text for the peer's log.</summary>
    public string Message { get; }

    /// <summary>Bytes <see cref="TryWrite"/> needs.</summary>
    public int GetWrittenLength() => TftpWriter.GetErrorLength(Message);

    /// <summary>Writes the ERROR; false when <paramref name="destination"/> is too small.</summary>
    public bool TryWrite(Span<byte> destination, out int written) =>
        TftpWriter.TryWriteError(destination, Code, Message, out written);
}
