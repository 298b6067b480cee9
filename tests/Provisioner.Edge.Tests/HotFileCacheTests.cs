using Provisioner.Edge;

namespace Provisioner.Edge.Tests;

public sealed class HotFileCacheTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hot-file-cache-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private (string Path, FileInfo Info) Write(string name, int length)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, new byte[length]);
        return (path, new FileInfo(path));
    }

    private static byte[]? Get(HotFileCache cache, (string Path, FileInfo Info) file)
    {
        file.Info.Refresh();
        return cache.GetOrLoad(file.Path, file.Info.Length, file.Info.LastWriteTimeUtc);
    }

    [Fact]
    public void Least_recently_used_file_is_evicted_first_and_the_budget_holds()
    {
        var cache = new HotFileCache(100);
        var a = Write("a", 60);
        var b = Write("b", 30);
        var c = Write("c", 40);

        var first = Get(cache, a);
        Get(cache, b);
        Assert.Same(first, Get(cache, a)); // a is now the most recently used
        Get(cache, c);                     // 60 + 30 + 40 > 100: b goes, a stays

        Assert.Equal(2, cache.Count);
        Assert.Equal(100, cache.Size);
        Assert.Same(first, Get(cache, a));
    }

    [Fact]
    public void File_larger_than_the_budget_is_not_cached()
    {
        var cache = new HotFileCache(10);

        Assert.Null(Get(cache, Write("big", 11)));
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public void File_over_the_per_file_limit_is_not_cached_though_it_fits_the_budget()
    {
        var cache = new HotFileCache(1000, maxFileBytes: 50);

        Assert.Null(Get(cache, Write("kernel", 51)));
        Assert.NotNull(Get(cache, Write("script", 50)));
        Assert.Equal(1, cache.Count);
    }

    [Fact]
    public void Same_length_but_new_mtime_is_read_again()
    {
        var cache = new HotFileCache(1000);
        var f = Write("f", 10);
        var first = Get(cache, f);
        File.WriteAllBytes(f.Path, Enumerable.Repeat((byte)7, 10).ToArray());
        File.SetLastWriteTimeUtc(f.Path, DateTime.UtcNow.AddSeconds(5));

        var second = Get(cache, f);

        Assert.NotSame(first, second);
        Assert.All(second!, b => Assert.Equal(7, b));
        Assert.Equal(1, cache.Count);
        Assert.Equal(10, cache.Size);
    }
}
