using Provisioner.Host.Admin;
using Xunit.Abstractions;

namespace Provisioner.Lab.Tests.Support;

/// <summary>A machine's journey as the lab's boot tests check and print it.</summary>
public static class Journey
{
    /// <summary>Every step appears in the machine's events, in this order (other events may come between).</summary>
    public static void AssertInOrder(MachineDto machine, params string[] steps)
    {
        ArgumentNullException.ThrowIfNull(machine);
        var types = machine.Events.Select(e => e.Type).ToList();
        var position = -1;
        foreach (var step in steps)
        {
            var found = types.IndexOf(step, position + 1);
            Assert.True(found > position, $"journey step {step} missing or out of order in: {string.Join(", ", types)}");
            position = found;
        }
    }

    /// <summary>The events, each with its time after the first Discovered.</summary>
    public static void Print(MachineDto machine, ITestOutputHelper output)
    {
        ArgumentNullException.ThrowIfNull(machine);
        ArgumentNullException.ThrowIfNull(output);
        var first = machine.Events.First(e => e.Type == "Discovered").At;
        foreach (var e in machine.Events)
        {
            output.WriteLine($"  +{(e.At - first).TotalSeconds,6:0.00} s  {e.Type,-17} {e.Detail}");
        }
    }
}
