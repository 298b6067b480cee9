namespace Provisioner.Protocols.Tests.Tftp;

/// <summary>
/// Golden TFTP packets. "Captured" ones were taken on this machine by scripts/lab/capture-tftp-golden.sh
/// (clients in one network namespace, tftpd-hpa 5.2 in another) and a test checks each against its pcap
/// in Golden/tftp; the EDK2 ones are reconstructed by hand and say so.
/// </summary>
internal static class TftpGolden
{
    // Captured: tftp-hpa 5.2 client, `tftp 10.99.0.1 -c get hello.txt` (tftp-hpa-netascii-get.pcap, datagram 1).
    // No options at all; tftp-hpa defaults to netascii mode.
    internal static readonly byte[] TftpHpaRrq =
    [
        /* opcode=1 RRQ */ 0x00, 0x01,
        /* filename="hello.txt" */ 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x2e, 0x74, 0x78, 0x74, 0x00,
        /* mode="netascii" (tftp-hpa default) */ 0x6e, 0x65, 0x74, 0x61, 0x73, 0x63, 0x69, 0x69, 0x00,
    ];

    // Captured: atftp 0.8, `atftp --option "blksize 1468" --option "tsize 0" --option "windowsize 4" -g -r hello.txt`
    // (atftp-options-get.pcap, datagram 1). atftp puts tsize first whatever the command-line order.
    internal static readonly byte[] AtftpRrq =
    [
        /* opcode=1 RRQ */ 0x00, 0x01,
        /* filename="hello.txt" */ 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x2e, 0x74, 0x78, 0x74, 0x00,
        /* mode="octet" */ 0x6f, 0x63, 0x74, 0x65, 0x74, 0x00,
        /* option name="tsize" */ 0x74, 0x73, 0x69, 0x7a, 0x65, 0x00,
        /* value="0" */ 0x30, 0x00,
        /* option name="blksize" */ 0x62, 0x6c, 0x6b, 0x73, 0x69, 0x7a, 0x65, 0x00,
        /* value="1468" */ 0x31, 0x34, 0x36, 0x38, 0x00,
        /* option name="windowsize" */ 0x77, 0x69, 0x6e, 0x64, 0x6f, 0x77, 0x73, 0x69, 0x7a, 0x65, 0x00,
        /* value="4" */ 0x34, 0x00,
    ];

    // Captured: atftp with the man page's own spelling `--option "tsize enable"` (atftp-tsize-enable-get.pcap,
    // datagram 1). atftp sends the word itself, tsize=enable; tftpd-hpa leaves it out of any OACK and sends DATA 1.
    internal static readonly byte[] AtftpTsizeEnableRrq =
    [
        /* opcode=1 RRQ */ 0x00, 0x01,
        /* filename="hello.txt" */ 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x2e, 0x74, 0x78, 0x74, 0x00,
        /* mode="octet" */ 0x6f, 0x63, 0x74, 0x65, 0x74, 0x00,
        /* option name="tsize" */ 0x74, 0x73, 0x69, 0x7a, 0x65, 0x00,
        /* value="enable" */ 0x65, 0x6e, 0x61, 0x62, 0x6c, 0x65, 0x00,
    ];

    // Captured: curl 7.88.1, `curl --tftp-blksize 1468 tftp://10.99.0.1/hello.txt` (curl-blksize-get.pcap, datagram 1).
    // curl asks for tsize and a timeout of 6 s on its own.
    internal static readonly byte[] CurlRrq =
    [
        /* opcode=1 RRQ */ 0x00, 0x01,
        /* filename="hello.txt" */ 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x2e, 0x74, 0x78, 0x74, 0x00,
        /* mode="octet" */ 0x6f, 0x63, 0x74, 0x65, 0x74, 0x00,
        /* option name="tsize" */ 0x74, 0x73, 0x69, 0x7a, 0x65, 0x00,
        /* value="0" */ 0x30, 0x00,
        /* option name="blksize" */ 0x62, 0x6c, 0x6b, 0x73, 0x69, 0x7a, 0x65, 0x00,
        /* value="1468" */ 0x31, 0x34, 0x36, 0x38, 0x00,
        /* option name="timeout" */ 0x74, 0x69, 0x6d, 0x65, 0x6f, 0x75, 0x74, 0x00,
        /* value="6" */ 0x36, 0x00,
    ];

    // Captured: tftpd-hpa 5.2 answering curl (curl-blksize-get.pcap, datagram 2): every option acknowledged.
    internal static readonly byte[] TftpdHpaOackToCurl =
    [
        /* opcode=6 OACK */ 0x00, 0x06,
        /* option name="tsize" */ 0x74, 0x73, 0x69, 0x7a, 0x65, 0x00,
        /* value="3000" */ 0x33, 0x30, 0x30, 0x30, 0x00,
        /* option name="blksize" */ 0x62, 0x6c, 0x6b, 0x73, 0x69, 0x7a, 0x65, 0x00,
        /* value="1468" */ 0x31, 0x34, 0x36, 0x38, 0x00,
        /* option name="timeout" */ 0x74, 0x69, 0x6d, 0x65, 0x6f, 0x75, 0x74, 0x00,
        /* value="6" */ 0x36, 0x00,
    ];

