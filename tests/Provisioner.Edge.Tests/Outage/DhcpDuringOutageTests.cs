using Microsoft.Extensions.Logging.Abstractions;
using Provisioner.Edge.Dhcp;
using Provisioner.Edge.Tests.Dhcp;
using Provisioner.Protocols.Dhcp;
using Provisioner.Protocols.Tests.Dhcp;
using static Provisioner.Edge.Tests.Dhcp.HandlerFixture;

namespace Provisioner.Edge.Tests.Outage;

/// <summary>
/// The DHCP handler over the lease memory, as an edge runs it: while no core is reachable an installer's or installed
/// system's DHCP client renews its lease and is ACKed at once; a PXE client and a DISCOVER get no answer, at once.
/// </summary>
public sealed class DhcpDuringOutageTests
{
    private sealed class Rig : IDisposable
    {
        public Rig(ILeaseGateway? inner = null)
        {
            Fixture = new HandlerFixture();
            Leases = new RememberingLeaseGateway(inner ?? Fixture.Leases, new RememberedLeases(100), Cores);
            Handler = new DhcpHandler(Fixture.Options, Leases, Fixture.Machines, Fixture.Clock, NullLogger<DhcpHandler>.Instance, bootPolicy: Fixture.Policy);
        }

        public HandlerFixture Fixture { get; }

        public FakeCoreReachability Cores { get; } = new();

        public RememberingLeaseGateway Leases { get; }

        public DhcpHandler Handler { get; }

        public Task<DhcpReplyPlan?> Handle(DhcpPacket request) =>
            Handler.HandleAsync(request, new DhcpReceiveContext(EdgeAddress, new System.Net.IPEndPoint(System.Net.IPAddress.Any, 68), !request.RelayAgentAddress.IsAny), CancellationToken.None);

        /// <summary>DISCOVER, OFFER, REQUEST, ACK with the cores reachable; the address granted.</summary>
        public async Task<IPv4Address> LeaseAsync(DhcpPacket discover)
        {
            var offer = Wire((await Handle(discover))!);
            var ack = Wire((await Handle(RequestFrom(discover, EdgeAddress, offer.YourAddress)))!);
            Assert.Equal(DhcpMessageType.Ack, ack.MessageType);
            return ack.YourAddress;
        }

        public void Dispose() => Leases.Dispose();
    }

    [Fact]
    public async Task An_installed_systems_renewal_during_an_outage_is_acked_with_what_is_left_of_its_lease_and_no_actor_is_asked()
    {
        using var rig = new Rig();
        var udhcpc = Parse(DhcpGoldenPackets.UdhcpcDiscover);
        var address = await rig.LeaseAsync(udhcpc);
        rig.Fixture.Clock.Advance(TimeSpan.FromMinutes(30));
        rig.Cores.CoresReachable = false;
        // Any ask now would fail the exchange: the lease actor and the machine actors are out of reach.
        rig.Fixture.Leases.Throw = new InvalidOperationException("the lease actor was asked during the outage");
        rig.Fixture.Machines.Delay = TimeSpan.FromHours(1);
        var machineAsks = rig.Fixture.Machines.Commands.Count + rig.Fixture.Machines.Previews.Count;

        var plan = await rig.Handle(RequestFrom(udhcpc, null, null, ciaddr: address)).WaitAsync(TimeSpan.FromSeconds(10));

        var ack = Wire(plan!);
        Assert.Equal(DhcpMessageType.Ack, ack.MessageType);
        Assert.Equal(address, ack.YourAddress);
        Assert.Equal(1800u, ack.Options.LeaseTimeSeconds); // the grant's own expiry: T0 + 1 h, half an hour from now
        Assert.Equal(900u, ack.Options.RenewalTimeSeconds);
        Assert.Equal(machineAsks, rig.Fixture.Machines.Commands.Count + rig.Fixture.Machines.Previews.Count);
        Assert.Equal(1, rig.Leases.RenewedFromMemory);
    }

    [Fact]
    public async Task An_installer_rebooting_into_its_remembered_address_during_an_outage_is_acked()
    {
        using var rig = new Rig();
        var dhclient = Parse(DhcpGoldenPackets.DhclientDiscover);
        var address = await rig.LeaseAsync(dhclient);
        rig.Fixture.Clock.Advance(TimeSpan.FromMinutes(10));
        rig.Cores.CoresReachable = false;

        // INIT-REBOOT: no ciaddr, option 50 names the address it remembers.
        var plan = await rig.Handle(RequestFrom(dhclient, null, address));

        Assert.Equal(DhcpMessageType.Ack, Wire(plan!).MessageType);
        Assert.Equal(3000u, Wire(plan!).Options.LeaseTimeSeconds);
    }

