namespace Provisioner.Protocols.Dhcp;

/// <summary>The 'op' field (RFC 2131 §2, RFC 951).</summary>
public enum DhcpOpCode : byte
{
    BootRequest = 1,
    BootReply = 2,
}

/// <summary>Option 53 values (RFC 2132 §9.6).</summary>
public enum DhcpMessageType : byte
{
    Discover = 1,
    Offer = 2,
    Request = 3,
    Decline = 4,
    Ack = 5,
    Nak = 6,
    Release = 7,
    Inform = 8,
}

/// <summary>Which of the fixed 'file' / 'sname' fields carried options (option 52, RFC 2132 §9.3).</summary>
[Flags]
public enum DhcpOverload : byte
{
    None = 0,
    File = 1,
    ServerName = 2,
    Both = File | ServerName,
}

/// <summary>Why <see cref="DhcpPacket.TryParse"/> rejected a datagram. Only structure is judged, never content.</summary>
public enum DhcpParseError
{
    None = 0,

    /// <summary>Fewer than 240 bytes: 236 fixed BOOTP bytes (RFC 2131 §2) plus the magic cookie.</summary>
    TooShort,

    /// <summary>Bytes 236–239 are not 99.130.83.99 (RFC 2131 §3, RFC 2132 §2).</summary>
    BadMagicCookie,

    /// <summary>hlen is larger than the 16-byte chaddr field (RFC 2131 §2).</summary>
    BadHardwareAddressLength,

    /// <summary>An option's length byte is missing or its value runs past the end of its area (RFC 2132 §2).</summary>
    OptionTruncated,

    /// <summary>Option 52 is not exactly one byte of value 1, 2 or 3 (RFC 2132 §9.3).</summary>
    BadOverload,
}

/// <summary>
/// Client system architecture (option 93, RFC 4578 §2.1), values from the IANA "Processor Architecture
/// Types" registry, which corrected RFC 4578's table: 7 is x64 UEFI and 9 is EBC.
/// </summary>
public enum ClientArchitecture : ushort
{
    X86Bios = 0,
    Itanium = 2,
    X86Uefi = 6,
    X64Uefi = 7,
    EfiByteCode = 9,
    Arm32Uefi = 10,
    Arm64Uefi = 11,
    X86UefiHttp = 15,
    X64UefiHttp = 16,
    Arm32UefiHttp = 18,
    Arm64UefiHttp = 19,
    X86BiosHttp = 20,
    RiscV64Uefi = 27,
    RiscV64UefiHttp = 28,
}

/// <summary>DHCP option codes used by the typed accessors (RFC 2132 unless noted). Any other byte is a valid code too.</summary>
public enum DhcpOptionCode : byte
{
    Pad = 0,
    SubnetMask = 1,
    Router = 3,
    DomainNameServer = 6,
    HostName = 12,
    DomainName = 15,
    BroadcastAddress = 28,
    VendorSpecificInformation = 43,
    RequestedIPAddress = 50,
    LeaseTime = 51,
    Overload = 52,
    MessageType = 53,
    ServerIdentifier = 54,
    ParameterRequestList = 55,
    Message = 56,
    MaxMessageSize = 57,
    RenewalTime = 58,
    RebindingTime = 59,
    VendorClassIdentifier = 60,
    ClientIdentifier = 61,
    TftpServerName = 66,
    BootfileName = 67,

    /// <summary>RFC 3004.</summary>
    UserClass = 77,

    /// <summary>RFC 3046.</summary>
    RelayAgentInformation = 82,

    /// <summary>RFC 4578.</summary>
    ClientSystemArchitecture = 93,

    /// <summary>RFC 4578.</summary>
    ClientNetworkInterface = 94,

    /// <summary>RFC 4578.</summary>
    ClientMachineIdentifier = 97,

    /// <summary>RFC 3011.</summary>
    SubnetSelection = 118,

    /// <summary>iPXE encapsulated options (iPXE's include/ipxe/dhcp.h, DHCP_EB_ENCAP).</summary>
    IpxeEncapsulated = 175,

    End = 255,
}
