using System.Security.Cryptography;
using Provisioner.Lab.Tests.Support;

namespace Provisioner.Lab.Tests.Tftp;

/// <summary>tftp-hpa, atftp and curl against `provisioner serve` across a lab bridge (server and clients in their own namespaces).</summary>
[Collection(LabCollection.Name)]
public sealed class RealTftpClientTests
{
    private static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Real_clients_download_the_nbp_and_a_30_mb_file_byte_identical_and_escapes_are_refused()
    {
        await using var lab = await LabNetwork.CreateAsync(clients: 1);
        using var dir = new LabDirectory();
        var root = Path.Combine(dir.Path, "tftp");
        Directory.CreateDirectory(root);
        var big = new byte[30 * 1024 * 1024];
        new Random(42).NextBytes(big);
        await File.WriteAllBytesAsync(Path.Combine(root, "big.bin"), big);
        await using var node = await ProvisionerNode.StartAsync(lab, dir.Path);
        var client = lab.Clients[0];
        await lab.RunAsync(client, $"ip addr add 10.77.{lab.Subnet}.50/24 dev eth0");
        var server = lab.ServerAddress;
        var nbp = await File.ReadAllBytesAsync(Path.Combine(root, "undionly.kpxe")); // staged from /usr/lib/ipxe at start
        Assert.Equal(await File.ReadAllBytesAsync("/usr/lib/ipxe/undionly.kpxe"), nbp);

        var downloads = new (string Name, string Command, string File, byte[] Expected)[]
        {
            ("tftp-hpa nbp", $"tftp {server} -m binary -c get undionly.kpxe {{0}}", "undionly.kpxe", nbp),
            ("curl nbp blksize 1468", $"curl -sS --tftp-blksize 1468 tftp://{server}/undionly.kpxe -o {{0}}", "undionly.kpxe", nbp),
            ("atftp nbp", $"atftp -g -r undionly.kpxe -l {{0}} {server}", "undionly.kpxe", nbp),
            ("curl 30 MB lockstep 512", $"curl -sS tftp://{server}/big.bin -o {{0}}", "big.bin", big),
            ("curl 30 MB blksize 1468", $"curl -sS --tftp-blksize 1468 tftp://{server}/big.bin -o {{0}}", "big.bin", big),
            ("atftp 30 MB windowsize 8", $"atftp --option \"blksize 1468\" --option \"windowsize 8\" -g -r big.bin -l {{0}} {server}", "big.bin", big),
            ("atftp 30 MB windowsize 32", $"atftp --option \"blksize 1468\" --option \"windowsize 32\" -g -r big.bin -l {{0}} {server}", "big.bin", big),
        };

        var n = 0;
        foreach (var (name, command, _, expected) in downloads)
        {
            var target = Path.Combine(dir.Path, $"download-{n++}");
            var result = await lab.RunAsync(client, string.Format(System.Globalization.CultureInfo.InvariantCulture, command, target), ClientTimeout);
            Assert.True(File.Exists(target), $"{name}: no file (exit {result.ExitCode}) {result.Output} {result.Error}");
            var actual = await File.ReadAllBytesAsync(target);
            Assert.True(Convert.ToHexString(SHA256.HashData(expected)) == Convert.ToHexString(SHA256.HashData(actual)), $"{name}: content differs ({actual.Length} bytes)");
        }

        // Escapes: relative climb and a symlink inside the root pointing outside it.
        File.CreateSymbolicLink(Path.Combine(root, "passwd-link"), "/etc/passwd");
        foreach (var path in new[] { "../lab.conf", "passwd-link", "..\\\\lab.conf" })
        {
            var target = Path.Combine(dir.Path, $"escape-{n++}");
            var result = await lab.RunAsync(client, $"curl -sS tftp://{server}/{path} -o {target}", ClientTimeout);
            Assert.NotEqual(0, result.ExitCode);
            Assert.False(File.Exists(target) && new FileInfo(target).Length > 0, $"escape '{path}' was served");
        }

        Assert.Contains("refused", node.Log);
    }
}
