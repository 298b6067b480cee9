using Provisioner.Protocols.Dhcp;

namespace Provisioner.Protocols.Tests.Dhcp;

/// <summary>The hot path's allocation budget, measured on this thread (GC.GetAllocatedBytesForCurrentThread).</summary>
public sealed class DhcpAllocationTests
{
    [Fact]
    public void Parsing_a_pxe_discover_allocates_one_copy_of_it_plus_a_small_fixed_overhead()
    {
        var bytes = DhcpGoldenPackets.IpxeBiosDiscover;
        Assert.True(DhcpPacket.TryParse(bytes, out _, out _)); // JIT and statics out of the measurement

        var before = GC.GetAllocatedBytesForCurrentThread();
        var parsed = DhcpPacket.TryParse(bytes, out var packet, out _);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // The 400-byte copy, the packet, its option list and a 10-entry backing array: no per-option allocation.
        Assert.True(parsed);
        Assert.Equal(10, packet!.Options.Count);
        Assert.InRange(allocated, bytes.Length, bytes.Length + 600);
    }

    [Fact]
    public void Reading_message_type_and_writing_into_a_caller_buffer_allocate_nothing()
    {
        Assert.True(DhcpPacket.TryParse(DhcpGoldenPackets.IpxeBiosDiscover, out var packet, out _));
        var buffer = new byte[1500];
        Assert.True(packet.TryWrite(buffer, out _));
        _ = packet.MessageType;

        var before = GC.GetAllocatedBytesForCurrentThread();
        var type = packet.MessageType;
        var wrote = packet.TryWrite(buffer, out var written);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(DhcpMessageType.Discover, type);
        Assert.True(wrote);
        Assert.Equal(400, written);
        Assert.Equal(0, allocated);
    }
}
