// trace-summary FILE.nettrace [TOP [STACK_TYPES]]: what the node allocated during the traced step, by type (the runtime's
// AllocationTick events: one per ~100 KB allocated, naming the type of the allocation that crossed it, so a type's
// share of the ticks is its share of the bytes), and what the collections marked, by root kind (GCMarkWithType:
// stack, finalization queue, handles, older generations through the card table, ...).
using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Etlx;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

if (args.Length < 1 || !File.Exists(args[0]))
{
    Console.Error.WriteLine("usage: trace-summary FILE.nettrace [TOP [STACK_TYPES]]   (TOP types by bytes, default 25; allocation sites of the STACK_TYPES largest, default 6)");
    return 2;
}

var top = args.Length > 1 && int.TryParse(args[1], out var t) ? t : 25;
var bytesByType = new Dictionary<string, long>(StringComparer.Ordinal);
long allocated = 0;
var markedByRoot = new Dictionary<string, long>(StringComparer.Ordinal);
var collections = new Dictionary<int, (int Count, double Ms)>();
var started = new Dictionary<int, (double At, int Generation)>();
double suspendedMs = 0;
double suspendStart = -1;

using (var source = new EventPipeEventSource(args[0]))
{
    source.Clr.GCAllocationTick += e =>
    {
        var name = string.IsNullOrEmpty(e.TypeName) ? $"type {e.TypeID:x}" : e.TypeName;
        bytesByType[name] = bytesByType.GetValueOrDefault(name) + e.AllocationAmount64;
        allocated += e.AllocationAmount64;
    };
    source.Clr.GCMarkWithType += e =>
    {
        var root = ((MarkRootType)e.Type).ToString();
        markedByRoot[root] = markedByRoot.GetValueOrDefault(root) + e.Promoted;
    };
    source.Clr.GCStart += e => started[e.Count] = (e.TimeStampRelativeMSec, e.Depth);
    source.Clr.GCStop += e =>
    {
        if (started.Remove(e.Count, out var s))
        {
            var c = collections.GetValueOrDefault(s.Generation);
            collections[s.Generation] = (c.Count + 1, c.Ms + (e.TimeStampRelativeMSec - s.At));
        }
    };
    source.Clr.GCSuspendEEStart += e => suspendStart = e.TimeStampRelativeMSec;
    source.Clr.GCSuspendEEStop += e =>
    {
        if (suspendStart >= 0)
        {
            suspendedMs += e.TimeStampRelativeMSec - suspendStart;
            suspendStart = -1;
        }
    };
    source.Process();
}

Console.WriteLine($"allocated (sampled): {allocated / 1048576.0:0.0} MB");
foreach (var (type, bytes) in bytesByType.OrderByDescending(kv => kv.Value).Take(top))
{
    Console.WriteLine($"  {bytes / 1048576.0,8:0.0} MB  {100.0 * bytes / Math.Max(1, allocated),5:0.0} %  {type}");
}

// Where the most allocated types were allocated: the allocation's stack, each frame outside the BCL's collections
// and async plumbing, up to a few frames of the caller chain (TraceLog resolves managed frames from the rundown).
var stackTypes = new HashSet<string>(bytesByType.OrderByDescending(kv => kv.Value).Take(args.Length > 2 && int.TryParse(args[2], out var st) ? st : 6).Select(kv => kv.Key), StringComparer.Ordinal);
var bySite = new Dictionary<(string Type, string Site), long>();
using (var log = new TraceLog(TraceLog.CreateFromEventPipeDataFile(args[0])))
{
    foreach (var e in log.Events)
    {
        if (e is not GCAllocationTickTraceData tick)
        {
            continue;
        }

        var name = string.IsNullOrEmpty(tick.TypeName) ? $"type {tick.TypeID:x}" : tick.TypeName;
        if (!stackTypes.Contains(name))
        {
            continue;
        }

        var frames = new List<string>();
        for (var frame = e.CallStack(); frame is not null && frames.Count < 4; frame = frame.Caller)
        {
            var method = frame.CodeAddress.FullMethodName;
            if (string.IsNullOrEmpty(method))
            {
                method = "?" + frame.CodeAddress.ModuleName;
            }

            if (method.StartsWith("System.", StringComparison.Ordinal) && frames.Count == 0)
            {
                continue;
            }

            frames.Add(method.Length > 110 ? method[..110] : method);
        }

        var key = (name, string.Join(" < ", frames));
        bySite[key] = bySite.GetValueOrDefault(key) + tick.AllocationAmount64;
    }
}

foreach (var type in stackTypes.OrderByDescending(bytesByType.GetValueOrDefault))
{
    Console.WriteLine($"where {type} was allocated:");
    foreach (var ((_, site), bytes) in bySite.Where(kv => kv.Key.Type == type).OrderByDescending(kv => kv.Value).Take(16))
    {
        Console.WriteLine($"  {bytes / 1048576.0,8:0.0} MB  {site}");
    }
}

Console.WriteLine("collections (GCStart to GCStop, each generation):");
foreach (var (generation, c) in collections.OrderBy(kv => kv.Key))
{
    Console.WriteLine($"  gen{generation}: {c.Count}, {c.Ms:0} ms in all, {c.Ms / c.Count:0.0} ms each");
}

Console.WriteLine($"  suspending the runtime for them: {suspendedMs:0} ms in all");
Console.WriteLine("marked (promoted bytes found from each kind of root, every heap and collection):");
foreach (var (root, bytes) in markedByRoot.OrderByDescending(kv => kv.Value))
{
    Console.WriteLine($"  {bytes / 1048576.0,8:0.0} MB  {root}");
}

return 0;

/// <summary>GCMarkWithType's root kinds (gc.h, <c>mark_root_type</c>).</summary>
internal enum MarkRootType
{
    Stack = 0,
    FinalizeQueue = 1,
    Handles = 2,
    Older = 3,
    SizedRef = 4,
    Overflow = 5,
    DependentHandles = 6,
    NewFQ = 7,
    Steal = 8,
    BGCFreeList = 9,
}
