using System.Collections.Frozen;
using Provisioner.Domain.Boot;
using Provisioner.Protocols.Dhcp;

namespace Provisioner.Domain.Tests.Boot;

public sealed class BootFileTableTests
{
    /// <summary>Every registry value Provisioner names, and some it does not: what a node with no boot-files configured serves.</summary>
    public static TheoryData<int, string?> Defaults { get; } = new()
    {
        { 0, "undionly.kpxe" },   // x86 BIOS
        { 2, null },              // Itanium
        { 6, null },              // x86 UEFI
        { 7, "ipxe.efi" },        // x64 UEFI
        { 9, "ipxe.efi" },        // EFI byte code (x64 UEFI before IANA's correction)
        { 10, null },             // ARM32 UEFI
        { 11, null },             // ARM64 UEFI
        { 15, null },             // x86 UEFI HTTP
        { 16, "ipxe.efi" },       // x64 UEFI HTTP: the x64 family's file, over HTTP
        { 18, null },             // ARM32 UEFI HTTP
        { 19, null },             // ARM64 UEFI HTTP
        { 20, null },             // x86 BIOS HTTP
        { 27, null },             // RISC-V 64 UEFI
        { 28, null },             // RISC-V 64 UEFI HTTP
        { 65535, null },          // unassigned
        { -1, null },             // no option 93 and no Arch: in option 60
    };

    [Theory]
    [MemberData(nameof(Defaults))]
    public void Default_table_serves_bios_and_x64_uefi_only(int architecture, string? expected) =>
        Assert.Equal(expected, BootFileTable.Default.For(architecture));

    [Fact]
    public void Default_table_names_every_client_architecture_the_protocol_knows()
    {
        var listed = Defaults.Select(row => (int)row[0]).ToHashSet();

        Assert.All(Enum.GetValues<ClientArchitecture>(), a => Assert.Contains((int)a, listed));
    }

    [Fact]
    public void Default_table_serves_nothing_outside_architectures_0_7_9_and_16()
    {
        var served = Enumerable.Range(0, ushort.MaxValue + 1).Where(a => BootFileTable.Default.For(a) is not null);

        Assert.Equal([0, 7, 9, 16], served);
    }

    [Theory]
    [InlineData(0, "bios.kpxe")]
    [InlineData(6, "x86.efi")]
    [InlineData(7, "x64.efi")]
    [InlineData(9, "x64.efi")]
    [InlineData(11, "arm64.efi")]
    [InlineData(10, null)]
    [InlineData(15, "x86.efi")]   // UEFI HTTP boot: the same CPU's family
    [InlineData(16, "x64.efi")]
    [InlineData(19, "arm64.efi")]
    [InlineData(18, null)]
    [InlineData(20, null)]        // x86 BIOS HTTP: no family
    public void Each_family_serves_its_architectures(int architecture, string? expected)
    {
        var table = new BootFileTable("bios.kpxe", "x86.efi", "x64.efi", "arm64.efi");

        Assert.Equal(expected, table.For(architecture));
    }

    [Fact]
    public void A_family_set_to_none_serves_nothing()
    {
        var table = new BootFileTable(Bios: null, X64Uefi: null);

        Assert.Null(table.For(0));
        Assert.Null(table.For(7));
        Assert.Empty(table.TftpFiles);
    }

    [Theory]
    [InlineData(0, null)]                  // by number: none, over the BIOS family
    [InlineData(7, "snponly.efi")]         // by number, over the x64 family
    [InlineData(9, "ipxe.efi")]            // the x64 family still serves its other member
    [InlineData(10, "ipxe-arm32.efi")]     // by number, no family
    [InlineData(16, "http://10.0.0.2:8080/assets/ipxe.efi")]
    [InlineData(11, null)]
    public void By_architecture_entries_win_over_the_families(int architecture, string? expected)
    {
        var table = BootFileTable.Default with { ByArchitecture = ByArch((0, null), (7, "snponly.efi"), (10, "ipxe-arm32.efi"), (16, "http://10.0.0.2:8080/assets/ipxe.efi")) };

        Assert.Equal(expected, table.For(architecture));
    }

    [Fact]
    public void Files_are_the_default_nbps()
    {
        Assert.Equal(["undionly.kpxe", "ipxe.efi"], BootFileTable.Default.TftpFiles);
    }

    [Fact]
    public void Files_are_what_some_architecture_is_served_once_each_by_architecture_number()
    {
        var table = new BootFileTable("undionly.kpxe", "ipxe.efi", "ipxe.efi", "ipxe-arm64.efi")
        {
            ByArchitecture = ByArch((27, "ipxe-riscv64.efi"), (0, null), (10, "ipxe-arm32.efi"), (19, "ipxe-arm64.efi")),
        };

        // BIOS is overridden to none, so undionly.kpxe is not needed; ipxe.efi (6, 7, 9) and ipxe-arm64.efi (11, 19) once.
        Assert.Equal(["ipxe.efi", "ipxe-arm32.efi", "ipxe-arm64.efi", "ipxe-riscv64.efi"], table.TftpFiles);
    }

    [Fact]
    public void Files_leave_out_a_family_every_member_of_which_is_overridden()
    {
        var table = BootFileTable.Default with { ByArchitecture = ByArch((7, "snponly.efi"), (9, "snponly.efi")) };

        Assert.Equal(["undionly.kpxe", "snponly.efi"], table.TftpFiles);
    }

    [Fact]
    public void Files_leave_out_urls_named_for_http_boot_clients()
    {
        var table = BootFileTable.Default with { ByArchitecture = ByArch((16, "http://10.0.0.2:8080/assets/ipxe.efi"), (19, "https://mirror.example/ipxe-arm64.efi")) };

        Assert.Equal(["undionly.kpxe", "ipxe.efi"], table.TftpFiles);
    }

    [Fact]
    public void Tables_with_the_same_entries_are_equal()
    {
        var a = BootFileTable.Default with { ByArchitecture = ByArch((7, "snponly.efi"), (10, null)) };
        var b = BootFileTable.Default with { ByArchitecture = ByArch((10, null), (7, "snponly.efi")) };

        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.Equal(BootFileTable.Default, new BootFileTable());
    }

    [Theory]
    [InlineData(7, "ipxe.efi")]
    [InlineData(8, "snponly.efi")]
    [InlineData(7, null)]
    public void Tables_differing_in_one_entry_are_not_equal(int architecture, string? file)
    {
        var a = BootFileTable.Default with { ByArchitecture = ByArch((7, "snponly.efi")) };
        var b = BootFileTable.Default with { ByArchitecture = ByArch((architecture, file)) };

        Assert.NotEqual(a, b);
        Assert.NotEqual(a, BootFileTable.Default);
        Assert.NotEqual(BootFileTable.Default, BootFileTable.Default with { Arm64Uefi = "ipxe-arm64.efi" });
    }

    private static FrozenDictionary<int, string?> ByArch(params (int Architecture, string? File)[] entries) =>
        entries.ToFrozenDictionary(e => e.Architecture, e => e.File);
}
