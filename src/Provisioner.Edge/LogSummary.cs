namespace Provisioner.Edge;

/// <summary>
/// One log line per cause per interval, with a count: the first occurrence of a cause in an interval may be
/// logged (<see cref="TryLog"/> returns true, with how many were suppressed since the last line), the rest of
/// that interval is only counted. A flood of bad packets then costs a handful of lines, not one per packet.
/// <para>
/// Causes are an enum, never a client-controlled string, and at most <c>maxCauses</c> distinct ones get their
/// own line; any further cause shares one overflow slot, so the table cannot grow whatever the values.
/// Thread-safe.
/// </para>
/// </summary>
/// <typeparam name="TCause">The fixed set of causes.</typeparam>
public sealed class LogSummary<TCause>
    where TCause : struct, Enum
{
    private readonly TimeSpan _interval;
    private readonly TimeProvider _time;
    private readonly int _maxCauses;
    private readonly Lock _gate = new();
    private readonly Dictionary<TCause, Slot> _slots = [];
    private readonly Slot _overflow = new();

    /// <summary>Creates a summary that lets one line per cause through every <paramref name="interval"/>.</summary>
    public LogSummary(TimeSpan interval, TimeProvider time, int maxCauses = 64)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCauses, 1);
        _interval = interval;
        _time = time;
        _maxCauses = maxCauses;
    }

    /// <summary>Distinct causes holding their own slot (at most the bound given at construction).</summary>
    public int Causes
    {
        get
        {
            lock (_gate)
            {
                return _slots.Count;
            }
        }
    }

    /// <summary>
    /// True when this occurrence of <paramref name="cause"/> should be logged (the first of its interval);
    /// <paramref name="suppressed"/> is then the number of occurrences not logged since the previous line.
    /// False (count it, log nothing) otherwise.
    /// </summary>
    public bool TryLog(TCause cause, out long suppressed)
    {
        var now = _time.GetTimestamp();
        lock (_gate)
        {
            if (!_slots.TryGetValue(cause, out var slot))
            {
                if (_slots.Count < _maxCauses)
                {
                    slot = new Slot();
                    _slots.Add(cause, slot);
                }
                else
                {
                    slot = _overflow;
                }
            }

            if (slot.Logged && _time.GetElapsedTime(slot.LastLine, now) < _interval)
            {
                slot.Suppressed++;
                suppressed = 0;
                return false;
            }

            suppressed = slot.Suppressed;
            slot.Suppressed = 0;
            slot.LastLine = now;
            slot.Logged = true;
            return true;
        }
    }

    private sealed class Slot
    {
        public long LastLine;
        public long Suppressed;
        public bool Logged;
    }
}
