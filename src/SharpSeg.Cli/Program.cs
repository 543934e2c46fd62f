using SharpSeg.Cli;
using Spectre.Console;

// Redirected output (a log file, CI) gets plain text: no escape codes, and lines not wrapped at the 80-column default.
// Under mpirun a rank's output reaches mpirun through a pseudo-terminal even when mpirun's own goes to a file, and .NET
// would send that terminal its set-up and colour codes: without a terminal type it has none to send.
bool underMpirun = SharpSeg.Distributed.MpiProcessGroup.IsLaunchedByMpirun;
if (underMpirun)
    Environment.SetEnvironmentVariable("TERM", null);
bool plainText = Console.IsOutputRedirected || underMpirun;
var console = plainText
    ? AnsiConsole.Create(new AnsiConsoleSettings { Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors, Interactive = InteractionSupport.No })
    : AnsiConsole.Console;
if (plainText)
    console.Profile.Width = 200;
return SharpSegApp.Run(args, console, Console.Error);
