using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Hosting;
using Provisioner.Cluster.Hosting;
using Provisioner.Cluster.Leases;
using Provisioner.Cluster.Machines;
using Provisioner.Cluster.ReadModel;
using Provisioner.Domain.Machines;

namespace Provisioner.Host.Admin;

/// <summary>
/// The admin HTTP API the CLI speaks (Petabridge.Cmd is not available; this is ours). Fleet-wide views come
/// from the machine directory (read model); one machine's detail asks that machine's actor for its state and reads
/// its recent events from its journal (<see cref="MachineHistory"/>).
/// </summary>
public static class AdminApi
{
    public const string Prefix = "/api/v1";

    /// <param name="bootPort">The boot HTTP listener's port, if any: admin endpoints never answer there.</param>
    public static void Map(WebApplication app, ProvisionerSettings settings, int? bootPort = null)
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(settings);

        if (bootPort is { } port)
        {
            app.Use(async (context, next) =>
            {
                if (context.Connection.LocalPort == port && (context.Request.Path.StartsWithSegments(Prefix, StringComparison.Ordinal) || context.Request.Path == "/healthz"))
                {
                    context.Response.StatusCode = StatusCodes.Status404NotFound;
                    return;
                }

                await next();
            });
        }

        if (!string.IsNullOrEmpty(settings.AdminToken))
        {
            app.Use(async (context, next) =>
            {
                var expected = "Bearer " + settings.AdminToken;
                if (context.Request.Path.StartsWithSegments(Prefix, StringComparison.Ordinal) &&
                    !System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(
                        System.Text.Encoding.UTF8.GetBytes(context.Request.Headers.Authorization.ToString()),
                        System.Text.Encoding.UTF8.GetBytes(expected)))
                {
                    context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                    await context.Response.WriteAsJsonAsync(new ErrorDto("missing or wrong bearer token"), AdminJson.Options);
                    return;
                }

                await next();
            });
        }

        var timeout = settings.AskTimeout;

        app.MapGet("/healthz", (ActorSystem system, HttpContext context) =>
        {
            var cluster = Akka.Cluster.Cluster.Get(system);
            if (cluster.SelfMember.Status != Akka.Cluster.MemberStatus.Up)
            {
                return Results.Text($"cluster member is {cluster.SelfMember.Status}\n", statusCode: StatusCodes.Status503ServiceUnavailable);
            }

            var readiness = context.RequestServices.GetService<NodeReadiness>();
            if (readiness?.FailingBecause is { } failing)
            {
                return Results.Text($"failing: {failing}\n", statusCode: StatusCodes.Status503ServiceUnavailable);
            }

            return readiness?.NotReadyBecause is { } preparing
                ? Results.Text($"preparing: {preparing}\n", statusCode: StatusCodes.Status503ServiceUnavailable)
                : Results.Text("ok\n");
        });

        app.MapGet(Prefix + "/machines", async (string? stage, IRequiredActor<MachineDirectoryKey> directory) =>
        {
            MachineStage? filter = null;
            if (!string.IsNullOrEmpty(stage))
            {
                if (!Enum.TryParse<MachineStage>(stage, ignoreCase: true, out var parsed) || !Enum.IsDefined(parsed))
                {
                    return Error(StatusCodes.Status400BadRequest, $"unknown stage '{stage}' (one of: {string.Join(", ", Enum.GetNames<MachineStage>())})");
                }

                filter = parsed;
            }

            // Page by page (each reply well under Akka.Remote's frame size when the directory lives on another node), the
            // next page asked for while this one is written out, into one buffer: 100,000 machines are ~23 MB of JSON,
            // written once, and an ask that fails still answers an error, not half a list.
            var json = new System.Buffers.ArrayBufferWriter<byte>(1 << 16);
            await using (var writer = new System.Text.Json.Utf8JsonWriter(json))
            {
                var names = AdminJson.Options.PropertyNamingPolicy!;
                writer.WriteStartObject();
                writer.WriteStartArray(names.ConvertName(nameof(MachineListDto.Machines)));
                var next = directory.ActorRef.Ask<DirectoryProtocol.MachineList>(new DirectoryProtocol.ListMachines(filter), timeout);
                DirectoryProtocol.MachineList page;
                do
                {
                    page = await next;
                    if (page.Next is { } after)
                    {
                        next = directory.ActorRef.Ask<DirectoryProtocol.MachineList>(new DirectoryProtocol.ListMachines(filter) { After = after }, timeout);
                    }

                    foreach (var machine in page.Machines)
                    {
                        System.Text.Json.JsonSerializer.Serialize(writer, machine, AdminJson.Options);
                    }
                }
                while (page.Next is not null);

                writer.WriteEndArray();
                writer.WriteBoolean(names.ConvertName(nameof(MachineListDto.CaughtUp)), page.CaughtUp);
                writer.WriteNumber(names.ConvertName(nameof(MachineListDto.Offset)), page.Offset);
                writer.WriteEndObject();
            }

            return Results.Bytes(json.WrittenMemory, "application/json; charset=utf-8");
        });

