using Spectre.Console;

namespace SharpSeg.Cli.Tests;

/// <summary>Runs <c>sharpseg</c> in-process with its console and error stream captured.</summary>
internal static class CliRunner
{
    public sealed record Result(int ExitCode, string Output, string Error);

    public static Result Run(params string[] args) => Run(new StringWriter(), CancellationToken.None, args);

    /// <summary>Runs the command and cancels it, as Ctrl+C does, once its output contains <paramref name="trigger"/>.</summary>
    public static Result RunUntil(string trigger, params string[] args)
    {
        using var interrupt = new CancellationTokenSource();
        return Run(new TriggerWriter(trigger, interrupt), interrupt.Token, args);
    }

    private static Result Run(StringWriter output, CancellationToken cancellationToken, string[] args)
    {
        var error = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(output),
        });
        console.Profile.Width = 240;
        int code = SharpSegApp.Run(args, console, error, cancellationToken);
        return new Result(code, output.ToString(), error.ToString());
    }

    /// <summary>Captures the output and cancels <paramref name="interrupt"/> once the text written contains <paramref name="trigger"/>.</summary>
    private sealed class TriggerWriter(string trigger, CancellationTokenSource interrupt) : StringWriter
    {
        public override void Write(char value)
        {
            base.Write(value);
            CancelOnTrigger();
        }

        public override void Write(string? value)
        {
            base.Write(value);
            CancelOnTrigger();
        }

        public override void Write(char[] buffer, int index, int count)
        {
            base.Write(buffer, index, count);
            CancelOnTrigger();
        }

        private void CancelOnTrigger()
        {
            if (!interrupt.IsCancellationRequested && ToString().Contains(trigger, StringComparison.Ordinal))
                interrupt.Cancel();
        }
    }
}

/// <summary>A fresh folder under the system temp folder, deleted on dispose.</summary>
internal sealed class TempFolder : IDisposable
{
    public TempFolder() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "sharpseg-cli-" + Guid.NewGuid().ToString("N"));

    public string this[string relative] => System.IO.Path.Combine(Path, relative);

    public void Dispose()
    {
        if (Directory.Exists(Path))
            Directory.Delete(Path, recursive: true);
    }
}
