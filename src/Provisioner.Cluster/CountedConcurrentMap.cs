using System.Collections;
using System.Collections.Concurrent;

namespace Provisioner.Cluster;

/// <summary>
/// A <see cref="ConcurrentDictionary{TKey,TValue}"/> whose <see cref="Count"/> costs one read. The BCL's Count takes
/// every one of the dictionary's locks (up to 1,024 once the table has grown); the bounds on what remote peers can grow
/// ask it on every add, and on the DHCP path that was a tenth of a busy node's CPU. The count here moves with every
/// successful add and remove, so it may lag a concurrent change by that change: right for a bound, not for an invariant.
/// </summary>
public sealed class CountedConcurrentMap<TKey, TValue> : IEnumerable<KeyValuePair<TKey, TValue>>
    where TKey : notnull
{
    private readonly ConcurrentDictionary<TKey, TValue> _items;
    private int _count;

    public CountedConcurrentMap(IEqualityComparer<TKey>? comparer = null) => _items = new(comparer);

    public int Count => Math.Max(0, Volatile.Read(ref _count));

    public ICollection<TValue> Values => _items.Values;

    public bool ContainsKey(TKey key) => _items.ContainsKey(key);

    public bool TryGetValue(TKey key, out TValue value) => _items.TryGetValue(key, out value!);

    public bool TryAdd(TKey key, TValue value)
    {
        if (!_items.TryAdd(key, value))
        {
            return false;
        }

        Interlocked.Increment(ref _count);
        return true;
    }

    public bool TryUpdate(TKey key, TValue value, TValue comparison) => _items.TryUpdate(key, value, comparison);

    /// <summary>Adds or replaces the value of <paramref name="key"/> (the indexer's setter).</summary>
    public void Set(TKey key, TValue value) => AddOrUpdate(key, static (_, value) => value, static (_, _, value) => value, value);

    /// <summary>
    /// <paramref name="add"/>'s value when <paramref name="key"/> is absent, else <paramref name="update"/> of the value
    /// held, retried until no other writer came between (the factories may run more than once); returns what was stored.
    /// </summary>
    public TValue AddOrUpdate<TArg>(TKey key, Func<TKey, TArg, TValue> add, Func<TKey, TValue, TArg, TValue> update, TArg argument)
    {
        ArgumentNullException.ThrowIfNull(add);
        ArgumentNullException.ThrowIfNull(update);
        while (true)
        {
            if (_items.TryGetValue(key, out var held))
            {
                var updated = update(key, held, argument);
                if (_items.TryUpdate(key, updated, held))
                {
                    return updated;
                }
            }
            else
            {
                var added = add(key, argument);
                if (TryAdd(key, added))
                {
                    return added;
                }
            }
        }
    }

    public bool TryRemove(TKey key, out TValue value)
    {
        if (!_items.TryRemove(key, out value!))
        {
            return false;
        }

        Interlocked.Decrement(ref _count);
        return true;
    }

    public bool TryRemove(TKey key) => TryRemove(key, out _);

    /// <summary>Removes <paramref name="item"/>'s key only while it still holds <paramref name="item"/>'s value.</summary>
    public bool TryRemove(KeyValuePair<TKey, TValue> item)
    {
        if (!_items.TryRemove(item))
        {
            return false;
        }

        Interlocked.Decrement(ref _count);
        return true;
    }

    /// <summary>Removes every entry, one by one so that the count follows.</summary>
    public void Clear()
    {
        foreach (var key in _items.Keys)
        {
            TryRemove(key);
        }
    }

    public IEnumerator<KeyValuePair<TKey, TValue>> GetEnumerator() => _items.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
