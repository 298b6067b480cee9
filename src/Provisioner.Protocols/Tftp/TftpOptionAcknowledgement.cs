namespace Provisioner.Protocols.Tftp;

/// <summary>
/// An OACK (RFC 2347; layout drawn above <c>TftpPacket.ParseOptionAck</c>): the options the server accepted,
/// each with the value it will use. RFC 2347: it may only hold options the client asked for; a server
/// that accepts none sends no OACK, hence at least one option.
/// </summary>
public sealed record TftpOptionAcknowledgement
{
    /// <summary>Creates an OACK; <paramref name="options"/> must not be empty.</summary>
    public TftpOptionAcknowledgement(TftpOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Count == 0)
        {
            throw new ArgumentException("An OACK carries at least one option (RFC 2347).", nameof(options));
        }

        Options = options;
    }

    /// <summary>The accepted options.</summary>
    public TftpOptions Options { get; }

    /// <summary>Bytes <see cref="TryWrite"/> needs.</summary>
    public int GetWrittenLength() => 2 + Options.GetWrittenLength();

    /// <summary>Writes the OACK; false when <paramref name="destination"/> is too small.</summary>
    public bool TryWrite(Span<byte> destination, out int written)
    {
        written = 0;
        if (destination.Length < GetWrittenLength())
        {
            return false;
        }

        TftpWire.WriteOpcode(destination, TftpOpcode.OptionAcknowledgement);
        Options.TryWrite(destination[2..], out var optionBytes);
        written = 2 + optionBytes;
        return true;
    }
}
