using System.CommandLine;

namespace SharpSeg.Cli;

/// <summary>Adding a command's options in one call, so an argument group reads as the list <c>--help</c> prints.</summary>
internal static class CommandOptions
{
    /// <summary>Adds <paramref name="options"/> to <paramref name="command"/> in the order given, the order of its help.</summary>
    public static void AddOptions(this Command command, params ReadOnlySpan<Option> options)
    {
        foreach (var option in options) command.Options.Add(option);
    }
}
