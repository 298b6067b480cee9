using System.Text;
using Provisioner.Domain.Machines;

namespace Provisioner.Edge.Http;

/// <summary>The fixed iPXE scripts (the install script is rendered from the machine's profile).</summary>
public static class BootScripts
{
    /// <summary>
    /// An installed machine that PXE-boots again must not reinstall. Under BIOS, <c>sanboot --drive 0x80</c> boots the
    /// first local disk (INT 13h drive 0x80) directly, whatever the firmware's boot order; <c>--no-describe</c> keeps
    /// iPXE from publishing an iBFT/SAN description table for a disk that is not a SAN disk. UEFI firmware has no drive
    /// 0x80, so the sanboot fails and <c>exit</c> hands control back to the firmware, which tries its next boot entry
    /// (the installed system's). Plain <c>exit</c> alone is not enough under BIOS: many BIOSes then retry PXE forever.
    /// </summary>
    public static string LocalDisk(MachineId mac) => $"""
        #!ipxe
        # Provisioner: {mac} is installed; booting its local disk.
        echo Provisioner: {mac} is installed, booting the local disk
        sanboot --no-describe --drive 0x80 || exit

        """;

    public static string Failed(MachineId mac, string? reason) => $"""
        #!ipxe
        echo Provisioner: the install of {mac} failed: {Printable(reason ?? "no reason recorded")}
        echo Provisioner: an operator must run 'provisioner machine reprovision {mac}' to try again
        exit

        """;

    public static string NoProfile(MachineId mac, string reason) => $"""
        #!ipxe
        echo Provisioner: no install profile for {mac}: {Printable(reason)}
        exit

        """;

    public static string Unavailable(MachineId mac, string reason) => $"""
        #!ipxe
        echo Provisioner: cannot serve a boot script for {mac} now: {Printable(reason)}
        exit

        """;

    /// <summary>
    /// Text safe on an iPXE <c>echo</c> line: printable ASCII only (a line break would start a new command), and no
    /// '$' (iPXE expands <c>${…}</c> settings) or '#' (a comment to the end of the line in some versions).
    /// </summary>
    public static string Printable(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var builder = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            builder.Append(c is >= ' ' and <= '~' and not '$' and not '#' ? c : '?');
        }

        return builder.ToString();
    }
}