        app.MapGet(Prefix + "/machines/{mac}", async (string mac, IRequiredActor<MachineRegion> region, ActorSystem system, IServiceProvider services, CancellationToken cancellationToken) =>
        {
            if (!MachineId.TryParse(mac, out var id))
            {
                return Error(StatusCodes.Status400BadRequest, $"'{mac}' is not a MAC address (expected aa:bb:cc:dd:ee:ff)");
            }

            // A machine ACKed a moment ago may not have recorded its first boot yet: it does now, then it is read.
            if (services.GetService<Edge.FirstBoots>() is { } firstBoots)
            {
                await firstBoots.FlushIfNewAsync(id, cancellationToken).WaitAsync(timeout, cancellationToken);
            }

            var result = await region.ActorRef.Ask<MachineProtocol.MachineResult>(new MachineProtocol.GetMachine(id.Value), timeout, cancellationToken);
            if (!result.Known)
            {
                return Error(StatusCodes.Status404NotFound, $"machine {id} has never been seen");
            }

            if (!settings.IsCore)
            {
                return Results.Json(
                    MachineDto.From(result.State, [], result.Version, "events are read from the journal, which only core nodes hold: ask a core node"),
                    AdminJson.Options);
            }

            // Up to the version the state was read at, so the events shown are the ones that made that state.
            var history = await MachineHistory.ReadAsync(system, id.Value, result.Version, cancellationToken: cancellationToken).WaitAsync(timeout, cancellationToken);
            var note = history.LeftOut > 0 ? $"the last {history.Events.Count} of {history.Total}; {history.LeftOut} older ones left out" : null;
            return Results.Json(MachineDto.From(result.State, history.Events, history.Total, note), AdminJson.Options);
        });

        app.MapPost(Prefix + "/machines/{mac}/reprovision", async (string mac, HttpContext context, IRequiredActor<MachineRegion> region, TimeProvider clock) =>
        {
            if (!MachineId.TryParse(mac, out var id))
            {
                return Error(StatusCodes.Status400BadRequest, $"'{mac}' is not a MAC address (expected aa:bb:cc:dd:ee:ff)");
            }

            var by = context.Request.Headers["X-Requested-By"].ToString() is { Length: > 0 } who ? who : "admin-api";
            var result = await region.ActorRef.Ask<MachineProtocol.CommandResult>(
                new MachineProtocol.Execute(id.Value, new MachineCommands.Reprovision(clock.GetUtcNow(), by)), timeout);
            var dto = new CommandResultDto(result.MachineId, result.Outcome.ToString(), result.Stage, result.Reason);
            return result.Outcome == DecisionOutcome.Rejected
                ? Results.Json(dto, AdminJson.Options, statusCode: StatusCodes.Status409Conflict)
                : Results.Json(dto, AdminJson.Options);
        });

        app.MapGet(Prefix + "/cluster", (ActorSystem system) =>
        {
            var cluster = Akka.Cluster.Cluster.Get(system);
            var state = cluster.State;
            var members = state.Members
                .Select(m => new ClusterMemberDto(m.Address.ToString(), m.Status.ToString(), m.Roles.Order(StringComparer.Ordinal).ToArray(), m.Address == cluster.SelfAddress))
                .ToArray();
            return Results.Json(
                new ClusterDto(cluster.SelfAddress.ToString(), state.Leader?.ToString(), members, state.Unreachable.Select(m => m.Address.ToString()).ToArray()),
                AdminJson.Options);
        });

