namespace Provisioner.Cluster.Tests.Support;

/// <summary>Polls a read until it satisfies a condition, within a bound; the last value read is in the failure message.</summary>
public static class Eventually
{
    public static readonly TimeSpan DefaultBound = TimeSpan.FromSeconds(20);

    public static async Task<T> Until<T>(Func<Task<T>> read, Func<T, bool> done, string what, TimeSpan? within = null)
    {
        ArgumentNullException.ThrowIfNull(read);
        ArgumentNullException.ThrowIfNull(done);
        var deadline = DateTime.UtcNow + (within ?? DefaultBound);
        while (true)
        {
            var value = await read();
            if (done(value))
            {
                return value;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{what}: not within {within ?? DefaultBound}; last read {value}");
            }

            await Task.Delay(50);
        }
    }

    public static Task<T> Until<T>(Func<T> read, Func<T, bool> done, string what, TimeSpan? within = null) =>
        Until(() => Task.FromResult(read()), done, what, within);
}