    // Captured: tftpd-hpa 5.2 answering atftp (atftp-options-get.pcap, datagram 2): windowsize is missing because
    // tftpd-hpa 5.2 predates RFC 7440; the capture then shows plain lock-step DATA/ACK.
    internal static readonly byte[] TftpdHpaOackToAtftp =
    [
        /* opcode=6 OACK */ 0x00, 0x06,
        /* option name="tsize" */ 0x74, 0x73, 0x69, 0x7a, 0x65, 0x00,
        /* value="3000" */ 0x33, 0x30, 0x30, 0x30, 0x00,
        /* option name="blksize" */ 0x62, 0x6c, 0x6b, 0x73, 0x69, 0x7a, 0x65, 0x00,
        /* value="1468" */ 0x31, 0x34, 0x36, 0x38, 0x00,
    ];

    // Captured: curl acknowledging the OACK with block 0 (curl-blksize-get.pcap, datagram 3).
    internal static readonly byte[] CurlAckOfOack =
    [
        /* opcode=4 ACK */ 0x00, 0x04,
        /* block=0 (acknowledges the OACK) */ 0x00, 0x00,
    ];

    // Captured: tftp-hpa, `tftp 10.99.0.1 -c get no-such-file.efi` (tftp-hpa-missing-file.pcap, datagram 1).
    internal static readonly byte[] TftpHpaMissingFileRrq =
    [
        /* opcode=1 RRQ */ 0x00, 0x01,
        /* filename="no-such-file.efi" */ 0x6e, 0x6f, 0x2d, 0x73, 0x75, 0x63, 0x68, 0x2d, 0x66, 0x69, 0x6c, 0x65, 0x2e, 0x65, 0x66, 0x69, 0x00,
        /* mode="netascii" */ 0x6e, 0x65, 0x74, 0x61, 0x73, 0x63, 0x69, 0x69, 0x00,
    ];

    // Captured: tftpd-hpa's answer (tftp-hpa-missing-file.pcap, datagram 2).
    internal static readonly byte[] TftpdHpaFileNotFound =
    [
        /* opcode=5 ERROR */ 0x00, 0x05,
        /* code=1 file not found */ 0x00, 0x01,
        /* message="File not found" */ 0x46, 0x69, 0x6c, 0x65, 0x20, 0x6e, 0x6f, 0x74, 0x20, 0x66, 0x6f, 0x75, 0x6e, 0x64, 0x00,
    ];

    // Captured: tftp-hpa then sends ACK 1 to the port the ERROR came from (tftp-hpa-missing-file.pcap,
    // datagram 3): a stray ACK after an ERROR, which a server must shrug off.
    internal static readonly byte[] TftpHpaAckAfterError =
    [
        /* opcode=4 ACK */ 0x00, 0x04,
        /* block=1 */ 0x00, 0x01,
    ];

    // RECONSTRUCTED, NOT CAPTURED: EDK2 (OVMF) PXE RRQ written by hand from the issue facts: tsize=0, blksize=1468,
    // windowsize=4 for ipxe.efi in octet mode, options in that order.
    internal static readonly byte[] Edk2Rrq =
    [
        /* opcode=1 RRQ */ 0x00, 0x01,
        /* filename="ipxe.efi" */ 0x69, 0x70, 0x78, 0x65, 0x2e, 0x65, 0x66, 0x69, 0x00,
        /* mode="octet" */ 0x6f, 0x63, 0x74, 0x65, 0x74, 0x00,
        /* option name="tsize" */ 0x74, 0x73, 0x69, 0x7a, 0x65, 0x00,
        /* value="0" */ 0x30, 0x00,
        /* option name="blksize" */ 0x62, 0x6c, 0x6b, 0x73, 0x69, 0x7a, 0x65, 0x00,
        /* value="1468" */ 0x31, 0x34, 0x36, 0x38, 0x00,
        /* option name="windowsize" */ 0x77, 0x69, 0x6e, 0x64, 0x6f, 0x77, 0x73, 0x69, 0x7a, 0x65, 0x00,
        /* value="4" */ 0x34, 0x00,
    ];

    // RECONSTRUCTED, NOT CAPTURED: EDK2's follow-up once the OACK gave it the size: ERROR 8 with Mtftp4's
    // text "User aborted the transfer" (the same text dnsmasq logs as "error 8 User aborted the transfer received").
    internal static readonly byte[] Edk2AbortAfterOack =
    [
        /* opcode=5 ERROR */ 0x00, 0x05,
        /* code=8 option negotiation / request denied */ 0x00, 0x08,
        /* message="User aborted the transfer" */ 0x55, 0x73, 0x65, 0x72, 0x20, 0x61, 0x62, 0x6f, 0x72, 0x74, 0x65, 0x64, 0x20, 0x74, 0x68, 0x65, 0x20, 0x74, 0x72, 0x61, 0x6e, 0x73, 0x66, 0x65, 0x72, 0x00,
    ];

    /// <summary>Every golden packet above, named, for table-driven tests.</summary>
    internal static IEnumerable<(string Name, byte[] Bytes)> All =>
    [
        (nameof(TftpHpaRrq), TftpHpaRrq),
        (nameof(AtftpRrq), AtftpRrq),
        (nameof(AtftpTsizeEnableRrq), AtftpTsizeEnableRrq),
        (nameof(CurlRrq), CurlRrq),
        (nameof(TftpdHpaOackToCurl), TftpdHpaOackToCurl),
        (nameof(TftpdHpaOackToAtftp), TftpdHpaOackToAtftp),
        (nameof(CurlAckOfOack), CurlAckOfOack),
        (nameof(TftpHpaMissingFileRrq), TftpHpaMissingFileRrq),
        (nameof(TftpdHpaFileNotFound), TftpdHpaFileNotFound),
        (nameof(TftpHpaAckAfterError), TftpHpaAckAfterError),
        (nameof(Edk2Rrq), Edk2Rrq),
        (nameof(Edk2AbortAfterOack), Edk2AbortAfterOack),
    ];
}
