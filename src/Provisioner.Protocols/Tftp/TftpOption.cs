namespace Provisioner.Protocols.Tftp;

/// <summary>
/// One RFC 2347 option exactly as on the wire: a NUL-terminated name and a NUL-terminated value, both
/// Latin-1 text. Names compare case-insensitively (RFC 2347) in <see cref="TftpOptions"/>; this record
/// keeps the spelling the peer used so writing it back reproduces the same bytes.
/// </summary>
public readonly record struct TftpOption
{
    /// <summary>Creates an option. Neither part may contain NUL or a char above U+00FF (it could not be framed).</summary>
    public TftpOption(string name, string value)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(value);
        if (name.Length == 0 || !TftpWire.IsWireString(name))
        {
            throw new ArgumentException("An option name must be non-empty Latin-1 text without NUL.", nameof(name));
        }

        if (!TftpWire.IsWireString(value))
        {
            throw new ArgumentException("An option value must be Latin-1 text without NUL.", nameof(value));
        }

        Name = name;
        Value = value;
    }

    /// <summary>The option name as sent, e.g. "blksize" or "BLKSIZE".</summary>
    public string Name { get; }

    /// <summary>The option value as sent, e.g. "1468"; may be empty.</summary>
    public string Value { get; }

    /// <summary>True when <see cref="Name"/> equals <paramref name="name"/> ignoring ASCII case (RFC 2347).</summary>
    public bool Is(string name) => string.Equals(Name, name, StringComparison.OrdinalIgnoreCase);

    /// <inheritdoc />
    public override string ToString() => $"{Name}={Value}";
}
