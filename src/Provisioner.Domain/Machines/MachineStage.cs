namespace Provisioner.Domain.Machines;

/// <summary>
/// Where a machine is on its journey. Install stages are ordered: a report of an earlier or equal stage
/// than the current one is a retransmission or a late report and changes nothing.
/// </summary>
public enum MachineStage
{
    /// <summary>Never seen, or reprovisioned and waiting for its next PXE boot.</summary>
    New = 0,

    /// <summary>Its firmware asked for a boot (DHCP DISCOVER/REQUEST from a PXE client).</summary>
    Discovered = 1,

    /// <summary>The network boot program (iPXE) was downloaded over TFTP.</summary>
    NbpServed = 2,

    /// <summary>iPXE fetched the installer kernel.</summary>
    KernelFetched = 3,

    /// <summary>The installer fetched its kickstart.</summary>
    KickstartFetched = 4,

    /// <summary>The installer phoned home from %post: the disk holds an OS; never reinstall unless reprovisioned.</summary>
    Installed = 5,

    /// <summary>The machine booted its installed system: done.</summary>
    Rebooted = 6,

    /// <summary>Gave up (too many missed deadlines, or the installer reported a failure); waits for an operator.</summary>
    Failed = 7,
}

public static class MachineStages
{
    /// <summary>The stages during which an install is under way and a deadline runs.</summary>
    public static bool IsInstalling(this MachineStage stage) =>
        stage is MachineStage.Discovered or MachineStage.NbpServed or MachineStage.KernelFetched or MachineStage.KickstartFetched;
}
