using System.Net;
using Provisioner.Edge.Tftp;
using Provisioner.Protocols.Tftp;

namespace Provisioner.Edge.Tests.Tftp;

/// <summary>The socket-free part: request + counts → admit, refuse with an ERROR, or shed.</summary>
public sealed class TftpAdmissionTests
{
    private static readonly TftpRequest Rrq = TftpRequest.Read("ipxe.efi", TftpMode.Octet);
    private static readonly IPEndPoint ClientA = new(IPAddress.Parse("10.0.0.1"), 2000);
    private static readonly IPEndPoint ClientAOtherPort = new(IPAddress.Parse("10.0.0.1"), 2001);
    private static readonly IPEndPoint ClientB = new(IPAddress.Parse("10.0.0.2"), 2000);

    [Fact]
    public void Write_request_is_refused_read_only_even_at_the_caps()
    {
        var decision = TftpAdmission.Decide(TftpRequest.Write("up.bin", TftpMode.Octet), 10, 10, 10, 10);

        Assert.Equal(TftpAdmissionOutcome.Refuse, decision.Outcome);
        Assert.Equal(TftpRefusalCause.WriteRequest, decision.Refusal!.Cause);
        Assert.Equal(TftpErrorCode.AccessViolation, decision.Refusal.Code);
    }

    [Fact]
    public void Unknown_mode_is_an_illegal_operation()
    {
        var decision = TftpAdmission.Decide(new TftpRequest(TftpOpcode.ReadRequest, "f", "mail"), 0, 0, 10, 2);

        Assert.Equal(TftpAdmissionOutcome.Refuse, decision.Outcome);
        Assert.Equal(TftpErrorCode.IllegalOperation, decision.Refusal!.Code);
    }

    [Theory]
    [InlineData(0, 0, TftpAdmissionOutcome.Admit, null)]
    [InlineData(9, 1, TftpAdmissionOutcome.Admit, null)]
    [InlineData(10, 0, TftpAdmissionOutcome.Shed, TftpShedCause.Global)]
    [InlineData(10, 2, TftpAdmissionOutcome.Shed, TftpShedCause.Global)]
    [InlineData(3, 2, TftpAdmissionOutcome.Shed, TftpShedCause.PerClient)]
    public void Rrq_is_admitted_under_both_caps_and_shed_at_either(int running, int forClient, TftpAdmissionOutcome outcome, TftpShedCause? cause)
    {
        var decision = TftpAdmission.Decide(Rrq, running, forClient, maxTransfers: 10, maxTransfersPerClient: 2);

        Assert.Equal(outcome, decision.Outcome);
        Assert.Equal(cause, decision.Shed);
        Assert.Null(decision.Refusal);
    }

    [Fact]
    public void Resolver_outcomes_map_to_not_found_and_access_violation()
    {
        Assert.Null(TftpAdmission.ForPath(new TftpPathResolver.Result("/r/f", "f", null, null)));
        Assert.Equal(TftpRefusalCause.FileNotFound, TftpAdmission.ForPath(new TftpPathResolver.Result(null, null, TftpErrorCode.FileNotFound, "file not found"))!.Cause);
        var escape = TftpAdmission.ForPath(new TftpPathResolver.Result(null, null, TftpErrorCode.AccessViolation, "'..' in file name"))!;
        Assert.Equal(TftpRefusalCause.AccessViolation, escape.Cause);
        Assert.Equal("Access violation", escape.Message); // the wire text never echoes the client's name
    }

    [Fact]
    public void Open_failures_map_to_not_found_and_unreadable_and_others_are_not_refusals()
    {
        Assert.Equal(TftpRefusalCause.FileNotFound, TftpAdmission.ForOpenFailure(new FileNotFoundException())!.Cause);
        Assert.Equal(TftpRefusalCause.Unreadable, TftpAdmission.ForOpenFailure(new UnauthorizedAccessException())!.Cause);
        Assert.Null(TftpAdmission.ForOpenFailure(new InvalidOperationException()));
    }

    [Fact]
    public void Table_admits_up_to_the_global_cap_then_sheds_until_a_slot_is_released()
    {
        var table = new TftpTransferTable();
        var ids = Enumerable.Range(1, 3)
            .Select(i => table.TryAdmit(new IPEndPoint(IPAddress.Parse($"10.0.1.{i}"), 69), Rrq, 3, 2, out var id) is { Outcome: TftpAdmissionOutcome.Admit } ? id : 0)
            .ToList();

        Assert.DoesNotContain(0L, ids);
        Assert.Equal(TftpShedCause.Global, table.TryAdmit(ClientB, Rrq, 3, 2, out var none).Shed);
        Assert.Equal(0, none);
        Assert.Equal(3, table.Count);

        table.Release(ids[0]);
        table.Release(ids[0]); // twice: no effect
        Assert.Equal(TftpAdmissionOutcome.Admit, table.TryAdmit(ClientB, Rrq, 3, 2, out _).Outcome);
        Assert.Equal(3, table.Count);
    }

