using System.Net;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Provisioner.Domain.Boot;
using Provisioner.Domain.Machines;
using Provisioner.Domain.Profiles;
using Provisioner.Edge.Clients;
using Provisioner.Edge.Http;
using Provisioner.Edge.Outage;
using Provisioner.Edge.Tests.Http;
using Provisioner.Edge.Tests.Outage;
using Provisioner.Edge.Tftp;
using Provisioner.Protocols.Dhcp;
using Provisioner.Protocols.Tftp;

namespace Provisioner.Edge.Tests.Tftp;

/// <summary>
/// The Secure Boot chain's TFTP files, through a real server on loopback: <c>/grub/grub.cfg</c> rendered for the
/// machine whose lease holds the requesting address, the profile's kernel and initrd from the assets directory, and the
/// reports each completed transfer turns into.
/// </summary>
public sealed class GrubChainFilesTests : IDisposable
{
    private static readonly MachineId Mac = MachineId.Parse("52:54:00:77:00:5b");
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "grub-chain-" + Guid.NewGuid().ToString("N"));
    private readonly FakeMachineGateway _gateway = new();
    private readonly ClientAddressBook _addresses = new();
    private readonly byte[] _kernel = ServerScope.RandomBytes(40_000, 7);
    private readonly GrubChainFiles _files;
    private readonly KickstartTokens _tokens = KickstartTokens.FromSecret(Enumerable.Range(0, 32).Select(i => (byte)i).ToArray());

    public GrubChainFilesTests()
    {
        var config = Path.Combine(_dir, "config");
        Directory.CreateDirectory(Path.Combine(config, "profiles"));
        File.WriteAllText(Path.Combine(config, "rules.conf"), "default lab\n");
        File.WriteAllText(Path.Combine(config, "profiles", "lab.ks"), "url --url={{repo_url}}\n");
        File.WriteAllLines(Path.Combine(config, "profiles", "lab.profile"),
        [
            "kernel = lab/vmlinuz",
            "initrd = lab/initrd.img",
            "kernel-args = console=ttyS0",
            "repo-url = http://mirror.example/os",
            "kickstart = lab.ks",
            "root-password-hash = $6$salt$Gbr6Ap7Sp7mCq9kv9VnVVU3dExfYc1JrZ1rEnCrGkhkR5xbSYDmb3Dje4ROFQ6O9MDw0A6s4vhWQmh2Y5X0vS.",
            "boot-chain = shim",
        ]);
        Directory.CreateDirectory(Path.Combine(_dir, "assets", "lab"));
        File.WriteAllBytes(Path.Combine(_dir, "assets", "lab", "vmlinuz"), _kernel);
        File.WriteAllBytes(Path.Combine(_dir, "assets", "lab", "initrd.img"), [1, 2, 3]);
        File.WriteAllText(Path.Combine(_dir, "assets", "lab", "secret.txt"), "not a boot file");
        Catalog = ProfileCatalog.Load(config);
        Http = new BootHttpOptions
        {
            EdgeAddress = "10.77.3.1",
            Port = 8080,
            Listen = "http://10.77.3.1:8080",
            AssetsDirectory = Path.Combine(_dir, "assets"),
            ConfigDirectory = config,
            DataDirectory = _dir,
        };
        Policy = new BootPolicy(BootFileTable.Default, Http.BaseUrl);
        _files = new GrubChainFiles(_addresses, _gateway, Policy, Catalog, _tokens, Http, NullLogger<GrubChainFiles>.Instance);
    }

    private ProfileCatalog Catalog { get; }

    private BootHttpOptions Http { get; }

    private BootPolicy Policy { get; }

    [Fact]
    public async Task Grub_cfg_is_rendered_for_the_machine_leasing_the_requesting_address()
    {
        _addresses.Record(IPAddress.Loopback, Mac);
        _gateway.Set(Mac, MachineStage.NbpServed, address: "10.77.3.100");
        await using var scope = await ServerScope.StartAsync(virtualFiles: _files);

        var result = await TestTftpClient.GetAsync(scope.EndPoint, "/grub/grub.cfg", new TestClientBehaviour { Options = new TftpOptions([new TftpOption("tsize", "0")]) });
        await scope.DrainAsync();

        Assert.Null(result.Error);
        var expected = GrubChain.RenderInstall(Catalog.Find("lab")!, new BootTarget(Mac, BootTarget.DefaultHostname(Mac), IPv4Address.Parse("10.77.3.100"), Http.BaseUrl, _tokens.Issue(Mac)));
        Assert.Equal(expected, Encoding.UTF8.GetString(result.Data!));
        Assert.Contains($"ks=http://10.77.3.1:8080/ks/{_tokens.Issue(Mac)}", expected, StringComparison.Ordinal);
        Assert.Equal(Encoding.UTF8.GetByteCount(expected).ToString(System.Globalization.CultureInfo.InvariantCulture), result.Oack!.All.Single(o => o.Name == "tsize").Value);
        var record = Assert.Single(scope.Observer.Completed);
        Assert.Equal("grub/grub.cfg", record.ResolvedFileName);
    }

    [Fact]
    public async Task Installed_machine_gets_a_grub_cfg_that_returns_to_its_disk()
    {
        _addresses.Record(IPAddress.Loopback, Mac);
        _gateway.Set(Mac, MachineStage.Installed);
        await using var scope = await ServerScope.StartAsync(virtualFiles: _files);

        var result = await TestTftpClient.GetAsync(scope.EndPoint, "/grub/grub.cfg");

        Assert.Equal(GrubChain.RenderLocalDisk(Mac), Encoding.UTF8.GetString(result.Data!));
    }

    [Fact]
    public async Task Grub_cfg_asked_from_an_address_no_machine_leases_is_not_found()
    {
        await using var scope = await ServerScope.StartAsync(virtualFiles: _files);

        var result = await TestTftpClient.GetAsync(scope.EndPoint, "grub/grub.cfg");

        Assert.Equal(TftpErrorCode.FileNotFound, result.Error?.Code);
        Assert.Empty(_gateway.Commands);
    }

    [Fact]
    public async Task Profile_kernel_is_served_from_the_assets_directory_but_other_assets_are_not()
    {
        await using var scope = await ServerScope.StartAsync(virtualFiles: _files);

        var kernel = await TestTftpClient.GetAsync(scope.EndPoint, "/assets/lab/vmlinuz");
        var other = await TestTftpClient.GetAsync(scope.EndPoint, "/assets/lab/secret.txt");
        var escape = await TestTftpClient.GetAsync(scope.EndPoint, "/assets/lab/../lab/vmlinuz");

        Assert.Equal(_kernel, kernel.Data);
        Assert.Equal(TftpErrorCode.FileNotFound, other.Error?.Code);
        Assert.NotNull(escape.Error);
    }

    [Fact]
    public async Task Completed_transfers_are_reported_as_shim_served_grub_cfg_served_and_kernel_fetched()
    {
        _addresses.Record(IPAddress.Loopback, Mac);
        _gateway.Set(Mac, MachineStage.NbpServed, address: "10.77.3.100");
        _gateway.States[Mac] = _gateway.States[Mac] with { Profile = "lab", StageEnteredAt = DateTimeOffset.UtcNow.AddMinutes(-1) };
        using var outbox = new ReportOutbox(_gateway, new FakeCoreReachability(), new ReportOutboxOptions(), TimeProvider.System, NullLogger<ReportOutbox>.Instance);
        var reporter = new NbpReporter(outbox, _addresses, TimeProvider.System, NullLogger<NbpReporter>.Instance, Policy, _files);
        var client = new IPEndPoint(IPAddress.Loopback, 1234);

        reporter.TransferCompleted(new TftpTransferRecord(client, "shimx64.efi", "shimx64.efi", 10, TimeSpan.Zero, 512, 1, null));
        reporter.TransferCompleted(new TftpTransferRecord(client, "/grub/grub.cfg", "grub/grub.cfg", 10, TimeSpan.Zero, 512, 1, null));
        reporter.TransferCompleted(new TftpTransferRecord(client, "/assets/lab/vmlinuz", "assets/lab/vmlinuz", 10, TimeSpan.Zero, 512, 1, null));

        Assert.Equal("shimx64.efi", Assert.Single(await _gateway.SentEventuallyAsync<MachineCommands.ReportNbpServed>(Mac)).File);
        Assert.Equal("grub.cfg", Assert.Single(await _gateway.SentEventuallyAsync<MachineCommands.ReportBootScriptServed>(Mac)).Config);
        Assert.Equal("lab/vmlinuz", Assert.Single(await _gateway.SentEventuallyAsync<MachineCommands.ReportKernelFetched>(Mac)).Path);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

public sealed class SignedStagingTests
{
    [Fact]
    public void Missing_signed_binary_is_one_error_line_and_the_present_one_is_staged()
    {
        var dir = Path.Combine(Path.GetTempPath(), "signed-staging-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            var shim = Path.Combine(dir, "shimx64.efi.signed");
            File.WriteAllBytes(shim, [1, 2, 3]);
            var logger = new ListLogger<SignedStagingTests>();

            var staged = NbpStaging.StageSigned(Path.Combine(dir, "root"), new Dictionary<string, string>
            {
                ["shimx64.efi"] = shim,
                ["grubx64.efi"] = Path.Combine(dir, "no-such-grub.efi.signed"),
            }, logger);

            Assert.Equal(["shimx64.efi"], staged);
            Assert.Equal([1, 2, 3], File.ReadAllBytes(Path.Combine(dir, "root", "shimx64.efi")));
            var error = Assert.Single(logger.Entries, e => e.Level == Microsoft.Extensions.Logging.LogLevel.Error);
            Assert.Contains("grubx64.efi not staged", error.Message, StringComparison.Ordinal);
            Assert.Contains("no-such-grub.efi.signed does not exist", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Boot_files_are_staged_through_links_into_subdirectories_and_a_missing_one_is_a_warning_not_an_exception()
    {
        var dir = Path.Combine(Path.GetTempPath(), "prov-staging-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(dir, "source", "arm64"));
        try
        {
            File.WriteAllBytes(Path.Combine(dir, "real.efi"), [4, 5]);
            File.CreateSymbolicLink(Path.Combine(dir, "source", "ipxe.efi"), Path.Combine(dir, "real.efi"));
            File.WriteAllBytes(Path.Combine(dir, "source", "arm64", "grubaa64.efi"), [6]);
            var logger = new ListLogger<SignedStagingTests>();

            var staged = NbpStaging.Stage(Path.Combine(dir, "source"), Path.Combine(dir, "root"), ["ipxe.efi", "arm64/grubaa64.efi", "missing.efi"], logger);

            Assert.Equal(["ipxe.efi", "arm64/grubaa64.efi"], staged);
            Assert.Equal([4, 5], File.ReadAllBytes(Path.Combine(dir, "root", "ipxe.efi")));
            Assert.False(new FileInfo(Path.Combine(dir, "root", "ipxe.efi")).LinkTarget is not null, "a link was copied as a link");
            Assert.Equal([6], File.ReadAllBytes(Path.Combine(dir, "root", "arm64", "grubaa64.efi")));
            var warning = Assert.Single(logger.Entries, e => e.Level == Microsoft.Extensions.Logging.LogLevel.Warning);
            Assert.Contains("missing.efi not found", warning.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
