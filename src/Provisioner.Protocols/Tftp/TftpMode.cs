namespace Provisioner.Protocols.Tftp;

/// <summary>Transfer mode of an RRQ/WRQ (RFC 1350 section 5). The wire text is matched case-insensitively.</summary>
public enum TftpMode
{
    /// <summary>
    /// Any other mode text. Parsing still succeeds so a server can answer with an ERROR (code 0 or 4) instead
    /// of staying silent while the client retries; <see cref="TftpRequest.ModeText"/> keeps the text.
    /// </summary>
    Unknown = 0,

    /// <summary>"netascii": RFC 764 text, CR LF for newline and CR NUL for a bare CR (see <see cref="NetasciiEncoder"/>).</summary>
    NetAscii = 1,

    /// <summary>"octet": raw bytes.</summary>
    Octet = 2,

    /// <summary>"mail": obsolete (RFC 1350 says it should not be implemented); parsed so a server can refuse it.</summary>
    Mail = 3,
}
