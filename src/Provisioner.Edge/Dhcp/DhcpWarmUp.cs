using System.Diagnostics;
using System.Runtime;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Provisioner.Cluster.Leases;
using Provisioner.Domain.Machines;
using Provisioner.Protocols.Dhcp;

namespace Provisioner.Edge.Dhcp;

/// <param name="Exchanges">DISCOVER/REQUEST pairs that ended in an ACK.</param>
/// <param name="Failed">Exchanges that did not (a timeout, no answer): the warm-up goes on, the node serves anyway.</param>
/// <param name="EventsForgotten">Events the warm-up subnet had in the journal when it was deleted (-1: the deletion failed).</param>
/// <param name="MethodsCompiled">Methods the JIT compiled while the warm-up ran, on every thread, tier-1 recompilations included.</param>
/// <param name="CompiledPerRound">Methods compiled during each settling round and until the compiler went idle, in order.</param>
/// <param name="SettlingEnded">What ended the settling rounds.</param>
public sealed record DhcpWarmUpReport(int Exchanges, int Failed, TimeSpan Took, long EventsForgotten, long MethodsCompiled = 0, IReadOnlyList<long>? CompiledPerRound = null, JitSettlingEnd SettlingEnded = JitSettlingEnd.NoRound)
{
    /// <summary>Rounds played: the first of all the exchanges asked for, then the settling ones (<see cref="JitSettling"/>).</summary>
    public int Passes => 1 + (CompiledPerRound?.Count ?? 0);

    /// <summary>A settling round after the first compiled fewer than <see cref="JitSettling.Quiet"/> methods.</summary>
    public bool Settled => SettlingEnded == JitSettlingEnd.Settled;

    /// <summary>How the settling ended, for the log.</summary>
    public string JitOutcome => SettlingEnded switch
    {
        JitSettlingEnd.Settled => "settled",
        JitSettlingEnd.RoundLimit => $"still compiling after {Passes - 1} rounds",
        JitSettlingEnd.TimeBound => "stopped at the time bound",
        _ => "no settling round",
    };
}

/// <summary>What ended the warm-up's settling rounds.</summary>
public enum JitSettlingEnd
{
    /// <summary>None completed: none was asked for, no exchange went through, or the time bound came first.</summary>
    NoRound = 0,
    Settled,
    RoundLimit,
    TimeBound,
}

/// <summary>
/// How the warm-up waits for the JIT. The runtime compiles a method quickly first and again, optimised, once it has been
/// called 30 times, on a background thread; but it starts counting calls only after 100 ms in which no new method was
/// compiled, which never happens while the first round runs. Without settling rounds a node's hot path was recompiled
/// during the first seconds of real traffic: 4,100-5,000 methods, a sixth of the node's CPU in a 12 s burst of
/// 4,000 new PXE machines/s (perf, scripts/bench/RESULTS.md "Sixteenth session").
/// </summary>
/// <param name="Exchanges">DORAs per settling round: enough that every method of the hot path is called 30 times.</param>
/// <param name="MaxPasses">Settling rounds at most (the warm-up's time bound holds as well).</param>
/// <param name="Quiet">A round that compiled fewer methods than this (during it and until the compiler went idle) ends the warm-up,
/// unless it is the first settling round: during that one the runtime may not have started counting calls yet, and it
/// then compiles nothing either. Not zero: the node's other work (the cluster, the read model) keeps compiling a few
/// hundred methods a second while it starts (seen per round on the bench node: 2,512/144/279/143/33/202/463/4).</param>
/// <param name="Pause">Idle time before a round (so that call counting starts) and the compiler's idle time that ends one.</param>
public sealed record JitSettling(int Exchanges, int MaxPasses, int Quiet, TimeSpan Pause)
{
    public static JitSettling Default { get; } = new(Exchanges: 400, MaxPasses: 8, Quiet: 200, Pause: TimeSpan.FromMilliseconds(200));

    /// <summary>No settling round: one pass of the exchanges asked for.</summary>
    public static JitSettling None { get; } = new(0, 0, 0, TimeSpan.Zero);
}

/// <summary>
/// Before a node opens its DHCP socket, it plays new PXE machines' DORA against itself: the same handler code, the same
/// lease actor code and the same journal writes as a rollout's first packets, on the <see cref="WarmUpSubnet"/>. A node
/// that has just started otherwise spends its first seconds loading, resolving and compiling that code while the first
/// real clients wait (measured: a fresh node lost 3-8 % of 4,000 new PXE machines/s, all in its first seconds; warmed,
/// none). The first round is followed by short settling rounds until the JIT has recompiled that code (see
/// <see cref="JitSettling"/>). Nothing here reaches a machine, a client or the address book: the handler is a private instance whose
/// machine port refuses every call (the scratch subnet hands no boot to any machine), its log goes nowhere, no packet
/// is sent, and the scratch subnet's journal is deleted at the end.
/// </summary>
public sealed partial class DhcpWarmUp
{
    /// <summary>The warm-up's relay agent: giaddr in the scratch subnet, so the handler selects it as it would a real one.</summary>
    private static readonly IPv4Address Relay = WarmUpSubnet.Definition.Router!.Value;

