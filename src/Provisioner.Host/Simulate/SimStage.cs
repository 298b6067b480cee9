namespace Provisioner.Host.Simulate;

/// <summary>The steps of one simulated machine's boot, in the order a real machine takes them (DESIGN, "One machine's journey").</summary>
public enum SimStage
{
    /// <summary>The firmware's PXE DHCP: DISCOVER, OFFER, REQUEST, ACK naming the NBP.</summary>
    Dhcp,

    /// <summary>The firmware's TFTP download of the NBP (undionly.kpxe, ipxe.efi).</summary>
    Tftp,

    /// <summary>iPXE's own DHCP (user class iPXE), answered with the boot script's http:// URL.</summary>
    IpxeDhcp,

    /// <summary>iPXE's GET of its boot script.</summary>
    Script,

    /// <summary>iPXE's GET of the kernel the script names.</summary>
    Kernel,

    /// <summary>iPXE's GET of the initrd the script names.</summary>
    Initrd,

    /// <summary>The installer's GET of its kickstart (the script's <c>ks=</c>).</summary>
    Kickstart,

    /// <summary>%post's GET of the phone-home URL in the kickstart: the machine is Installed.</summary>
    PhoneHome,
}

public static class SimStages
{
    /// <summary>Every stage, in boot order.</summary>
    public static IReadOnlyList<SimStage> All { get; } = Enum.GetValues<SimStage>();

    /// <summary>The name a report uses: lower case, dashed.</summary>
    public static string Name(this SimStage stage) => stage switch
    {
        SimStage.Dhcp => "dhcp",
        SimStage.Tftp => "tftp",
        SimStage.IpxeDhcp => "ipxe-dhcp",
        SimStage.Script => "script",
        SimStage.Kernel => "kernel",
        SimStage.Initrd => "initrd",
        SimStage.Kickstart => "kickstart",
        SimStage.PhoneHome => "phone-home",
        _ => stage.ToString(),
    };
}
