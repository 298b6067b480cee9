using Provisioner.Cluster.Tests.Support;

namespace Provisioner.Cluster.Tests.Hosting;

/// <summary>
/// Journal settings the benchmarks found (STACK.md P3): on SQLite every read, the query side's included, is a deferred
/// transaction; tags live in the journal row.
/// </summary>
public sealed class JournalSettingsTests
{
    [Theory]
    [InlineData("akka.persistence.journal.sql.read-isolation-level")]
    [InlineData("akka.persistence.snapshot-store.sql.read-isolation-level")]
    [InlineData("akka.persistence.query.journal.sql.read-isolation-level")]
    public async Task Reads_never_take_the_write_lock(string key)
    {
        // "unspecified" begins IMMEDIATE in Microsoft.Data.Sqlite: the read model's poll then stalled journal writes.
        using var data = new TempDirectory();
        await using var node = await TestNode.StartAsync(TestNode.SettingsFor(data.Path));

        Assert.Equal("read-uncommitted", node.System.Settings.Config.GetString(key));
    }

    [Fact]
    public async Task Tags_are_written_in_the_journal_row_and_read_from_it()
    {
        // A tag table is written row by row: with it, new PXE machines were acknowledged 5x slower (memory.sh).
        using var data = new TempDirectory();
        await using var node = await TestNode.StartAsync(TestNode.SettingsFor(data.Path));

        Assert.Equal("Csv", node.System.Settings.Config.GetString("akka.persistence.journal.sql.tag-write-mode"));
        Assert.Equal("Csv", node.System.Settings.Config.GetString("akka.persistence.query.journal.sql.tag-read-mode"));
    }
}
