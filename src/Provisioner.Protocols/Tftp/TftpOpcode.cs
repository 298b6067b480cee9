namespace Provisioner.Protocols.Tftp;

/// <summary>The first two bytes of every TFTP packet, big-endian (RFC 1350 section 5; OACK from RFC 2347).</summary>
public enum TftpOpcode
{
    /// <summary>RRQ: read request (RFC 1350).</summary>
    ReadRequest = 1,

    /// <summary>WRQ: write request (RFC 1350).</summary>
    WriteRequest = 2,

    /// <summary>DATA: one block of the file (RFC 1350).</summary>
    Data = 3,

    /// <summary>ACK: acknowledges a DATA block, or block 0 for an OACK / a WRQ (RFC 1350, RFC 2347).</summary>
    Acknowledgement = 4,

    /// <summary>ERROR: ends the transfer (RFC 1350).</summary>
    Error = 5,

    /// <summary>OACK: the options a server accepted (RFC 2347).</summary>
    OptionAcknowledgement = 6,
}
