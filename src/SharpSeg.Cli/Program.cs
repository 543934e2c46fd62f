using SharpSeg.Cli;
using Spectre.Console;

// Redirected output (a log file, CI) gets plain text: no escape codes, and lines not wrapped at the 80-column default.
// Under mpirun a rank's output reaches mpirun through a pseudo-terminal even when mpirun's own goes to a file.
bool plainText = Console.IsOutputRedirected || SharpSeg.Distributed.MpiProcessGroup.IsLaunchedByMpirun;
var console = plainText
    ? AnsiConsole.Create(new AnsiConsoleSettings { Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors, Interactive = InteractionSupport.No })
    : AnsiConsole.Console;
if (plainText)
    console.Profile.Width = 200;
return SharpSegApp.Run(args, console, Console.Error);
