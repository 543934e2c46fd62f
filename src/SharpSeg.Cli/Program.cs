using SharpSeg.Cli;

return SharpSegApp.Run(args, Spectre.Console.AnsiConsole.Console, Console.Error);