    [Fact]
    public async Task A_client_that_rebooted_and_discovers_during_an_outage_is_offered_and_acked_its_remembered_address()
    {
        using var rig = new Rig();
        var udhcpc = Parse(DhcpGoldenPackets.UdhcpcDiscover);
        var address = await rig.LeaseAsync(udhcpc);
        rig.Fixture.Clock.Advance(TimeSpan.FromMinutes(20));
        rig.Cores.CoresReachable = false;
        rig.Fixture.Leases.Throw = new InvalidOperationException("the lease actor was asked during the outage");

        // busybox udhcpc starts over with a DISCOVER (a new xid) naming the address it had.
        var again = Parse(DhcpGoldenPackets.UdhcpcDiscover);
        again.TransactionId ^= 0x77;
        again.Options.RequestedIPAddress = address;
        var offer = Wire((await rig.Handle(again))!);
        var ack = Wire((await rig.Handle(RequestFrom(again, EdgeAddress, offer.YourAddress)))!);

        Assert.Equal((DhcpMessageType.Offer, address, 2400u), (offer.MessageType, offer.YourAddress, offer.Options.LeaseTimeSeconds!.Value));
        Assert.Equal((DhcpMessageType.Ack, address, 2400u), (ack.MessageType, ack.YourAddress, ack.Options.LeaseTimeSeconds!.Value));
    }

    [Fact]
    public async Task A_pxe_client_that_discovers_during_an_outage_gets_no_offer_even_with_a_remembered_address()
    {
        using var rig = new Rig();
        var edk2 = Parse(DhcpGoldenPackets.Edk2PxeDiscover);
        await rig.LeaseAsync(edk2);
        rig.Fixture.Clock.Advance(TimeSpan.FromMinutes(5));
        rig.Cores.CoresReachable = false;
        rig.Fixture.Machines.Delay = TimeSpan.FromHours(1);
        var previews = rig.Fixture.Machines.Previews.Count;
        var again = Parse(DhcpGoldenPackets.Edk2PxeDiscover);
        again.TransactionId ^= 0x77;

        var plan = await rig.Handle(again).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Null(plan);
        Assert.Equal(previews, rig.Fixture.Machines.Previews.Count);
    }

    [Fact]
    public async Task A_pxe_client_during_an_outage_gets_no_answer_and_nothing_waits_for_its_machine()
    {
        using var rig = new Rig();
        var edk2 = Parse(DhcpGoldenPackets.Edk2PxeDiscover);
        var address = await rig.LeaseAsync(edk2);
        rig.Cores.CoresReachable = false;
        rig.Fixture.Machines.Delay = TimeSpan.FromHours(1);
        var commands = rig.Fixture.Machines.Commands.Count;

        var plan = await rig.Handle(RequestFrom(edk2, null, address)).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Null(plan);
        Assert.Equal(commands, rig.Fixture.Machines.Commands.Count);
    }

    [Fact]
    public async Task A_discover_during_an_outage_gets_no_answer_at_once_although_the_lease_actor_would_never_answer()
    {
        var hanging = new ScriptedLeaseGateway { Hang = new TaskCompletionSource() };
        using var rig = new Rig(hanging);
        rig.Cores.CoresReachable = false;

        var udhcpc = rig.Handle(Parse(DhcpGoldenPackets.UdhcpcDiscover));
        var pxe = rig.Handle(Parse(DhcpGoldenPackets.Edk2PxeDiscover));

        Assert.True(udhcpc.IsCompleted && pxe.IsCompleted, "a DISCOVER waited during the outage");
        Assert.Null(await udhcpc);
        Assert.Null(await pxe);
        Assert.Empty(hanging.Calls);
        Assert.Empty(rig.Fixture.Machines.Previews);
    }

    [Fact]
    public async Task A_client_asking_for_an_address_it_was_never_granted_here_gets_no_answer_not_a_nak()
    {
        using var rig = new Rig();
        var udhcpc = Parse(DhcpGoldenPackets.UdhcpcDiscover);
        var address = await rig.LeaseAsync(udhcpc);
        rig.Cores.CoresReachable = false;

        var other = await rig.Handle(RequestFrom(udhcpc, null, null, ciaddr: IPv4Address.Parse("10.0.0.77")));
        rig.Fixture.Clock.Advance(TimeSpan.FromHours(2));
        var expired = await rig.Handle(RequestFrom(udhcpc, null, null, ciaddr: address));

        Assert.Null(other);
        Assert.Null(expired);
    }
}
