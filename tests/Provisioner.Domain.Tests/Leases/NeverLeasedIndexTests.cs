using Provisioner.Domain.Leases;
using Provisioner.Protocols.Dhcp;

namespace Provisioner.Domain.Tests.Leases;

/// <summary>
/// <see cref="LeaseTableState.NextNeverBound"/>, the index a new machine's offer searches for a never-used address:
/// runs of leased addresses inside one 64-address word, across words, across whole 4,096-address blocks, and at the
/// top of the address space, always against a plain set as the oracle.
/// </summary>
public sealed class NeverLeasedIndexTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 7, 0, 0, 0, TimeSpan.Zero);

    private static LeaseTableState Leased(IEnumerable<uint> addresses)
    {
        var state = LeaseTableState.Empty("index");
        var i = 0;
        foreach (var a in addresses)
        {
            LeaseTable.Apply(state, new LeaseEvents.LeaseGranted(T0, $"02:00:00:{i >> 16 & 0xff:x2}:{i >> 8 & 0xff:x2}:{i & 0xff:x2}", new IPv4Address(a).ToString(), T0.AddHours(1)));
            i++;
        }

        return state;
    }

    private static uint? Oracle(HashSet<uint> bound, uint from)
    {
        var value = from;
        while (bound.Contains(value))
        {
            if (value == uint.MaxValue)
            {
                return null;
            }

            value++;
        }

        return value;
    }

    public static TheoryData<string, uint, uint> Runs() => new()
    {
        { "inside one word", 0x0A00_0005, 10 },
        { "to the end of a word", 0x0A00_0030, 16 },
        { "across two words", 0x0A00_0030, 40 },
        { "one whole block of 4,096 and a bit", 0x0A00_1000, 4096 + 70 },
        { "three blocks from mid-word", 0x0A00_0FF3, (3 * 4096) + 5 },
    };

    [Theory]
    [MemberData(nameof(Runs))]
    public void The_next_never_leased_address_matches_a_plain_set_from_every_start(string run, uint first, uint count)
    {
        var addresses = Enumerable.Range(0, (int)count).Select(i => first + (uint)i).ToArray();
        var state = Leased(addresses);
        var bound = addresses.ToHashSet();

        for (var from = first - 70; from <= first + count + 70; from++)
        {
            Assert.True(Oracle(bound, from) == state.NextNeverBound(from), $"{run}: from {new IPv4Address(from)}");
        }
    }

    [Fact]
    public void Scattered_leases_with_gaps_match_a_plain_set()
    {
        var random = new Random(20261207);
        var addresses = Enumerable.Range(0, 20_000).Select(_ => 0x0A40_0000u + (uint)random.Next(0, 16_384)).Distinct().ToArray();
        var state = Leased(addresses);
        var bound = addresses.ToHashSet();

        for (var from = 0x0A40_0000u - 100; from <= 0x0A40_0000u + 16_500; from++)
        {
            Assert.True(Oracle(bound, from) == state.NextNeverBound(from), $"from {new IPv4Address(from)}");
        }
    }

    [Fact]
    public void At_the_top_of_the_address_space_a_full_run_has_no_next_address()
    {
        var top = Enumerable.Range(0, 200).Select(i => uint.MaxValue - (uint)i).ToArray();
        var state = Leased(top);

        Assert.Null(state.NextNeverBound(uint.MaxValue - 150));
        Assert.Null(state.NextNeverBound(uint.MaxValue));
        Assert.Equal(uint.MaxValue - 200, state.NextNeverBound(uint.MaxValue - 200));
        Assert.Equal(uint.MaxValue - 250, state.NextNeverBound(uint.MaxValue - 250));
    }

    [Fact]
    public void Releasing_or_expiring_a_lease_keeps_the_address_used()
    {
        var state = Leased([0x0A00_000A]);
        LeaseTable.Apply(state, new LeaseEvents.LeaseReleased(T0.AddMinutes(1), "02:00:00:00:00:00", "10.0.0.10"));

        Assert.Equal(0x0A00_000Bu, state.NextNeverBound(0x0A00_000A));
    }
}
