using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using Provisioner.Domain.Machines;

namespace Provisioner.Domain.Profiles;

/// <summary>
/// Per-machine unguessable tokens for <c>/ks/&lt;token&gt;</c>, <c>/phone-home/&lt;token&gt;</c> and <c>/booted/&lt;token&gt;</c>.
/// A token is base32(MAC ‖ first 10 bytes of HMAC-SHA256(secret, MAC)): 16 bytes, 26 lower-case characters.
/// The MAC travels inside the token and is authenticated by the MAC tag, so verification is stateless and works
/// on every edge node that shares the secret; without the secret a token for another MAC cannot be made
/// (80-bit tag), so one machine cannot read another's kickstart.
/// </summary>
public sealed class KickstartTokens
{
    public const int MinimumSecretLength = 32;

    private const int MacLength = 6;
    private const int TagLength = 10;
    private const int TokenBytes = MacLength + TagLength;
    private const string Alphabet = "abcdefghijklmnopqrstuvwxyz234567";

    private readonly byte[] secret;

    private KickstartTokens(byte[] secret) => this.secret = secret;

    /// <summary>The length of every token this class issues.</summary>
    public static int TokenLength => ((TokenBytes * 8) + 4) / 5;

    /// <summary>From the node's secret (at least <see cref="MinimumSecretLength"/> bytes; the array is copied).</summary>
    public static KickstartTokens FromSecret(byte[] secret)
    {
        ArgumentNullException.ThrowIfNull(secret);
        if (secret.Length < MinimumSecretLength)
        {
            throw new ArgumentException($"the token secret must be at least {MinimumSecretLength} bytes", nameof(secret));
        }

        return new KickstartTokens((byte[])secret.Clone());
    }

    public string Issue(MachineId mac)
    {
        Span<byte> token = stackalloc byte[TokenBytes];
        WriteMac(mac, token[..MacLength]);
        Tag(token[..MacLength], token[MacLength..]);
        return Base32(token);
    }

    /// <summary>Checks the token in constant time with respect to the tag; false for anything malformed or forged.</summary>
    public bool TryVerify([NotNullWhen(true)] string? token, out MachineId mac)
    {
        mac = default;
        Span<byte> bytes = stackalloc byte[TokenBytes];
        if (token is null || token.Length != TokenLength || !TryDecodeBase32(token, bytes))
        {
            return false;
        }

        Span<byte> expected = stackalloc byte[TagLength];
        Tag(bytes[..MacLength], expected);
        if (!CryptographicOperations.FixedTimeEquals(expected, bytes[MacLength..]))
        {
            return false;
        }

        mac = MachineId.FromBytes(bytes[..MacLength]);
        return true;
    }

    private void Tag(ReadOnlySpan<byte> mac, Span<byte> destination)
    {
        Span<byte> hash = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(secret, mac, hash);
        hash[..destination.Length].CopyTo(destination);
    }

    private static void WriteMac(MachineId mac, Span<byte> destination)
    {
        var hex = mac.Value.Replace(":", string.Empty, StringComparison.Ordinal);
        if (hex.Length != MacLength * 2)
        {
            throw new ArgumentException("not a MAC address", nameof(mac));
        }

        Convert.FromHexString(hex, destination, out _, out _);
    }

    private static string Base32(ReadOnlySpan<byte> data)
    {
        var chars = new char[TokenLength];
        int buffer = 0, bits = 0, index = 0;
        foreach (var b in data)
        {
            buffer = (buffer << 8) | b;
            bits += 8;
            while (bits >= 5)
            {
                chars[index++] = Alphabet[(buffer >> (bits - 5)) & 31];
                bits -= 5;
            }
        }

        if (bits > 0)
        {
            chars[index] = Alphabet[(buffer << (5 - bits)) & 31];
        }

        return new string(chars);
    }

    private static bool TryDecodeBase32(string text, Span<byte> destination)
    {
        int buffer = 0, bits = 0, index = 0;
        foreach (var c in text)
        {
            var value = Alphabet.IndexOf(c, StringComparison.Ordinal);
            if (value < 0)
            {
                return false;
            }

            buffer = ((buffer << 5) | value) & 0xFFFF;
            bits += 5;
            if (bits >= 8)
            {
                if (index == destination.Length)
                {
                    return false;
                }

                destination[index++] = (byte)(buffer >> (bits - 8));
                bits -= 8;
            }
        }

        // 128 bits in 26 characters leave 2 padding bits, which must be zero (one spelling per token).
        return index == destination.Length && (buffer & ((1 << bits) - 1)) == 0;
    }
}
