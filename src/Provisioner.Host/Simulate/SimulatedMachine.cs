using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Provisioner.Protocols.Dhcp;

namespace Provisioner.Host.Simulate;

/// <summary>
/// One machine's boot, stage by stage (<see cref="SimStage"/>), as its firmware, iPXE, the installer and %post would
/// do it, recorded in its <see cref="MachineRecord"/>. It ends, one way or the other, within the machine's deadline.
/// </summary>
public sealed class SimulatedMachine(MachineRecord record, byte[] mac, SimulationContext context)
{
    private static readonly DhcpMessageType[] Offer = [DhcpMessageType.Offer];
    private static readonly DhcpMessageType[] AckOrNak = [DhcpMessageType.Ack, DhcpMessageType.Nak];

    public async Task RunAsync(CancellationToken interrupted)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(interrupted);
        deadline.CancelAfter(context.Options.TimeoutPerMachine);
        var ct = deadline.Token;
        try
        {
            while (true)
            {
                var failure = await TryBootAsync(ct).ConfigureAwait(false);
                if (failure is null)
                {
                    return;
                }

                if (record.Reboots.Count >= context.Options.Reboots)
                {
                    record.Fail(failure, context.Now);
                    return;
                }

                // As a server whose network boot failed: it falls through its boot order and powers on again.
                record.Reboot(failure, context.Now);
                await Task.Delay(context.Options.RebootAfter, ct).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            record.Fail(interrupted.IsCancellationRequested
                ? "interrupted"
                : string.Create(CultureInfo.InvariantCulture, $"not installed within --timeout-per-machine {context.Options.TimeoutPerMachine.TotalSeconds:0.##} s"), context.Now);
        }
    }

    /// <summary>An attempt got as far as %post: the disk holds an installed system.</summary>
    private bool _diskInstalled;

    /// <summary>One boot attempt: null when the machine completed, else why the attempt failed.</summary>
    private async Task<string?> TryBootAsync(CancellationToken ct)
    {
        try
        {
            await BootAsync(ct).ConfigureAwait(false);
            return null;
        }
        catch (SimulationFailedException e)
        {
            return e.Message;
        }
        catch (SocketException e)
        {
            return "socket: " + e.SocketErrorCode;
        }
        catch (IOException e)
        {
            return "I/O: " + e.Message;
        }
        catch (HttpRequestException e)
        {
            return "HTTP: " + e.Message;
        }
    }

    private async Task BootAsync(CancellationToken ct)
    {
        // 1. The NIC's PXE ROM: DHCP through the relay, then TFTP of the NBP the ACK names. A machine whose earlier
        // attempt installed its disk (its phone-home's answer lost with a dead edge) and is now offered no boot file
        // boots that disk: it is done, as the cluster recorded.
        record.Begin(SimStage.Dhcp, context.Now);
        var started = context.Now;
        BootAnswer pxe;
        try
        {
            pxe = await DhcpAsync(context.Xid(2 * record.Reboots.Count, record.Index), ipxe: false, FirmwareTimers.PxeDiscover, FirmwareTimers.PxeRequest, started, ct).ConfigureAwait(false);
        }
        catch (LocalBootException)
        {
            record.EndStage(context.Now);
            record.CompleteFromDisk(context.Now);
            return;
        }

        record.EndStage(context.Now);

        record.Begin(SimStage.Tftp, context.Now);
        await TftpClient.DownloadAsync(pxe.NextServer.ToIPAddress(), pxe.BootFile, pxe.Address.ToIPAddress(), context.Sources, context.Counters, ct).ConfigureAwait(false);
        record.EndStage(context.Now);

        // 2. iPXE, loaded: its own DHCP (user class iPXE, a new xid), answered with the boot script's URL.
        record.Begin(SimStage.IpxeDhcp, context.Now);
        var ipxe = await DhcpAsync(context.Xid((2 * record.Reboots.Count) + 1, record.Index), ipxe: true, FirmwareTimers.IpxeDiscover, FirmwareTimers.IpxeRequest, context.Now, ct).ConfigureAwait(false);
        if (!Uri.TryCreate(ipxe.BootFile, UriKind.Absolute, out var scriptUrl) || (scriptUrl.Scheme != Uri.UriSchemeHttp && scriptUrl.Scheme != Uri.UriSchemeHttps))
        {
            throw new SimulationFailedException("iPXE was given a boot file that is not an http:// script URL");
        }

        record.EndStage(context.Now);

        // 3. iPXE over HTTP: the script, then the kernel and initrd it names; 4. the installer and its %post.
        using var http = new MachineHttp(ipxe.Address.ToIPAddress(), context.Sources);
        record.Begin(SimStage.Script, context.Now);
        var script = await http.GetTextAsync(scriptUrl, MachineHttp.IpxeAgent, retry: false, ct).ConfigureAwait(false);
        var files = BootScriptReader.Read(script, scriptUrl, out var problem) ?? throw new SimulationFailedException(problem ?? "unreadable boot script");
        record.EndStage(context.Now);

        record.Begin(SimStage.Kernel, context.Now);
        await http.DownloadAsync(files.Kernel, ct).ConfigureAwait(false);
        record.EndStage(context.Now);

        record.Begin(SimStage.Initrd, context.Now);
        await http.DownloadAsync(files.Initrd, ct).ConfigureAwait(false);
        record.EndStage(context.Now);

        record.Begin(SimStage.Kickstart, context.Now);
        var kickstart = await http.GetTextAsync(files.Kickstart, MachineHttp.InstallerAgent, retry: true, ct).ConfigureAwait(false);
        var phoneHome = BootScriptReader.PhoneHome(kickstart) ?? throw new SimulationFailedException("the kickstart has no /phone-home/ URL");
        record.EndStage(context.Now);

        record.Begin(SimStage.PhoneHome, context.Now);
        // %post runs on a written disk: whatever becomes of its phone-home, the next boot can fall through to that disk.
        _diskInstalled = true;
        await http.GetTextAsync(phoneHome, "curl/7.29.0 (provisioner simulate)", retry: true, ct).ConfigureAwait(false);
        record.EndStage(context.Now);
        record.Complete(context.Now);
    }

