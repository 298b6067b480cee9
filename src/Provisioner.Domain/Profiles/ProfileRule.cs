using Provisioner.Domain.Machines;
using Provisioner.Protocols.Dhcp;

namespace Provisioner.Domain.Profiles;

/// <summary>One line of <c>rules.conf</c>; the first rule that matches a machine names its profile.</summary>
public abstract record ProfileRule(string Profile, string File, int Line)
{
    public abstract bool Matches(MachineId mac, IPv4Address? address);

    public abstract string Describe();
}

/// <summary><c>mac &lt;mac&gt; &lt;profile&gt; [boot-file=&lt;file&gt;]</c>: the boot file, if given, is what this machine's PXE firmware loads, whatever its architecture.</summary>
public sealed record MacRule(MachineId Mac, string Profile, string File, int Line, string? BootFile = null) : ProfileRule(Profile, File, Line)
{
    public override bool Matches(MachineId mac, IPv4Address? address) => mac == Mac;

    public override string Describe() => BootFile is null ? $"mac {Mac} {Profile}" : $"mac {Mac} {Profile} boot-file={BootFile}";
}

/// <summary><c>subnet &lt;cidr&gt; &lt;profile&gt;</c>: matches a machine whose address is known and inside the network.</summary>
public sealed record SubnetRule(Ipv4Cidr Network, string Profile, string File, int Line) : ProfileRule(Profile, File, Line)
{
    public override bool Matches(MachineId mac, IPv4Address? address) => address is { } a && Network.Contains(a);

    public override string Describe() => $"subnet {Network} {Profile}";
}

/// <summary><c>default &lt;profile&gt;</c>: matches every machine (so it belongs last).</summary>
public sealed record DefaultRule(string Profile, string File, int Line) : ProfileRule(Profile, File, Line)
{
    public override bool Matches(MachineId mac, IPv4Address? address) => true;

    public override string Describe() => $"default {Profile}";
}

/// <summary>The outcome of <see cref="ProfileCatalog.Resolve"/>: the profile (null when none applies) and why.</summary>
public sealed record ProfileResolution(Profile? Profile, string Reason);
