using Provisioner.Edge.Tftp;
using Provisioner.Protocols.Tftp;

namespace Provisioner.Edge.Tests.Tftp;

public sealed class TftpPathResolverTests : IDisposable
{
    private readonly string _root;

    public TftpPathResolverTests()
    {
        var dir = Directory.CreateTempSubdirectory("tftp-root-").FullName;
        Directory.CreateDirectory(Path.Combine(dir, "efi", "boot"));
        File.WriteAllText(Path.Combine(dir, "efi", "boot", "bootx64.efi"), "x");
        File.WriteAllText(Path.Combine(dir, "ipxe.efi"), "x");
        File.CreateSymbolicLink(Path.Combine(dir, "loop1"), "loop2");
        File.CreateSymbolicLink(Path.Combine(dir, "loop2"), "loop1");
        File.CreateSymbolicLink(Path.Combine(dir, "up-and-back"), "../" + Path.GetFileName(dir) + "/ipxe.efi");
        _root = TftpPathResolver.GetRealRoot(dir);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Theory]
    [InlineData("ipxe.efi", "ipxe.efi")]
    [InlineData("/ipxe.efi", "ipxe.efi")]
    [InlineData("./ipxe.efi", "ipxe.efi")]
    [InlineData("efi//boot/./bootx64.efi", "efi/boot/bootx64.efi")]
    [InlineData("/efi/boot/bootx64.efi", "efi/boot/bootx64.efi")]
    [InlineData("up-and-back", "ipxe.efi")] // a link whose target leaves and re-enters the root by name
    public void Served_names_resolve_inside_the_root(string requested, string relative)
    {
        var result = TftpPathResolver.Resolve(_root, requested);

        Assert.True(result.Succeeded, result.Reason);
        Assert.Equal(relative, result.RelativePath);
        Assert.Equal(Path.Combine(_root, relative), result.FullPath);
    }

    [Theory]
    [InlineData("", TftpErrorCode.AccessViolation)]
    [InlineData("/", TftpErrorCode.AccessViolation)]
    [InlineData("//ipxe.efi", TftpErrorCode.AccessViolation)]
    [InlineData("efi/../ipxe.efi", TftpErrorCode.AccessViolation)]
    [InlineData("efi\\boot\\bootx64.efi", TftpErrorCode.AccessViolation)]
    [InlineData("ipxe.efi\u0001", TftpErrorCode.AccessViolation)]
    [InlineData("efi", TftpErrorCode.AccessViolation)]
    [InlineData("loop1", TftpErrorCode.AccessViolation)]
    [InlineData("missing.efi", TftpErrorCode.FileNotFound)]
    [InlineData("efi/missing/x", TftpErrorCode.FileNotFound)]
    public void Refused_names(string requested, TftpErrorCode code)
    {
        var result = TftpPathResolver.Resolve(_root, requested);

        Assert.False(result.Succeeded);
        Assert.Equal(code, result.Error);
        Assert.Null(result.FullPath);
    }
}
