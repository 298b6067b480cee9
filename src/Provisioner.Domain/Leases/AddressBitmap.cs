using System.Numerics;

namespace Provisioner.Domain.Leases;

/// <summary>
/// A set of IPv4 address values that only grows, as a sparse two-level bitmap: 64 addresses per word, and per 64 words
/// one summary word marking those that are full. Finding the first address not in the set from a starting point skips
/// full words 64 at a time and full summary words 4,096 addresses at a time, so a fully leased /12 pool (786,430
/// addresses) is crossed in under 200 steps, and adding an address allocates only when it opens a new 64-address word.
/// </summary>
internal sealed class AddressBitmap
{
    private readonly Dictionary<uint, ulong> _words = [];

    /// <summary>Bit i of summary s: word s * 64 + i is full.</summary>
    private readonly Dictionary<uint, ulong> _fullWords = [];

    public void Add(uint value)
    {
        var index = value >> 6;
        _words.TryGetValue(index, out var word);
        var bit = 1UL << (int)(value & 63);
        if ((word & bit) != 0)
        {
            return;
        }

        word |= bit;
        _words[index] = word;
        if (word == ulong.MaxValue)
        {
            _fullWords.TryGetValue(index >> 6, out var summary);
            _fullWords[index >> 6] = summary | (1UL << (int)(index & 63));
        }
    }

    /// <summary>The smallest value ≥ <paramref name="from"/> not in the set; null when every value up to 255.255.255.255 is.</summary>
    public uint? NextAbsent(uint from)
    {
        var index = from >> 6;
        while (true)
        {
            // Whole summary words of full words are skipped 4,096 addresses at a time.
            if (_fullWords.TryGetValue(index >> 6, out var summary) && summary != 0)
            {
                var fullFromHere = ~summary >> (int)(index & 63) == 0;
                if (fullFromHere)
                {
                    if ((index >> 6) == (uint.MaxValue >> 12))
                    {
                        return null;
                    }

                    index = ((index >> 6) + 1) << 6;
                    from = index << 6;
                    continue;
                }

                // The first word at or after index that is not full.
                index += (uint)BitOperations.TrailingZeroCount(~summary >> (int)(index & 63));
                from = Math.Max(from, index << 6);
            }

            _words.TryGetValue(index, out var word);
            var free = ~word & (ulong.MaxValue << (int)(from & 63));
            if (free != 0)
            {
                return (index << 6) | (uint)BitOperations.TrailingZeroCount(free);
            }

            if (index == uint.MaxValue >> 6)
            {
                return null;
            }

            index++;
            from = index << 6;
        }
    }
}