        MapShards(app, timeout);
        MapMembership(app);
        MapSubnetHandover(app, timeout);
        MapWhere(app, settings, timeout);
        MapNode(app);
    }

    /// <summary>
    /// <c>POST …/cluster/leave</c> and <c>…/cluster/down</c> with <c>{ "node": "akka.tcp://provisioner@host:port" }</c>
    /// (or <c>host:port</c>): a graceful leave (its shards hand over first, then it exits), or marking a node down that is
    /// gone for good (a crashed machine the cluster has not downed). Any node can ask for any member.
    /// </summary>
    private static void MapMembership(WebApplication app)
    {
        foreach (var verb in new[] { "leave", "down" })
        {
            app.MapPost(Prefix + "/cluster/" + verb, (MembershipRequestDto request, ActorSystem system) =>
            {
                var cluster = Akka.Cluster.Cluster.Get(system);
                var members = cluster.State.Members.Select(m => m.Address).ToArray();
                var text = request.Node?.Trim() ?? string.Empty;
                var address = members.FirstOrDefault(a => a.ToString() == text || $"{a.Host}:{a.Port}" == text);
                if (address is null)
                {
                    return Error(StatusCodes.Status404NotFound, members.Length == 0
                        ? $"'{text}' is not a member: this node has not joined a cluster yet (no members; try again once `cluster show` lists it)"
                        : $"'{text}' is not a member (members: {string.Join(", ", members.Select(a => a.ToString()))})");
                }

                if (verb == "leave")
                {
                    cluster.Leave(address);
                }
                else
                {
                    cluster.Down(address);
                }

                return Results.Json(new MembershipResultDto(address.ToString(), verb == "leave" ? "leaving" : "downed"), AdminJson.Options, statusCode: StatusCodes.Status202Accepted);
            });
        }
    }

    /// <summary>
    /// <c>POST …/subnets/{id}/handover</c> with <c>{ "node": "host:port" }</c>: the subnet's durable definition stays as it
    /// is, now held by that node, whose next declaration may replace it (the edge that defined it is gone for good, or
    /// the site moves to another edge). 409 when the subnet has no definition yet.
    /// </summary>
    private static void MapSubnetHandover(WebApplication app, TimeSpan timeout) =>
        app.MapPost(Prefix + "/subnets/{id}/handover", async (string id, MembershipRequestDto request, IRequiredActor<SubnetLeaseRegion> region, TimeProvider clock, CancellationToken cancellationToken) =>
        {
            var node = request.Node?.Trim() ?? string.Empty;
            if (node.Length == 0 || node.Contains('/', StringComparison.Ordinal))
            {
                return Error(StatusCodes.Status400BadRequest, $"'{node}' is not a node's host:port (as `cluster show` lists it, without akka.tcp://provisioner@)");
            }

            var answer = await region.ActorRef.Ask<SubnetLeaseProtocol.SubnetDeclared>(new SubnetLeaseProtocol.HandOverSubnet(id, node, clock.GetUtcNow()), timeout, cancellationToken);
            var result = new SubnetHandoverDto(answer.SubnetId, answer.Outcome.ToString(), answer.DefinedBy, answer.Reason);
            return Results.Json(result, AdminJson.Options, statusCode: answer.Outcome == Domain.Leases.SubnetDeclarationOutcome.Refused ? StatusCodes.Status409Conflict : StatusCodes.Status200OK);
        });

    /// <summary>
    /// Where a machine's actor lives (pbm has no such verb; sharding knows it per shard): the machine's shard, the node
    /// whose region hosts that shard (from the coordinator's stats), and whether the actor is live there (that region's
    /// own state). Never wakes the actor; the sequence number comes from the live actor, or from the journal on a core node.
    /// </summary>
    private static void MapWhere(WebApplication app, ProvisionerSettings settings, TimeSpan timeout) =>
        app.MapGet(Prefix + "/machines/{mac}/where", async (string mac, IRequiredActor<MachineRegion> region, ActorSystem system, CancellationToken cancellationToken) =>
        {
            if (!MachineId.TryParse(mac, out var id))
            {
                return Error(StatusCodes.Status400BadRequest, $"'{mac}' is not a MAC address (expected aa:bb:cc:dd:ee:ff)");
            }

            var shard = new MachineMessageExtractor(settings.Shards).ShardId(id.Value, messageHint: null);
            var stats = await region.ActorRef.Ask<ClusterShardingStats>(new GetClusterShardingStats(timeout), timeout + TimeSpan.FromSeconds(1), cancellationToken);
            var host = stats.Regions.Where(r => r.Value.Stats.ContainsKey(shard)).Select(r => r.Key).FirstOrDefault();
            var self = Akka.Cluster.Cluster.Get(system).SelfAddress;
            if (host is null)
            {
                return Results.Json(new MachineWhereDto(id.Value, shard, null, false, false, null, "no node hosts its shard now: the machine's next message starts the shard where the coordinator allocates it"), AdminJson.Options);
            }

            var regionPath = new RootActorPath(host) / "system" / "sharding" / ProvisionerAkka.MachineTypeName;
            var state = await system.ActorSelection(regionPath).Ask<CurrentShardRegionState>(GetShardRegionState.Instance, timeout, cancellationToken);
            var live = state.Shards.Any(s => s.ShardId == shard && s.EntityIds.Contains(id.Value));
            long? sequence = null;
            if (live)
            {
                sequence = (await region.ActorRef.Ask<MachineProtocol.MachineResult>(new MachineProtocol.GetMachine(id.Value), timeout, cancellationToken)).Version;
            }
            else if (settings.IsCore)
            {
                sequence = await MachineHistory.HighestSequenceNrAsync(system, id.Value, cancellationToken: cancellationToken).WaitAsync(timeout, cancellationToken);
            }

            return Results.Json(new MachineWhereDto(id.Value, shard, host.ToString(), host == self, live, sequence, null), AdminJson.Options);
        });

    /// <summary>
    /// This node's process: memory as the OS and the GC see it, and the bound on machine actors that persisted nothing.
    /// <c>POST …/node/gc</c> runs a full, compacting collection first (a diagnostic: how much of the resident memory is
    /// live, e.g. after a wave of machines passivated; it pauses the node for as long as the collection takes).
    /// </summary>
    private static void MapNode(WebApplication app)
    {
        app.MapGet(Prefix + "/node", (NewMachineLimit newMachines, IServiceProvider services) =>
            Results.Json(NodeDto.Now(newMachines, collected: false, services.GetService<Edge.FirstBoots>()?.Known), AdminJson.Options));
        app.MapPost(Prefix + "/node/gc", (NewMachineLimit newMachines, IServiceProvider services) =>
        {
            System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
            return Results.Json(NodeDto.Now(newMachines, collected: true, services.GetService<Edge.FirstBoots>()?.Known), AdminJson.Options);
        });
    }

    /// <summary>
    /// Every shard region's shards and live entities per node (pbm's <c>cluster sharding region-stats</c>): asked of the
    /// shard coordinators through this node's regions or proxies, so any node answers for the whole cluster. A node that
    /// did not answer within the timeout has its shards listed as failed.
    /// </summary>
    private static void MapShards(WebApplication app, TimeSpan timeout) =>
        app.MapGet(Prefix + "/cluster/shards", async (IRequiredActor<MachineRegion> machines, IRequiredActor<SubnetLeaseRegion> subnets) =>
        {
            var regions = new List<ShardRegionDto>(2);
            foreach (var (type, region) in new[] { (ProvisionerAkka.MachineTypeName, machines.ActorRef), (SubnetLeaseHosting.SubnetTypeName, subnets.ActorRef) })
            {
                var stats = await region.Ask<ClusterShardingStats>(new GetClusterShardingStats(timeout), timeout + TimeSpan.FromSeconds(1));
                var nodes = stats.Regions
                    .OrderBy(r => r.Key.ToString(), StringComparer.Ordinal)
                    .Select(r => new ShardNodeDto(
                        r.Key.ToString(),
                        r.Value.Stats.Count,
                        r.Value.Stats.Values.Sum(),
                        r.Value.Failed.Order(StringComparer.Ordinal).ToArray()))
                    .ToArray();
                regions.Add(new ShardRegionDto(type, nodes, nodes.Sum(n => n.Entities)));
            }

            return Results.Json(new ShardsDto(regions), AdminJson.Options);
        });

    private static IResult Error(int status, string message) => Results.Json(new ErrorDto(message), AdminJson.Options, statusCode: status);
}