    private static readonly byte[] PxeVendorClass = "PXEClient:Arch:00000:UNDI:002001"u8.ToArray();

    private readonly DhcpServerOptions _options;
    private readonly DhcpHandler _handler;
    private readonly ILeaseGateway _leases;
    private readonly ILogger _logger;
    private readonly Func<long> _compiledMethods;

    /// <param name="leases">The lease gateway without side effects of its own (not the one that records addresses for TFTP and HTTP).</param>
    /// <param name="profileOf">As the real handler has it: which profile a machine gets (a pure lookup).</param>
    /// <param name="compiledMethods">Methods the JIT has compiled so far (a test's own count; default <see cref="JitInfo.GetCompiledMethodCount"/> of every thread).</param>
    public DhcpWarmUp(DhcpServerOptions options, ILeaseGateway leases, TimeProvider clock, IBootPolicy bootPolicy, Func<MachineId, IPv4Address?, string?>? profileOf, ILogger<DhcpWarmUp> logger, Func<long>? compiledMethods = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _compiledMethods = compiledMethods ?? (() => JitInfo.GetCompiledMethodCount(currentThread: false));
        _options = options with { Subnets = [WarmUpSubnet.Definition] };
        _leases = leases;
        _logger = logger;
        _handler = new DhcpHandler(_options, leases, NoMachines.Instance, clock, NullLogger<DhcpHandler>.Instance, profileOf, bootPolicy);
    }

