using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Provisioner.Domain.Machines;
using Provisioner.Lab.Tests.Support;
using Provisioner.Protocols.Dhcp;
using Xunit.Abstractions;

namespace Provisioner.Lab.Tests.Durability;

/// <summary>
/// Issue 9's promise, "every lease durable before its ACK, and every machine's Discovered never lost", against the real
/// executable and a real crash: a DISCOVER commits nothing; a REQUEST of a machine new to the node makes the lease and
/// the machine's first boot durable in one subnet write and only then is the ACK sent; the machine records Discovered +
/// LeaseRecorded behind it, and after a crash the subnet hands it every first boot still pending. So whatever a client
/// was ACKed is, shortly after a restart on the same journal, Discovered with that lease, and whatever was only offered
/// leaves no trace.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class CrashTests(ITestOutputHelper output)
{
    /// <summary>The node is killed the moment this many ACKs have come back.</summary>
    private const int KillAfterAcks = 20;

    /// <summary>
    /// Machines whose REQUESTs go out in the same burst beyond <see cref="KillAfterAcks"/>: their writes are still in
    /// flight (queued in the same journal batches) when the node dies, so the kill lands mid-write, not on an idle node.
    /// </summary>
    private const int InFlight = 10;

    private const byte Booting = 1;
    private const byte OfferedOnly = 2;
    private const byte Newcomers = 3;

    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(15);

    /// <summary>How soon after the restart an ACKed machine must be Discovered with its lease (handed over by its subnet).</summary>
    private static readonly TimeSpan RepairBound = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Acked_pxe_machines_keep_their_lease_and_discovered_stage_after_kill_9()
    {
        var watch = Stopwatch.StartNew();
        await using var lab = await LabNetwork.CreateAsync(clients: 1);
        using var dir = new LabDirectory();
        var relay = IPAddress.Parse($"10.77.{lab.Subnet}.20");
        var added = await lab.RunAsync(lab.Clients[0], $"ip addr add {relay}/24 dev eth0");
        Assert.True(added.ExitCode == 0, $"adding the relay address: {added.Output}{added.Error}");
        using var dhcp = new RelayedDhcpClient(lab.Clients[0], relay, IPAddress.Parse(lab.ServerAddress));

        var booting = Enumerable.Range(0, KillAfterAcks + InFlight).Select(i => RelayedDhcpClient.Mac(Booting, i)).ToArray();
        var offeredOnly = RelayedDhcpClient.Mac(OfferedOnly, 0);
        var acked = new ConcurrentDictionary<string, IPv4Address>();
        var offered = new Dictionary<string, IPv4Address>();
        IPv4Address offeredOnlyAddress;
        string log;

        var node = await ProvisionerNode.StartAsync(lab, dir.Path);
        await using (node)
        {
            output.WriteLine($"{watch.Elapsed.TotalSeconds:0.0} s: node up (pid {node.ProcessId})");

            // Every machine is offered an address first (nothing committed yet), one machine never asks for its offer.
            var offers = await Task.WhenAll(booting.Select((mac, i) => dhcp.ExchangeAsync(dhcp.Discover(mac, Xid(Booting, i)))));
            for (var i = 0; i < booting.Length; i++)
            {
                var offer = offers[i];
                Assert.True(offer?.MessageType == DhcpMessageType.Offer, $"{Text(booting[i])}: no OFFER to its DISCOVER (got {offer?.ToString() ?? "nothing"})\n{ProvisionerNodeLog(node)}");
                offered[Text(booting[i])] = offer!.YourAddress;
            }

            Assert.Equal(booting.Length, offered.Values.Distinct().Count());
            var lonely = await dhcp.ExchangeAsync(dhcp.Discover(offeredOnly, Xid(OfferedOnly, 0)));
            Assert.True(lonely?.MessageType == DhcpMessageType.Offer, $"no OFFER to the offered-only machine (got {lonely?.ToString() ?? "nothing"})");
            offeredOnlyAddress = lonely!.YourAddress;
            Assert.DoesNotContain(offeredOnlyAddress, offered.Values);

            // All REQUESTs in one burst; kill -9 from the receive path of the KillAfterAcks-th ACK, with the rest in flight.
            var killed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var ackCount = 0;
            var naks = new ConcurrentBag<string>();
            using var afterCrash = new CancellationTokenSource();
            var requests = offers.Select(async offer =>
            {
                var reply = await dhcp.ExchangeAsync(dhcp.RequestFor(offer!), afterCrash.Token);
                var mac = Text(offer!.ClientHardwareAddress.ToArray());
                if (reply?.MessageType == DhcpMessageType.Ack)
                {
                    acked[mac] = reply.YourAddress;
                    if (Interlocked.Increment(ref ackCount) == KillAfterAcks)
                    {
                        node.Kill();
                        killed.SetResult();
                    }
                }
                else if (reply is not null)
                {
                    naks.Add($"{mac}: {reply}");
                }
            }).ToArray();

            await Task.WhenAny(killed.Task, Task.WhenAll(requests)).WaitAsync(Bound);
            Assert.True(killed.Task.IsCompleted, $"only {acked.Count} of {booting.Length} REQUESTs were ACKed, the node was never killed; other replies: {string.Join("; ", naks)}\n{ProvisionerNodeLog(node)}");
            var exit = await node.WaitForExitAsync(Bound);
            // ACKs the node sent before it died may still sit in the socket's buffer: read them, then stop retransmitting.
            await Task.Delay(500);
            await afterCrash.CancelAsync();
            await Task.WhenAll(requests).WaitAsync(Bound);
            log = node.Log;

            Assert.Equal(128 + 9, exit);
            Assert.Empty(naks);
            foreach (var (mac, address) in acked)
            {
                Assert.Equal(offered[mac], address);
            }

            output.WriteLine($"{watch.Elapsed.TotalSeconds:0.0} s: kill -9 after {KillAfterAcks} ACKs; {acked.Count} of {booting.Length} REQUESTs ACKed in all, exit {exit}");
        }

        await using var restarted = await ProvisionerNode.StartAsync(lab, dir.Path);
        output.WriteLine($"{watch.Elapsed.TotalSeconds:0.0} s: restarted on the same data directory (pid {restarted.ProcessId})");

        // Every ACKed machine: Discovered, holding the address it was ACKed, both facts in its history — rebuilt from the
        // subnet's journal within RepairBound of the restart if the machine had not written them before the crash.
        var problems = new List<string>();
        var repairDeadline = DateTime.UtcNow + RepairBound;
        while (true)
        {
            problems.Clear();
            foreach (var (mac, address) in acked.OrderBy(a => a.Key))
            {
                var (status, machine) = await restarted.GetMachineFromApiAsync(mac);
                if (machine is null)
                {
                    problems.Add($"{mac} was ACKed {address} but is unknown after the crash (HTTP {status})");
                }
                else if (machine.Stage != MachineStage.Discovered || machine.Address != address.ToString() || machine.Subnet != "lab"
                    || !machine.Events.Any(e => e.Type == "Discovered") || !machine.Events.Any(e => e.Type == "LeaseRecorded" && e.Detail.StartsWith(address + " ", StringComparison.Ordinal)))
                {
                    problems.Add($"{mac} was ACKed {address} but after the crash is {machine.Stage} at {machine.Address ?? "-"} in {machine.Subnet ?? "-"} ({string.Join(", ", machine.Events.Select(e => $"{e.Type} {e.Detail}"))})");
                }
            }

            if (problems.Count == 0 || DateTime.UtcNow > repairDeadline)
            {
                break;
            }

            await Task.Delay(250);
        }

        output.WriteLine($"{watch.Elapsed.TotalSeconds:0.0} s: every ACKed machine checked ({problems.Count} problems); the restarted node said: {string.Join(" | ", restarted.Log.Split('\n').Where(l => l.Contains("first boots granted since", StringComparison.Ordinal)))}");

        // Not ACKed when the node died: either nothing was written, or everything was (the lease first, then the
        // machine) — never a machine holding an address it did not ask for.
        var inFlightKept = 0;
        var inFlight = offered.Keys.Except(acked.Keys).Order().ToArray();
        foreach (var mac in inFlight)
        {
            var (status, machine) = await restarted.GetMachineFromApiAsync(mac);
            inFlightKept += machine is null ? 0 : 1;
            if (machine is not null && (machine.Stage != MachineStage.Discovered || machine.Address != offered[mac].ToString()))
            {
                problems.Add($"{mac} (REQUEST in flight at the crash) is {machine.Stage} at {machine.Address ?? "-"}, not unknown or Discovered at {offered[mac]}");
            }
            else if (machine is null && status != 404)
            {
                problems.Add($"{mac} (REQUEST in flight at the crash): HTTP {status}");
            }
        }

        output.WriteLine($"REQUESTs not ACKed when the node died: {inFlight.Length}, of which {inFlightKept} were durable anyway (machine written) and {inFlight.Length - inFlightKept} were not");

        // An OFFER commits nothing: the machine that only sent a DISCOVER was never seen.
        var ghost = await restarted.GetMachineFromApiAsync(Text(offeredOnly));
        if (ghost.Status != 404)
        {
            problems.Add($"{Text(offeredOnly)} only sent a DISCOVER, yet after the crash it is HTTP {ghost.Status}: {ghost.Machine?.Stage} ({string.Join(", ", ghost.Machine?.Events.Select(e => e.Type) ?? [])})");
        }

        Assert.True(problems.Count == 0, $"{problems.Count} problem(s) after kill -9 and restart:\n- {string.Join("\n- ", problems)}\n\nlog before the crash (tail):\n{Tail(log)}\n\nlog after the restart (tail):\n{Tail(restarted.Log)}");

        // The subnet still holds every ACKed lease: a new machine asking for one is NAKed (no offer can be holding it,
        // offers are not recovered, so only a durable lease can be the reason).
        var server = IPv4Address.Parse(lab.ServerAddress);
        var ackedAddresses = acked.Values.Order().ToArray();
        var thefts = await Task.WhenAll(ackedAddresses.Select((address, i) => dhcp.ExchangeAsync(dhcp.Request(RelayedDhcpClient.Mac(Newcomers, i), Xid(Newcomers, i), server, address))));
        foreach (var (address, reply) in ackedAddresses.Zip(thefts))
        {
            Assert.True(
                reply?.MessageType == DhcpMessageType.Nak && System.Text.Encoding.ASCII.GetString(reply.Options.Get((DhcpOptionCode)56)?.ToArray() ?? []).Contains("leased to another machine", StringComparison.Ordinal),
                $"a new machine asking for ACKed {address} after the crash got {reply?.ToString() ?? "nothing"} ({(reply?.Options.Get((DhcpOptionCode)56) is { } m ? System.Text.Encoding.ASCII.GetString(m.Span) : "-")}), not a NAK 'leased to another machine'");
        }

        // ...and holds nothing for the offer that was never requested: a new machine may take that address.
        var newcomer = RelayedDhcpClient.Mac(Newcomers, 1000);
        var taken = await dhcp.ExchangeAsync(dhcp.Request(newcomer, Xid(Newcomers, 1000), server, offeredOnlyAddress));
        Assert.True(taken?.MessageType == DhcpMessageType.Ack && taken.YourAddress == offeredOnlyAddress, $"the address only offered before the crash ({offeredOnlyAddress}) is not free after it: {taken?.ToString() ?? "nothing"}");

        // Every ACKed machine booting again is offered and ACKed the same address.
        var again = await Task.WhenAll(booting.Select((mac, i) => (Mac: mac, Index: i)).Where(m => acked.ContainsKey(Text(m.Mac))).Select(async m =>
        {
            var offer = await dhcp.ExchangeAsync(dhcp.Discover(m.Mac, Xid(Booting, 0x8000 + m.Index)));
            var ack = offer?.MessageType == DhcpMessageType.Offer ? await dhcp.ExchangeAsync(dhcp.RequestFor(offer)) : null;
            return (Mac: Text(m.Mac), Acked: acked[Text(m.Mac)], Offer: offer, Ack: ack);
        }));
        foreach (var (mac, address, offer, ack) in again)
        {
            Assert.True(offer?.MessageType == DhcpMessageType.Offer && offer.YourAddress == address, $"{mac} (ACKed {address} before the crash) booting again was offered {offer?.ToString() ?? "nothing"}");
            Assert.True(ack?.MessageType == DhcpMessageType.Ack && ack.YourAddress == address, $"{mac} (ACKed {address} before the crash) booting again got {ack?.ToString() ?? "nothing"}");
        }

        output.WriteLine($"{watch.Elapsed.TotalSeconds:0.0} s: {acked.Count} machines kept stage and lease, {acked.Count} thefts NAKed, the offered-only machine and address left no trace");
    }

    /// <summary>A distinct xid per machine and phase, so no reply can be taken for another exchange's.</summary>
    private static uint Xid(byte group, int index) => 0x7c000000u | ((uint)group << 16) | (uint)index;

    private static string Text(byte[] mac) => RelayedDhcpClient.MacText(mac);

    private static string ProvisionerNodeLog(ProvisionerNode node) => "node log (tail):\n" + Tail(node.Log);

    private static string Tail(string log)
    {
        var lines = log.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        return string.Join('\n', lines.Skip(Math.Max(0, lines.Length - 40)));
    }
}