    /// <summary>DISCOVER → OFFER → REQUEST → ACK on the given timers; the ACK's boot answer, its address recorded.</summary>
    private async Task<BootAnswer> DhcpAsync(uint xid, bool ipxe, RetransmitSchedule discover, RetransmitSchedule request, TimeSpan started, CancellationToken ct)
    {
        var options = context.Options;
        var who = ipxe ? "iPXE" : "PXE";
        TimeSpan Since() => context.Now - started;
        var offer = await context.Relay.ExchangeAsync(
            xid, mac, secs => FirmwarePackets.Discover(mac, xid, context.Relay.Relay, options.Architecture, ipxe, secs), Offer, discover, Since, ct).ConfigureAwait(false)
            ?? throw new SimulationFailedException(string.Create(CultureInfo.InvariantCulture, $"no OFFER to {discover.Sends} {who} DISCOVERs ({discover.GiveUpAfter.TotalSeconds:0.##} s)"));
        if (offer.Options.ServerIdentifier is null)
        {
            throw new SimulationFailedException("OFFER without a server identifier (option 54)");
        }

        if (!ipxe && _diskInstalled && !offer.YourAddress.IsAny && FirmwarePackets.ReadBoot(offer, out _) is null && string.IsNullOrEmpty(offer.Options.BootfileName) && string.IsNullOrEmpty(offer.BootFileName))
        {
            // Offered no boot file: the firmware falls through to the next boot device, the disk this machine installed.
            throw new LocalBootException();
        }

        var reply = await context.Relay.ExchangeAsync(
            xid, mac, secs => FirmwarePackets.Request(mac, xid, context.Relay.Relay, options.Architecture, ipxe, secs, offer), AckOrNak, request, Since, ct).ConfigureAwait(false)
            ?? throw new SimulationFailedException(string.Create(CultureInfo.InvariantCulture, $"no ACK to {request.Sends} {who} REQUESTs ({request.GiveUpAfter.TotalSeconds:0.##} s)"));
        if (reply.MessageType == DhcpMessageType.Nak)
        {
            var message = reply.Options.Get((DhcpOptionCode)56) is { } text ? System.Text.Encoding.ASCII.GetString(text.Span) : "no message";
            throw new SimulationFailedException($"{who} REQUEST NAKed: {message}");
        }

        if (reply.YourAddress != offer.YourAddress)
        {
            throw new SimulationFailedException($"{who} ACK of another address than the OFFER's");
        }

        var answer = FirmwarePackets.ReadBoot(reply, out var problem) ?? throw new SimulationFailedException($"{who} {problem}");
        record.Acked(answer.Address.ToString());
        return answer;
    }
}

/// <summary>What every machine of a run shares: the options, the relay socket, the clock, the xid salt, the source addresses and the packet counters.</summary>
public sealed class SimulationContext(SimulateOptions options, RelayAgent relay, SourceAddresses sources, PacketCounters counters, uint xidSalt)
{
    private readonly long _start = System.Diagnostics.Stopwatch.GetTimestamp();

    public SimulateOptions Options { get; } = options;

    public RelayAgent Relay { get; } = relay;

    public SourceAddresses Sources { get; } = sources;

    public PacketCounters Counters { get; } = counters;

    /// <summary>Since the run started.</summary>
    public TimeSpan Now => System.Diagnostics.Stopwatch.GetElapsedTime(_start);

    /// <summary>
    /// A transaction id unique in this run per (exchange, machine): the PXE ROM's (2 × boot attempt) and iPXE's (the next)
    /// of each machine, so a late reply to a failed attempt never completes the next one; salted so that two runs (or a
    /// run and a restart) do not reuse each other's.
    /// </summary>
    public uint Xid(int exchange, int index) => xidSalt ^ ((uint)exchange << 28) ^ (uint)index;
}

/// <summary>The PXE ROM was offered no boot file and falls through to the disk an earlier attempt installed.</summary>
internal sealed class LocalBootException() : Exception("offered no boot file: boots the installed disk");