    [Fact]
    public void Table_sheds_a_client_address_at_its_cap_whatever_its_port_and_not_another_address()
    {
        var table = new TftpTransferTable();
        Assert.Equal(TftpAdmissionOutcome.Admit, table.TryAdmit(ClientA, Rrq, 10, 2, out var first).Outcome);
        Assert.Equal(TftpAdmissionOutcome.Admit, table.TryAdmit(ClientAOtherPort, Rrq, 10, 2, out _).Outcome);

        Assert.Equal(TftpShedCause.PerClient, table.TryAdmit(new IPEndPoint(ClientA.Address, 3000), Rrq, 10, 2, out _).Shed);
        Assert.Equal(TftpAdmissionOutcome.Admit, table.TryAdmit(ClientB, Rrq, 10, 2, out _).Outcome);
        Assert.Equal(2, table.CountFor(ClientA.Address));

        table.Release(first);
        Assert.Equal(1, table.CountFor(ClientA.Address));
        Assert.Equal(TftpAdmissionOutcome.Admit, table.TryAdmit(new IPEndPoint(ClientA.Address, 3000), Rrq, 10, 2, out _).Outcome);
    }

    [Fact]
    public void Table_knows_a_retransmission_only_while_its_transfer_runs_and_forgets_released_addresses()
    {
        var table = new TftpTransferTable();
        table.TryAdmit(ClientA, Rrq, 10, 8, out var id);

        Assert.True(table.IsRetransmission(ClientA, TftpRequest.Read("ipxe.efi", TftpMode.Octet)));
        Assert.False(table.IsRetransmission(ClientA, TftpRequest.Read("other.efi", TftpMode.Octet)));
        Assert.False(table.IsRetransmission(ClientAOtherPort, Rrq));

        table.Release(id);
        Assert.False(table.IsRetransmission(ClientA, Rrq));
        Assert.Equal(0, table.Count);
        Assert.Equal(0, table.Addresses); // nothing is kept for an address without transfers
    }

    [Fact]
    public void A_copy_of_a_request_served_in_full_moments_ago_is_still_a_retransmission_until_the_timeout()
    {
        // A transfer on loopback can end before the listener reads the client's retransmitted RRQ still queued behind it.
        var table = new TftpTransferTable();
        table.TryAdmit(ClientA, Rrq, 10, 8, out var served);
        table.Release(served, servedUntil: Environment.TickCount64 + 60_000);

        Assert.True(table.IsRetransmission(ClientA, TftpRequest.Read("ipxe.efi", TftpMode.Octet)));
        Assert.False(table.IsRetransmission(ClientA, TftpRequest.Read("other.efi", TftpMode.Octet)));
        Assert.False(table.IsRetransmission(ClientAOtherPort, Rrq));
        Assert.Equal(0, table.Count);

        // Not once the timeout has passed, and not after a transfer that was not served in full.
        table.TryAdmit(ClientA, Rrq, 10, 8, out var expired);
        table.Release(expired, servedUntil: Environment.TickCount64 - 1);
        Assert.False(table.IsRetransmission(ClientA, Rrq));
        table.TryAdmit(ClientA, Rrq, 10, 8, out var failed);
        table.Release(failed);
        Assert.False(table.IsRetransmission(ClientA, Rrq));
    }

    [Fact]
    public void Negotiation_caps_blksize_and_windowsize_and_answers_tsize_with_the_length()
    {
        var options = new TftpServerOptions { MaxBlockSize = 1468, MaxWindowSize = 16 };

        var negotiated = TftpNegotiation.Negotiate(TftpOptions.Create(blockSize: 65464, transferSize: 0, windowSize: 65535), 12345, options);
        var none = TftpNegotiation.Negotiate(TftpOptions.Empty, 12345, options);

        Assert.Equal(1468, negotiated.BlockSize);
        Assert.Equal(16, negotiated.WindowSize);
        Assert.Equal(12345, negotiated.Acknowledgement!.Options.TransferSize);
        Assert.Null(none.Acknowledgement);
        Assert.Equal(512, none.BlockSize);
        Assert.Equal(1, none.WindowSize);
    }
}

public sealed class TftpRefusalLimiterTests
{
    private static readonly IPAddress A = IPAddress.Parse("10.0.0.1");
    private static readonly IPAddress B = IPAddress.Parse("10.0.0.2");
    private static readonly IPAddress C = IPAddress.Parse("10.0.0.3");

