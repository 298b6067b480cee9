using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Logging;
using Microsoft.Net.Http.Headers;
using Provisioner.Cluster;
using Provisioner.Domain.Boot;
using Provisioner.Domain.Machines;
using Provisioner.Domain.Profiles;
using Provisioner.Edge.Outage;
using Provisioner.Protocols.Dhcp;
using static Provisioner.Domain.Machines.MachineCommands;

namespace Provisioner.Edge.Http;

/// <summary>
/// The logic behind <see cref="BootEndpoints"/>: parse, ask the machine, render, report. Thin: the profile rules,
/// templates and tokens live in Provisioner.Domain, the machine's journey in its actor, and which script a machine
/// gets and which fetches are its kernel or initrd behind the boot-policy port (<see cref="IBootPolicy"/>).
/// <para>
/// Every report goes through the <see cref="ReportOutbox"/>: while no core is reachable it is queued, and a phone-home
/// is answered 202 ("queued") rather than 503. A machine's state is then read only from this node's copy
/// (<see cref="StateReadWhileUnreachable"/>), never waited for.
/// </para>
/// </summary>
public sealed partial class BootHttpHandler(
    IMachineGateway gateway,
    ReportOutbox reports,
    IBootPolicy bootPolicy,
    ProfileCatalog catalog,
    KickstartTokens tokens,
    BootHttpOptions options,
    TimeProvider clock,
    ILogger<BootHttpHandler> logger,
    IMachineHostnames? hostnames = null,
    ICoreReachability? cores = null)
{
    public const string TextPlain = "text/plain; charset=utf-8";

    /// <summary>
    /// How long a state read may take while no core is reachable: enough for this node's copy of the state (the
    /// state cache answers at once), not for an ask that cannot be answered.
    /// </summary>
    public static readonly TimeSpan StateReadWhileUnreachable = TimeSpan.FromMilliseconds(200);

    private readonly AssetFiles _assets = new(options.AssetsDirectory, options.CacheBytes, options.CacheMaxFileBytes);

    /// <summary>The last install script rendered per machine (bounded like the state cache).</summary>
    private readonly CountedConcurrentMap<string, RenderedScript> _scripts = new(StringComparer.Ordinal);

    public async Task<IResult> BootScriptAsync(string mac, HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (options.SendFile && context.Request.Headers.UserAgent.ToString().StartsWith("iPXE/", StringComparison.Ordinal))
        {
            // iPXE keeps its connection for the kernel and initrd, and only a connection's first request can be
            // sent by the kernel (SendFileResponse): close this one so each large download opens its own.
            context.Response.Headers.Connection = "close";
        }

        if (!MachineId.TryParse(mac, out var machine))
        {
            return Results.Text($"'{BootScripts.Printable(mac)}' is not a MAC address (expected /boot/aa:bb:cc:dd:ee:ff.ipxe)\n", TextPlain, statusCode: StatusCodes.Status400BadRequest);
        }

        MachineState state;
        try
        {
            state = await ReadStateAsync(machine, context.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !context.RequestAborted.IsCancellationRequested)
        {
            BootHttpLog.StateUnavailable(logger, e, machine.Value);
            return Results.Text(BootScripts.Unavailable(machine, "the machine's state cannot be read"), TextPlain, statusCode: StatusCodes.Status503ServiceUnavailable);
        }

        switch (bootPolicy.BootScriptFor(state.Stage))
        {
            case BootScriptKind.LocalDisk:
                BootHttpLog.ScriptServed(logger, machine.Value, "local disk", state.Stage.ToString());
                return Results.Text(BootScripts.LocalDisk(machine), TextPlain);
            case BootScriptKind.Failed:
                BootHttpLog.ScriptServed(logger, machine.Value, "failed", state.FailureReason ?? "no reason");
                return Results.Text(BootScripts.Failed(machine, state.FailureReason), TextPlain);
        }

        // The install script depends only on the state (profile, lease) and, without a lease, the client's address, and
        // the state cache hands out the same state object until the machine changes: render once per state.
        var address = ProfileCatalog.AddressOf(state, context.Connection.RemoteIpAddress);
        if (!_scripts.TryGetValue(machine.Value, out var rendered) || !ReferenceEquals(rendered.State, state) || rendered.Address != address)
        {
            var resolution = catalog.ResolveFor(state, machine, address);
            if (resolution.Profile is not { } profile)
            {
                BootHttpLog.NoProfile(logger, machine.Value, resolution.Reason);
                return Results.Text(BootScripts.NoProfile(machine, "no rule matches it"), TextPlain);
            }

            try
            {
                rendered = new RenderedScript(state, address, profile.RenderBootScript(TargetFor(machine, address)), resolution.Reason);
            }
            catch (TemplateRenderException e)
            {
                BootHttpLog.RenderFailed(logger, "the boot script", machine.Value, e.Message);
                return Results.Text(BootScripts.Unavailable(machine, "its profile does not render"), TextPlain, statusCode: StatusCodes.Status500InternalServerError);
            }

            if (_scripts.Count >= options.StateCacheMachines)
            {
                _scripts.Clear();
            }

            _scripts.Set(machine.Value, rendered);
        }

        // Information when the machine records it (once per install attempt). A repeat, or a fetch by a machine that
        // never booted from us, is not sent to the actor at all (the state just read says it would be ignored) and logs
        // at Debug, so a client (or a benchmark) fetching in a loop costs one actor read and floods no log.
        var report = new ReportBootScriptServed(clock.GetUtcNow());
        var answer = Machine.WouldRecord(state, report) ? await ReportAsync(machine, report).ConfigureAwait(false) : null;
        if (answer is { Outcome: DecisionOutcome.Accepted })
        {
            BootHttpLog.ScriptServed(logger, machine.Value, "install", rendered.Reason);
        }
        else
        {
            BootHttpLog.ScriptServedNothingNew(logger, machine.Value, "install", rendered.Reason, state.Stage);
        }

        return Results.Text(rendered.Script, TextPlain);
    }

    /// <summary>
    /// Serves a file under the assets directory (Range, ETag, Last-Modified, HEAD). A complete GET of the kernel or
    /// initrd of the machine named by <c>?mac=</c> is reported to that machine.
    /// </summary>
    public Task AssetAsync(string? path, HttpContext context) =>
        _assets.ServeAsync(path, context, options.SendFile, logger, ReportIfBootAssetAsync);

    /// <summary>A whole kernel or initrd was served: report it to the machine named by <c>?mac=</c>, if any.</summary>
    private Task ReportIfBootAssetAsync(string path, HttpContext context) =>
        catalog.IsBootAsset(path) && MachineId.TryParse(context.Request.Query["mac"].ToString(), out var machine)
            ? ReportFetchAsync(machine, path, context)
            : Task.CompletedTask;

    public async Task<IResult> KickstartAsync(string token, HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!tokens.TryVerify(token, out var machine))
        {
            BootHttpLog.BadToken(logger, "/ks", Client(context));
            return EmptyNotFound();
        }

        MachineState state;
        try
        {
            state = await ReadStateAsync(machine, context.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !context.RequestAborted.IsCancellationRequested)
        {
            BootHttpLog.StateUnavailable(logger, e, machine.Value);
            return Results.StatusCode(StatusCodes.Status503ServiceUnavailable);
        }

        var address = ProfileCatalog.AddressOf(state, context.Connection.RemoteIpAddress);
        var resolution = catalog.ResolveFor(state, machine, address);
        if (resolution.Profile is not { } profile)
        {
            BootHttpLog.NoProfile(logger, machine.Value, resolution.Reason);
            return EmptyNotFound();
        }

        var target = TargetFor(machine, address);
        var kickstart = profile.RenderKickstart(target);
        BootHttpLog.KickstartServed(logger, machine.Value, target.Hostname, profile.Name);
        await ReportAsync(machine, new ReportKickstartFetched(clock.GetUtcNow())).ConfigureAwait(false);
        return Results.Text(kickstart, TextPlain);
    }

    /// <summary>%post of the installer: the disk holds an OS now.</summary>
    public Task<IResult> PhoneHomeAsync(string token, HttpContext context) =>
        PhonedHomeAsync(token, context, "/phone-home", "installed", new ReportInstalled(clock.GetUtcNow()));

    /// <summary>The installed system's first boot.</summary>
    public Task<IResult> BootedAsync(string token, HttpContext context) =>
        PhonedHomeAsync(token, context, "/booted", "booted", new ReportBooted(clock.GetUtcNow()));

    private async Task<IResult> PhonedHomeAsync(string token, HttpContext context, string route, string what, MachineCommand command)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!tokens.TryVerify(token, out var machine))
        {
            BootHttpLog.BadToken(logger, route, Client(context));
            return EmptyNotFound();
        }

        ReportResult result;
        try
        {
            result = await reports.SendAsync(machine, command, holdOnlyInOutage: true).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            BootHttpLog.ReportFailed(logger, e, command.GetType().Name, machine.Value);
            return Results.Text("not recorded, try again\n", TextPlain, statusCode: StatusCodes.Status503ServiceUnavailable);
        }

        if (result is not { Delivery: ReportDelivery.Delivered, Answer: { } answer })
        {
            BootHttpLog.PhonedHome(logger, machine.Value, what, result.Delivery.ToString());
            // Queued: the machine records it once a core answers; the client need not (and %post's curl does not) retry.
            return result.Delivery == ReportDelivery.Queued
                ? Results.Text($"{machine} {what}: queued\n", TextPlain, statusCode: StatusCodes.Status202Accepted)
                : Results.Text("not recorded, try again\n", TextPlain, statusCode: StatusCodes.Status503ServiceUnavailable);
        }

        BootHttpLog.PhonedHome(logger, machine.Value, what, answer.Outcome.ToString());
        return answer.Outcome == DecisionOutcome.Rejected
            ? Results.Text($"{machine}: {answer.Reason}\n", TextPlain, statusCode: StatusCodes.Status409Conflict)
            : Results.Text($"{machine} {what}\n", TextPlain);
    }

    private async Task ReportFetchAsync(MachineId machine, string path, HttpContext context)
    {
        // Without the machine's state (no core reachable and no copy here) nothing is reported: anyone can name any MAC
        // in ?mac=, and only a machine this node knows to be installing may have reports held for it in the outbox.
        MachineState state;
        try
        {
            state = await ReadStateAsync(machine, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            BootHttpLog.ReportFailed(logger, e, "fetch of " + path, machine.Value);
            return;
        }

        if (catalog.ResolveFor(state, machine, ProfileCatalog.AddressOf(state, context.Connection.RemoteIpAddress)).Profile is not { } profile)
        {
            return;
        }

        var now = clock.GetUtcNow();
        MachineCommand? report = bootPolicy.FetchedAsset(profile, path) switch
        {
            BootAssetKind.Kernel => new ReportKernelFetched(now, path),
            BootAssetKind.Initrd => new ReportInitrdFetched(now, path),
            _ => null,
        };
        if (report is not null && Machine.WouldRecord(state, report))
        {
            await ReportAsync(machine, report).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The machine's state; while no core is reachable, only if this node holds a copy (<see cref="StateReadWhileUnreachable"/>),
    /// else a <see cref="TimeoutException"/> at once rather than after the ask timeout.
    /// </summary>
    private async Task<MachineState> ReadStateAsync(MachineId machine, CancellationToken cancellationToken)
    {
        if (cores is null || cores.CoresReachable)
        {
            return await gateway.GetAsync(machine, cancellationToken).ConfigureAwait(false);
        }

        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(StateReadWhileUnreachable);
        try
        {
            return await gateway.GetAsync(machine, bounded.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"machine {machine}: no core node reachable and no copy of its state on this node", e);
        }
    }

    /// <summary>
    /// Reports never fail a response: what was served was served. Through the outbox: delivered now, or queued until a
    /// core answers (the machine's deadline covers a report lost even so). The machine's answer, or null when the
    /// report was not delivered now.
    /// </summary>
    private async Task<MachineAnswer?> ReportAsync(MachineId machine, MachineCommand command)
    {
        try
        {
            var result = await reports.SendAsync(machine, command).ConfigureAwait(false);
            if (result is not { Delivery: ReportDelivery.Delivered, Answer: { } answer })
            {
                BootHttpLog.Reported(logger, command.GetType().Name, machine.Value, result.Delivery.ToString(), null);
                return null;
            }

            BootHttpLog.Reported(logger, command.GetType().Name, machine.Value, answer.Outcome.ToString(), answer.Reason);
            return answer;
        }
        catch (Exception e)
        {
            BootHttpLog.ReportFailed(logger, e, command.GetType().Name, machine.Value);
            return null;
        }
    }

    private BootTarget TargetFor(MachineId machine, IPv4Address? address)
    {
        var fallback = BootTarget.DefaultHostname(machine);
        var hostname = hostnames?.HostnameOf(machine);
        if (hostname is not null && !HostnamePattern().IsMatch(hostname))
        {
            BootHttpLog.BadHostname(logger, BootScripts.Printable(hostname), machine.Value, fallback);
            hostname = null;
        }

        return new BootTarget(machine, hostname ?? fallback, address, options.BaseUrl, tokens.Issue(machine));
    }

    private sealed record RenderedScript(MachineState State, IPv4Address? Address, string Script, string Reason);

    private static string Client(HttpContext context) => context.Connection.RemoteIpAddress?.ToString() ?? "unknown";

    /// <summary>404 with nothing in it: a wrong token learns nothing (not even that the route exists for other tokens).</summary>
    private static IResult EmptyNotFound() => Results.StatusCode(StatusCodes.Status404NotFound);

    [GeneratedRegex(@"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")]
    private static partial Regex HostnamePattern();
}