    /// <summary>
    /// Plays <paramref name="exchanges"/> DORAs, <paramref name="concurrency"/> at a time, then settling rounds
    /// (<paramref name="settling"/>, default <see cref="JitSettling.Default"/>) until the JIT has little left to compile,
    /// all until done or <paramref name="within"/> has passed; then deletes the scratch subnet's journal. Never throws
    /// for a failed exchange or deletion (the node serves anyway; the report says what happened); only for cancellation.
    /// </summary>
    public async Task<DhcpWarmUpReport> RunAsync(int exchanges, int concurrency, TimeSpan within, CancellationToken cancellationToken, JitSettling? settling = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(exchanges);
        ArgumentOutOfRangeException.ThrowIfLessThan(concurrency, 1);
        settling ??= JitSettling.Default;
        var started = Stopwatch.GetTimestamp();
        var compiledAtStart = _compiledMethods();
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bound.CancelAfter(within);
        var tally = new Tally();
        await PlayAsync(0, exchanges, concurrency, tally, bound.Token).ConfigureAwait(false);

        var settled = false;
        var perRound = new List<long>();
        while (exchanges > 0 && tally.Done > 0 && perRound.Count < settling.MaxPasses && !bound.IsCancellationRequested)
        {
            var before = _compiledMethods();
            try
            {
                await Task.Delay(settling.Pause, bound.Token).ConfigureAwait(false);
                await PlayAsync(exchanges + (perRound.Count * settling.Exchanges), settling.Exchanges, concurrency, tally, bound.Token).ConfigureAwait(false);
                await CompilerIdleAsync(settling.Pause, bound.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (bound.IsCancellationRequested)
            {
                break;
            }

            perRound.Add(_compiledMethods() - before);
            if (perRound.Count >= 2 && perRound[^1] < settling.Quiet)
            {
                settled = true;
                break;
            }
        }

        var ended = settled ? JitSettlingEnd.Settled
            : perRound.Count == 0 ? JitSettlingEnd.NoRound
            : perRound.Count >= settling.MaxPasses ? JitSettlingEnd.RoundLimit
            : JitSettlingEnd.TimeBound;

        cancellationToken.ThrowIfCancellationRequested();

        long forgotten;
        try
        {
            using var forgetBound = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            forgetBound.CancelAfter(TimeSpan.FromSeconds(10));
            forgotten = await _leases.ForgetWarmUpAsync(forgetBound.Token).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // the scratch journal stays until the next start deletes it; said in the log
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
#pragma warning restore CA1031
        {
            LogForgetFailed(e);
            forgotten = -1;
        }

        return new DhcpWarmUpReport(tally.Done, tally.Failed, Stopwatch.GetElapsedTime(started), forgotten, _compiledMethods() - compiledAtStart, perRound, ended);
    }

    /// <summary>Exchanges that ended in an ACK and those that did not, counted by concurrent workers.</summary>
    private sealed class Tally
    {
        private int _done;
        private int _failed;

        public int Done => Volatile.Read(ref _done);

        public int Failed => Volatile.Read(ref _failed);

        public void Succeeded() => Interlocked.Increment(ref _done);

        /// <summary>True for the first failure of the whole warm-up (the one worth a log line).</summary>
        public bool FailedOnce() => Interlocked.Increment(ref _failed) == 1;
    }

    /// <summary>Exchanges <paramref name="first"/> .. first + count - 1 (each a new MAC), <paramref name="concurrency"/> at a time, until done or cancelled.</summary>
    private async Task PlayAsync(int first, int count, int concurrency, Tally tally, CancellationToken cancellationToken)
    {
        var next = first - 1;
        var end = first + count;
        var workers = Enumerable.Range(0, Math.Min(concurrency, Math.Max(count, 1))).Select(async _ =>
        {
            int i;
            while (!cancellationToken.IsCancellationRequested && (i = Interlocked.Increment(ref next)) < end)
            {
                try
                {
                    if (await ExchangeAsync(i, cancellationToken).ConfigureAwait(false))
                    {
                        tally.Succeeded();
                    }
                    else
                    {
                        tally.FailedOnce();
                    }
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    tally.FailedOnce();
                }
#pragma warning disable CA1031 // a warm-up exchange that fails costs the node nothing; it is counted and reported
                catch (Exception e)
#pragma warning restore CA1031
                {
                    if (tally.FailedOnce())
                    {
                        LogExchangeFailed(e);
                    }
                }
            }
        }).ToArray();
        await Task.WhenAll(workers).ConfigureAwait(false);
    }

    /// <summary>Returns once no method was compiled for <paramref name="quiet"/> (the background compiler has drained its queue).</summary>
    private async Task CompilerIdleAsync(TimeSpan quiet, CancellationToken cancellationToken)
    {
        var step = quiet / 4;
        var last = _compiledMethods();
        var since = Stopwatch.GetTimestamp();
        while (Stopwatch.GetElapsedTime(since) < quiet)
        {
            await Task.Delay(step, cancellationToken).ConfigureAwait(false);
            var now = _compiledMethods();
            if (now != last)
            {
                last = now;
                since = Stopwatch.GetTimestamp();
            }
        }
    }

    /// <summary>One relayed DORA of a new BIOS PXE machine, through the wire format both ways; true when it was ACKed.</summary>
    private async Task<bool> ExchangeAsync(int index, CancellationToken cancellationToken)
    {
        // Locally administered MACs (0e:...), never a real NIC's; no machine is ever asked about them.
        var mac = new byte[] { 0x0e, 0x77, 0x75, (byte)(index >> 16), (byte)(index >> 8), (byte)index };
        var discover = new DhcpPacket { TransactionId = (uint)index, RelayAgentAddress = Relay, Hops = 1 };
        discover.SetClientHardwareAddress(mac);
        discover.MessageType = DhcpMessageType.Discover;
        discover.Options.Set(DhcpOptionCode.VendorClassIdentifier, PxeVendorClass);
        discover.Options.Set(DhcpOptionCode.ClientSystemArchitecture, [0, 0]);
        var context = new DhcpReceiveContext(_options.Address, new System.Net.IPEndPoint(Relay.ToIPAddress(), _options.Port), Relayed: true);

        var offer = await RoundTripAsync(discover, context, cancellationToken).ConfigureAwait(false);
        if (offer is not { MessageType: DhcpMessageType.Offer })
        {
            return false;
        }

        var request = Reparse(discover);
        request.MessageType = DhcpMessageType.Request;
        request.Options.ServerIdentifier = _options.Address;
        request.Options.RequestedIPAddress = offer.YourAddress;
        var ack = await RoundTripAsync(request, context, cancellationToken).ConfigureAwait(false);
        return ack is { MessageType: DhcpMessageType.Ack };
    }

    /// <summary>The request as the server would read it off the wire, handled, and the reply as it would be written.</summary>
    private async Task<DhcpPacket?> RoundTripAsync(DhcpPacket request, DhcpReceiveContext context, CancellationToken cancellationToken)
    {
        var plan = await _handler.HandleAsync(Reparse(request), context, cancellationToken).ConfigureAwait(false);
        return plan is null ? null : Reparse(plan.Packet);
    }

    private static DhcpPacket Reparse(DhcpPacket packet) =>
        DhcpPacket.TryParse(packet.ToArray(), out var parsed, out var error)
            ? parsed
            : throw new InvalidOperationException($"warm-up packet does not parse: {error}");

    [LoggerMessage(Level = LogLevel.Warning, Message = "DHCP warm-up: an exchange failed (the node serves anyway; later failures are only counted)")]
    private partial void LogExchangeFailed(Exception e);

    [LoggerMessage(Level = LogLevel.Warning, Message = "DHCP warm-up: deleting the scratch subnet's journal failed; the next start deletes it")]
    private partial void LogForgetFailed(Exception e);

    /// <summary>The warm-up's machine port: every machine is new, and no machine is ever asked anything.</summary>
    private sealed class NoMachines : IMachineGateway
    {
        public static NoMachines Instance { get; } = new();

        public bool IsSurelyNew(MachineId machine) => true;

        public Task<MachineAnswer> ExecuteAsync(MachineId machine, MachineCommand command, CancellationToken cancellationToken) => Refuse<MachineAnswer>();

        public Task<MachineAnswer> PreviewBootAsync(MachineId machine, MachineCommands.RequestBoot request, CancellationToken cancellationToken) => Refuse<MachineAnswer>();

        public Task<MachineState> GetAsync(MachineId machine, CancellationToken cancellationToken) => Refuse<MachineState>();

        private static Task<T> Refuse<T>() => Task.FromException<T>(new InvalidOperationException("the DHCP warm-up asks no machine anything"));
    }
}
