using System.CommandLine;
using SharpSeg.Models;
using Spectre.Console;

namespace SharpSeg.Cli.Commands;

/// <summary><c>sharpseg models</c>: the registered segmentation models and backbones (<see cref="ModelRegistry"/>).</summary>
internal static class ModelsCommand
{
    public static Command Create(IAnsiConsole console)
    {
        var command = new Command("models", "List the registered segmentation models and backbones.");
        command.SetAction(_ =>
        {
            var entries = ModelRegistry.List().OrderBy(e => e.Kind == RegistryKind.Model ? 0 : 1).ThenBy(e => e.Name, StringComparer.Ordinal);
            var table = new Table().AddColumn("name").AddColumn("kind").AddColumn("defined in");
            foreach (var entry in entries)
                table.AddRow(entry.Name, entry.Kind == RegistryKind.Model ? "model" : "backbone", entry.Factory.DeclaringType?.Name ?? "");
            console.Write(table);
            console.WriteLine("Models take --model NAME; DeepLabV3+ takes any backbone with --backbone NAME.");
            return ExitCodes.Success;
        });
        return command;
    }
}
