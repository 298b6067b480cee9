namespace Provisioner.Protocols.Tftp;

/// <summary>Why <see cref="TftpPacket.TryParse"/> rejected a datagram.</summary>
public enum TftpParseError
{
    /// <summary>Parsed.</summary>
    None = 0,

    /// <summary>Shorter than the opcode (2 bytes), or than opcode + block/error code (4 bytes) for DATA, ACK and ERROR.</summary>
    Truncated,

    /// <summary>Opcode 0 or above 6.</summary>
    UnknownOpcode,

    /// <summary>RRQ/WRQ whose filename has no terminating NUL.</summary>
    FileNameNotTerminated,

    /// <summary>RRQ/WRQ whose mode is missing or has no terminating NUL.</summary>
    ModeNotTerminated,

    /// <summary>An option name (NUL-terminated) with no value, or with a value lacking its NUL (RFC 2347).</summary>
    OptionValueMissing,

    /// <summary>
    /// Bytes that belong to no field: an unterminated option name after the last complete field, non-NUL bytes
    /// after NUL padding, or anything after an ACK's block number.
    /// </summary>
    TrailingBytes,

    /// <summary>DATA payload longer than 65464 bytes, the largest block size RFC 2348 allows.</summary>
    PayloadTooLarge,

    /// <summary>OACK carrying no option at all (RFC 2347: a server that accepts none answers without an OACK).</summary>
    NoOptions,
}
