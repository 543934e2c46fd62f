using System.CommandLine;
using System.CommandLine.Parsing;
using SharpSeg.Cli.Commands;
using SharpSeg.Data;
using SharpSeg.Data.Loading;
using SharpSeg.Training;
using SharpSeg.Training.Checkpoints;
using Spectre.Console;

namespace SharpSeg.Cli;

/// <summary>
/// The <c>sharpseg</c> command: builds the command tree, parses, runs the chosen command and turns every failure into
/// a one-line message and an exit code (<see cref="ExitCodes"/>): usage errors 2, runtime failures 1, no stack traces.
/// </summary>
internal static class SharpSegApp
{
    /// <summary>Set to 1 to print the stack trace of a failure after its message.</summary>
    public const string StackTraceVariable = "SHARPSEG_STACK_TRACE";

    /// <summary>
    /// How long a command may take to stop after Ctrl+C before the process ends anyway: training stops before its next
    /// step, and one step of a large model on a CPU can take this long.
    /// </summary>
    private static readonly TimeSpan InterruptTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Runs the command line <paramref name="args"/>, writing results to <paramref name="console"/> and error messages to
    /// <paramref name="error"/>; returns the process exit code. Ctrl+C, or <paramref name="cancellationToken"/>, cancels
    /// the command's token.
    /// </summary>
    public static int Run(string[] args, IAnsiConsole console, TextWriter error, CancellationToken cancellationToken = default)
    {
        var root = BuildCommand(console);
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var parseError in parse.Errors)
                error.WriteLine($"error: {parseError.Message}");
            error.WriteLine(HelpHint(parse));
            return ExitCodes.Usage;
        }

        try
        {
            var configuration = new InvocationConfiguration
            {
                Output = console.Profile.Out.Writer,
                Error = error,
                EnableDefaultExceptionHandler = false,
                ProcessTerminationTimeout = InterruptTimeout,
            };
            return parse.InvokeAsync(configuration, cancellationToken).GetAwaiter().GetResult();
        }
        catch (Exception e)
        {
            var (code, message) = Classify(e);
            error.WriteLine($"error: {message}");
            if (code == ExitCodes.Usage)
                error.WriteLine(HelpHint(parse));
            // A bug report needs the stack trace that users should not see by default.
            if (Environment.GetEnvironmentVariable(StackTraceVariable) is "1")
                error.WriteLine(e);
            return code;
        }
    }

    /// <summary>The root command with every subcommand.</summary>
    public static RootCommand BuildCommand(IAnsiConsole console)
    {
        var root = new RootCommand(
            "SharpSeg: semantic segmentation in pure managed .NET. Train, evaluate and predict with DeepLabV3+, UNet and " +
            "the other registered models on PaddleSeg-format data, or run the self-contained demo.");
        root.Subcommands.Add(TrainCommand.Create(console));
        root.Subcommands.Add(EvaluateCommand.Create(console));
        root.Subcommands.Add(PredictCommand.Create(console));
        root.Subcommands.Add(DescribeCommand.Create(console));
        root.Subcommands.Add(ExportCommand.Create(console));
        root.Subcommands.Add(ReportCommand.Create(console));
        root.Subcommands.Add(ModelsCommand.Create(console));
        root.Subcommands.Add(DemoCommand.Create(console));
        root.Subcommands.Add(ConvertCommand.Create(console));
        root.Subcommands.Add(DetectCommand.Create(console));
        return root;
    }

    /// <summary>
    /// The exit code and message for an exception escaping a command: <see cref="UsageException"/> (what the command
    /// checks before it starts) is 2; everything else, the library's own argument checks included, is a runtime
    /// failure, 1. Known failures print their message alone (it names the file and the problem); others add the type.
    /// </summary>
    internal static (int Code, string Message) Classify(Exception e)
    {
        while (e is AggregateException { InnerExceptions.Count: 1 } aggregate)
            e = aggregate.InnerExceptions[0];
        return e switch
        {
            UsageException or Training.Config.ConfigException => (ExitCodes.Usage, e.Message),
            SampleLoadException or CheckpointException or ArgumentException or ImageFormatException or InvalidDataException
                or IOException or UnauthorizedAccessException or NonFiniteLossException or TrainingFailedException
                or Onnx.OnnxExportException or Distributed.MpiNotAvailableException or Distributed.MpiException => (ExitCodes.Failure, e.Message),
            _ => (ExitCodes.Failure, $"{e.GetType().Name}: {e.Message}"),
        };
    }

    private static string HelpHint(ParseResult parse)
    {
        var names = new List<string> { "sharpseg" };
        for (var result = parse.CommandResult; result.Command is not RootCommand && result.Parent is CommandResult parent; result = parent)
            names.Insert(1, result.Command.Name);
        return $"Run '{string.Join(' ', names)} --help' for usage.";
    }
}
