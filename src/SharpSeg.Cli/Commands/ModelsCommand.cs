using System.CommandLine;
using SharpSeg.Models;
using Spectre.Console;

namespace SharpSeg.Cli.Commands;

/// <summary>
/// <c>sharpseg models</c>: every registered segmentation model and backbone with its other names and a one-line
/// description (<see cref="ModelRegistry"/>); <c>--options</c> adds each model's options and defaults.
/// </summary>
internal static class ModelsCommand
{
    public static Command Create(IAnsiConsole console)
    {
        var showOptions = new Option<bool>("--options") { Description = "Also list every model's options with their defaults (for --model-option NAME=VALUE)." };
        var command = new Command("models", "List the registered segmentation models and backbones.") { showOptions };
        command.SetAction(parse =>
        {
            var entries = ModelRegistry.List().OrderBy(e => e.Kind == RegistryKind.Model ? 0 : 1).ThenBy(e => e.Name, StringComparer.Ordinal);
            var table = new Table().AddColumn("name").AddColumn("kind").AddColumn("also").AddColumn("description");
            foreach (var entry in entries)
                table.AddRow(Markup.Escape(entry.Name), entry.Kind == RegistryKind.Model ? "model" : "backbone",
                    Markup.Escape(string.Join(", ", entry.Aliases)), Markup.Escape(entry.Description));
            console.Write(table);
            if (parse.GetValue(showOptions))
                foreach (var model in entries.Where(e => e.Kind == RegistryKind.Model))
                {
                    var options = new Table().Title(Markup.Escape($"{model.Name} options")).AddColumn("option").AddColumn("type").AddColumn("default");
                    foreach (var option in model.Options)
                        options.AddRow(Markup.Escape(option.CliName), Markup.Escape(TypeName(option.Type)), Markup.Escape(ModelOptionsBinder.Format(option.DefaultValue)));
                    console.Write(options);
                }
            console.WriteLine("Models take --model NAME; models built on a backbone (" +
                              string.Join(", ", ModelRegistry.List().Where(e => e.TakesBackbone).Select(e => e.Name)) +
                              ") take any backbone with --backbone NAME. Names ignore case.");
            return ExitCodes.Success;
        });
        return command;
    }

    private static string TypeName(Type type) =>
        Nullable.GetUnderlyingType(type) is { } inner ? TypeName(inner) + "?"
        : type == typeof(ValueTuple<int, int>) ? "W,H"
        : type.IsGenericType ? $"list of {TypeName(type.GetGenericArguments()[0])}"
        : type.IsEnum ? string.Join("|", Enum.GetNames(type))
        : type.Name.ToLowerInvariant();
}
