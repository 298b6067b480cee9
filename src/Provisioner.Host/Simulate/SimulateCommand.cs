using System.Text.Json;
using Provisioner.Host.Admin;

namespace Provisioner.Host.Simulate;

/// <summary><c>provisioner simulate</c>: parse, run the storm (Ctrl-C ends it early, every machine still accounted for), report.</summary>
public static class SimulateCommand
{
    public static async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        var options = SimulateOptions.Parse(args, Environment.GetEnvironmentVariable);
        if (options is null)
        {
            await stdout.WriteLineAsync(SimulateOptions.Help);
            return Cli.CommandLine.Ok;
        }

        using var interrupt = new CancellationTokenSource();
        void OnCancel(object? sender, ConsoleCancelEventArgs e)
        {
            e.Cancel = true;
            interrupt.Cancel();
        }

        Console.CancelKeyPress += OnCancel;
        SimulationReport report;
        try
        {
            report = await Simulator.RunAsync(options, interrupt.Token);
        }
        catch (SimulationFailedException e)
        {
            await stderr.WriteLineAsync($"provisioner: simulate: {e.Message}");
            return Cli.CommandLine.Failed;
        }
        finally
        {
            Console.CancelKeyPress -= OnCancel;
        }

        await stdout.WriteAsync(options.Json ? JsonSerializer.Serialize(report, AdminJson.Pretty) + Environment.NewLine : report.Render());
        return report.Ok ? Cli.CommandLine.Ok : Cli.CommandLine.Failed;
    }
}
