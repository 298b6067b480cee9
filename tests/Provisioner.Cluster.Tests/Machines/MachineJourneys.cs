using Provisioner.Domain.Machines;
using static Provisioner.Domain.Machines.MachineCommands;

namespace Provisioner.Cluster.Tests.Machines;

/// <summary>Command sequences that take a machine through real journeys, with explicit times.</summary>
public static class MachineJourneys
{
    public static readonly DateTimeOffset T0 = new(2026, 11, 25, 10, 0, 0, TimeSpan.Zero);

    /// <summary>SeaBIOS + iPXE ROM: straight to HTTP, installed, PXE boots again and is sent to its disk.</summary>
    public static IReadOnlyList<MachineCommand> BiosInstallAndReboot() =>
    [
        new RequestBoot(T0, 0, true, "centos7"),
        new RequestBoot(T0.AddSeconds(1), 0, true, "centos7"), // retransmission
        new RecordLease(T0.AddSeconds(1), "10.0.0.10", "10.0.0.0/24"),
        new ReportBootScriptServed(T0.AddSeconds(2)),
        new ReportKernelFetched(T0.AddSeconds(3), "/assets/vmlinuz"),
        new ReportInitrdFetched(T0.AddSeconds(4), "/assets/initrd.img"),
        new ReportKickstartFetched(T0.AddSeconds(10)),
        new ReportInstalled(T0.AddSeconds(60)),
        new RequestBoot(T0.AddSeconds(70), 0, true, "centos7"),
    ];

    /// <summary>OVMF with EDK2's own PXE: TFTP stage, then iPXE, stopped half way.</summary>
    public static IReadOnlyList<MachineCommand> UefiUntilKernel() =>
    [
        new RequestBoot(T0, 7, false, "centos7"),
        new RecordLease(T0, "10.0.0.11", "10.0.0.0/24"),
        new ReportNbpServed(T0.AddSeconds(2), "ipxe.efi"),
        new RequestBoot(T0.AddSeconds(4), 7, true, "centos7"),
        new ReportBootScriptServed(T0.AddSeconds(5)),
        new ReportKernelFetched(T0.AddSeconds(6), "/assets/vmlinuz"),
    ];
}
