using System.Diagnostics;
using System.Globalization;
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

    /// <summary>
    /// Starts <c>sharpseg</c> as a child process in <paramref name="workingDirectory"/>, sends it a real SIGINT once a line
    /// of its output starts with <paramref name="linePrefix"/>, and returns its exit code and error stream (Linux only:
    /// sending a signal needs <c>kill</c>; the in-process <see cref="RunUntil"/> covers the same path elsewhere).
    /// </summary>
    public static async Task<Result> InterruptWhenAsync(string linePrefix, string workingDirectory, params string[] args)
    {
        // A job started with '&' by a shell without job control (a CI script, nohup) inherits SIGINT as ignored, and .NET
        // then keeps ignoring it; coreutils' env restores the default disposition so the child can receive the signal.
        var start = new ProcessStartInfo("env") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workingDirectory };
        foreach (string argument in (string[])["--default-signal=INT", "dotnet", Path.Combine(AppContext.BaseDirectory, "sharpseg.dll"), .. args])
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        var output = new StringWriter();
        string? line;
        while ((line = await process.StandardOutput.ReadLineAsync()) is not null && !line.StartsWith(linePrefix, StringComparison.Ordinal))
            output.WriteLine(line);
        using (var kill = Process.Start("kill", ["-INT", process.Id.ToString(CultureInfo.InvariantCulture)]))
            await kill.WaitForExitAsync();
        output.Write(await process.StandardOutput.ReadToEndAsync());
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        finally
        {
            if (!process.HasExited)
                process.Kill();
        }
        return new Result(process.ExitCode, output.ToString(), await error);
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
