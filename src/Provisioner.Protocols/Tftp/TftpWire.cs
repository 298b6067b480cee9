using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Provisioner.Protocols.Tftp;

/// <summary>
/// Byte-level helpers shared by the TFTP codecs. Strings (filenames, modes, option names and values, error
/// messages) are carried as Latin-1, one char per byte, so whatever a client sent survives a parse/write
/// round trip byte for byte; RFC 1350 says netascii, which is the ASCII subset.
/// </summary>
internal static class TftpWire
{
    public const byte Nul = 0;

    public static string ToLatin1String(ReadOnlySpan<byte> bytes) =>
        bytes.IsEmpty ? string.Empty : Encoding.Latin1.GetString(bytes);

    /// <summary>True when <paramref name="text"/> can be written losslessly as a TFTP string (Latin-1, no NUL).</summary>
    public static bool IsWireString(ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            if (c == '\0' || c > '\u00FF')
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Writes one char per byte; NUL and chars above U+00FF become '?' so framing can never break.</summary>
    public static void WriteSanitized(ReadOnlySpan<char> text, Span<byte> destination)
    {
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            destination[i] = c == '\0' || c > '\u00FF' ? (byte)'?' : (byte)c;
        }
    }

    public static void WriteOpcode(Span<byte> destination, TftpOpcode opcode) =>
        BinaryPrimitives.WriteUInt16BigEndian(destination, (ushort)opcode);

    /// <summary>ASCII case-insensitive comparison of wire bytes with a name (RFC 2347: option names ignore case).</summary>
    public static bool EqualsIgnoreCase(ReadOnlySpan<byte> bytes, ReadOnlySpan<char> name)
    {
        if (bytes.Length != name.Length)
        {
            return false;
        }

        for (var i = 0; i < bytes.Length; i++)
        {
            if (name[i] > '\u00FF' || FoldAscii(bytes[i]) != FoldAscii((byte)name[i]))
            {
                return false;
            }
        }

        return true;
    }

    private static byte FoldAscii(byte b) => b is >= (byte)'A' and <= (byte)'Z' ? (byte)(b | 0x20) : b;

    public static TftpMode ParseMode(ReadOnlySpan<byte> text) =>
        EqualsIgnoreCase(text, "octet") ? TftpMode.Octet
        : EqualsIgnoreCase(text, "netascii") ? TftpMode.NetAscii
        : EqualsIgnoreCase(text, "mail") ? TftpMode.Mail
        : TftpMode.Unknown;

    public static TftpMode ParseMode(string text) =>
        string.Equals(text, "octet", StringComparison.OrdinalIgnoreCase) ? TftpMode.Octet
        : string.Equals(text, "netascii", StringComparison.OrdinalIgnoreCase) ? TftpMode.NetAscii
        : string.Equals(text, "mail", StringComparison.OrdinalIgnoreCase) ? TftpMode.Mail
        : TftpMode.Unknown;

    public static string ModeText(TftpMode mode) => mode switch
    {
        TftpMode.NetAscii => "netascii",
        TftpMode.Octet => "octet",
        TftpMode.Mail => "mail",
        _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "Unknown has no wire text; pass the text itself."),
    };

    /// <summary>
    /// Option values are decimal: ASCII digits only, at least one, leading zeros allowed, no sign and no
    /// spaces (RFC 2348/2349/7440 say "ASCII string" of a number). Overflow is "not a number".
    /// </summary>
    public static bool TryParseDecimal(ReadOnlySpan<char> text, out long value)
    {
        value = 0;
        if (text.IsEmpty)
        {
            return false;
        }

        foreach (var c in text)
        {
            if (c is < '0' or > '9')
            {
                value = 0;
                return false;
            }

            if (value > (long.MaxValue - (c - '0')) / 10)
            {
                value = 0;
                return false;
            }

            value = (value * 10) + (c - '0');
        }

        return true;
    }

    public static string FormatDecimal(long value) => value.ToString(CultureInfo.InvariantCulture);
}
