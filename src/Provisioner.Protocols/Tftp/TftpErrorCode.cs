namespace Provisioner.Protocols.Tftp;

/// <summary>
/// ERROR packet codes, RFC 1350 appendix ("Error Codes") plus 8 from RFC 2347. Codes outside 0–8 are
/// carried as they came (the cast value is simply not a named member): the code only informs a log line.
/// </summary>
public enum TftpErrorCode
{
    /// <summary>0: not defined, see the error message.</summary>
    NotDefined = 0,

    /// <summary>1: file not found.</summary>
    FileNotFound = 1,

    /// <summary>2: access violation.</summary>
    AccessViolation = 2,

    /// <summary>3: disk full or allocation exceeded.</summary>
    DiskFull = 3,

    /// <summary>4: illegal TFTP operation.</summary>
    IllegalOperation = 4,

    /// <summary>5: unknown transfer ID (a packet from a port that is not the peer's).</summary>
    UnknownTransferId = 5,

    /// <summary>6: file already exists.</summary>
    FileAlreadyExists = 6,

    /// <summary>7: no such user.</summary>
    NoSuchUser = 7,

    /// <summary>
    /// 8: terminate the transfer due to option negotiation (RFC 2347). EDK2 also sends it to abort after an
    /// OACK once it has learnt the file size ("User aborted the transfer").
    /// </summary>
    OptionNegotiationRefused = 8,
}