    [Fact]
    public void An_address_gets_its_burst_then_is_limited_until_tokens_refill()
    {
        var clock = new StepClock();
        var limiter = new TftpRefusalLimiter(ratePerSecond: 2, burst: 3, maxClients: 10, clock);

        Assert.All(Enumerable.Range(0, 3), _ => Assert.Equal(TftpRefusalLimit.None, limiter.TryAcquire(A)));
        Assert.Equal(TftpRefusalLimit.RateLimited, limiter.TryAcquire(A));
        Assert.Equal(TftpRefusalLimit.None, limiter.TryAcquire(B)); // another address has its own bucket

        clock.Advance(TimeSpan.FromMilliseconds(500)); // one token at 2/s
        Assert.Equal(TftpRefusalLimit.None, limiter.TryAcquire(A));
        Assert.Equal(TftpRefusalLimit.RateLimited, limiter.TryAcquire(A));
    }

    [Fact]
    public void A_full_table_refuses_new_addresses_until_old_buckets_have_refilled()
    {
        var clock = new StepClock();
        var limiter = new TftpRefusalLimiter(ratePerSecond: 1, burst: 2, maxClients: 2, clock);
        limiter.TryAcquire(A);
        limiter.TryAcquire(B);

        Assert.Equal(TftpRefusalLimit.TableFull, limiter.TryAcquire(C));
        Assert.Equal(2, limiter.Count);

        clock.Advance(TimeSpan.FromSeconds(2)); // A and B refilled: as good as forgotten
        Assert.Equal(TftpRefusalLimit.None, limiter.TryAcquire(C));
        Assert.True(limiter.Count <= 2);
    }

    [Fact]
    public void A_full_table_of_busy_addresses_is_swept_at_most_once_per_refill_time()
    {
        var clock = new StepClock();
        var limiter = new TftpRefusalLimiter(ratePerSecond: 1, burst: 1, maxClients: 1, clock);
        limiter.TryAcquire(A);
        Assert.Equal(TftpRefusalLimit.TableFull, limiter.TryAcquire(B)); // swept: A is still spent

        clock.Advance(TimeSpan.FromMilliseconds(500));
        Assert.Equal(TftpRefusalLimit.TableFull, limiter.TryAcquire(B)); // no second sweep so soon
        clock.Advance(TimeSpan.FromMilliseconds(600));
        Assert.Equal(TftpRefusalLimit.None, limiter.TryAcquire(B));
        Assert.Equal(1, limiter.Count);
    }
}

public sealed class LogSummaryTests
{
    private enum Cause
    {
        One,
        Two,
        Three,
        Four,
    }

    [Fact]
    public void First_occurrence_of_an_interval_is_logged_and_the_rest_counted_into_the_next_line()
    {
        var clock = new StepClock();
        var summary = new LogSummary<Cause>(TimeSpan.FromSeconds(10), clock);

        Assert.True(summary.TryLog(Cause.One, out long first));
        Assert.Equal(0, first);
        Assert.All(Enumerable.Range(0, 999), i => Assert.False(summary.TryLog(Cause.One, out _)));
        Assert.True(summary.TryLog(Cause.Two, out _)); // causes are independent

        clock.Advance(TimeSpan.FromSeconds(9.9));
        Assert.False(summary.TryLog(Cause.One, out _));
        clock.Advance(TimeSpan.FromSeconds(0.1));
        Assert.True(summary.TryLog(Cause.One, out var suppressed));
        Assert.Equal(1000, suppressed);
        Assert.False(summary.TryLog(Cause.One, out _));
    }

    [Fact]
    public void Causes_past_the_bound_share_one_line_per_interval()
    {
        var clock = new StepClock();
        var summary = new LogSummary<Cause>(TimeSpan.FromSeconds(10), clock, maxCauses: 2);
        summary.TryLog(Cause.One, out _);
        summary.TryLog(Cause.Two, out _);

        Assert.True(summary.TryLog(Cause.Three, out _));
        Assert.False(summary.TryLog(Cause.Four, out _)); // same overflow slot, same interval
        Assert.Equal(2, summary.Causes);

        clock.Advance(TimeSpan.FromSeconds(10));
        Assert.True(summary.TryLog(Cause.Four, out var suppressed));
        Assert.Equal(1, suppressed);
    }

    [Fact]
    public void Concurrent_callers_get_exactly_one_line_per_interval()
    {
        var summary = new LogSummary<Cause>(TimeSpan.FromHours(1), new StepClock());
        var lines = 0;

        Parallel.For(0, 10_000, i =>
        {
            if (summary.TryLog(Cause.One, out _))
            {
                Interlocked.Increment(ref lines);
            }
        });

        Assert.Equal(1, lines);
    }
}
