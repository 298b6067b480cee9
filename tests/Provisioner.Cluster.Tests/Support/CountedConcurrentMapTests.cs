using Provisioner.Cluster;

namespace Provisioner.Cluster.Tests.Support;

public class CountedConcurrentMapTests
{
    [Fact]
    public void Count_follows_every_add_replace_and_remove()
    {
        var map = new CountedConcurrentMap<string, int>(StringComparer.Ordinal);
        Assert.True(map.TryAdd("a", 1));
        Assert.False(map.TryAdd("a", 2));
        map.Set("a", 3);
        map.Set("b", 4);
        Assert.Equal(2, map.Count);
        Assert.True(map.TryGetValue("a", out var a));
        Assert.Equal(3, a);

        // A remove that names a value removes only while the key still holds it.
        Assert.False(map.TryRemove(KeyValuePair.Create("a", 1)));
        Assert.True(map.TryRemove(KeyValuePair.Create("a", 3)));
        Assert.False(map.TryRemove("a"));
        Assert.Equal(1, map.Count);

        map.Clear();
        Assert.Equal(0, map.Count);
        Assert.Empty(map);
    }

    [Fact]
    public void Count_is_exact_once_concurrent_writers_are_done()
    {
        var map = new CountedConcurrentMap<int, int>();
        // Four threads race on the same 5,000 keys: adds against sets, removes against removes.
        Parallel.For(0, 4, t =>
        {
            for (var i = 0; i < 5_000; i++)
            {
                if (t % 2 == 0)
                {
                    map.TryAdd(i, t);
                }
                else
                {
                    map.Set(i, t);
                }
            }
        });
        Assert.Equal(5_000, map.Count);
        Assert.Equal(map.Count, map.ToArray().Length); // what enumeration finds, not the kept count

        Parallel.For(0, 4, t =>
        {
            for (var i = t % 2; i < 5_000; i += 2)
            {
                map.TryRemove(i);
            }
        });
        Assert.Equal(0, map.Count);
        Assert.Empty(map);
    }
}
