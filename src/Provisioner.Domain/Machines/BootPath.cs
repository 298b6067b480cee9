namespace Provisioner.Domain.Machines;

/// <summary>
/// How a machine's boot request reached us, and what firmware sent it: recorded with its
/// <see cref="MachineEvents.DiscoveredOnPath"/>, so an operator sees which relay (or none) and which firmware a machine
/// booted through. Strings only: the values are persisted inside that event.
/// </summary>
/// <param name="Via"><see cref="Local"/>, <see cref="Relayed"/> or <see cref="Proxied"/>.</param>
/// <param name="Relay">The relay agent's address (giaddr, RFC 2131 §4.1) when <paramref name="Via"/> is <see cref="Relayed"/>.</param>
/// <param name="Firmware"><see cref="Pxe"/>, <see cref="Ipxe"/> or <see cref="HttpBoot"/>.</param>
public sealed record BootPath(string Via, string? Relay, string Firmware)
{
    /// <summary>Broadcast on a segment the edge listens on.</summary>
    public const string Local = "local";

    /// <summary>Forwarded by a relay agent (giaddr set).</summary>
    public const string Relayed = "relay";

    /// <summary>Answered as a proxyDHCP server (PXE 2.1 §2.2.5: another server gave the address).</summary>
    public const string Proxied = "proxy";

    /// <summary>Option 60 <c>PXEClient</c>: PXE firmware (a NIC's ROM, EDK2's own PXE).</summary>
    public const string Pxe = "pxe";

    /// <summary>User class (option 77) <c>iPXE</c>.</summary>
    public const string Ipxe = "ipxe";

    /// <summary>Option 60 <c>HTTPClient</c>: UEFI HTTP boot (UEFI 2.5+ §24.7).</summary>
    public const string HttpBoot = "http";

    /// <summary>
    /// The firmware kind of a DHCP client: its user class says iPXE, or its option 60 starts <c>HTTPClient</c> (the
    /// packet's <c>DhcpOptions.IsHttpClient</c>, which owns that rule).
    /// </summary>
    public static string FirmwareOf(bool ipxe, bool httpClient) => ipxe ? Ipxe : httpClient ? HttpBoot : Pxe;

    /// <summary>As <c>machine show</c> prints it: <c>local segment</c>, <c>relay 10.78.5.1</c>, <c>proxy</c>.</summary>
    public string ViaText => Via switch
    {
        Local => "local segment",
        Relayed => Relay is null ? "relay" : $"relay {Relay}",
        _ => Via,
    };
}
