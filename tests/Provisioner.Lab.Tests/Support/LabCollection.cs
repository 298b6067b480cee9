namespace Provisioner.Lab.Tests.Support;

/// <summary>Lab tests run one at a time: each starts a real node and (some) a VM on a 2-core machine.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LabCollection
{
    public const string Name = "lab";
}

/// <summary>A temporary directory for a lab node (data, config, assets), removed at the end.</summary>
public sealed class LabDirectory : IDisposable
{
    public LabDirectory() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "provisioner-lab-" + Guid.NewGuid().ToString("N")[..12]);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
