using SharpSeg.Cli;
using Spectre.Console;

// Redirected output (a log file, CI) gets plain text: no escape codes, and lines not wrapped at the 80-column default.
var console = Console.IsOutputRedirected
    ? AnsiConsole.Create(new AnsiConsoleSettings { Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors })
    : AnsiConsole.Console;
if (Console.IsOutputRedirected)
    console.Profile.Width = 200;
return SharpSegApp.Run(args, console, Console.Error);
