namespace SharpSeg.Bench;

/// <summary>Command line: <c>ops [--threads N] [--case substring] [--trials N]</c>.</summary>
internal static class BenchCommand
{
    public static int Run(string[] args)
    {
        if (args.Length == 0 || args[0] != "ops") return Usage("expected the command 'ops'");
        string? filter = null;
        for (int i = 1; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--threads" when i + 1 < args.Length && int.TryParse(args[i + 1], out int threads) && threads >= 1:
                    Engine.Threads = threads;
                    i++;
                    break;
                case "--trials" when i + 1 < args.Length && int.TryParse(args[i + 1], out int trials) && trials >= 1:
                    OpCase.Trials = trials;
                    i++;
                    break;
                case "--case" when i + 1 < args.Length:
                    filter = args[++i];
                    break;
                default:
                    return Usage($"unknown or incomplete option '{args[i]}'");
            }
        }

        var machine = MachineBounds.Measure(Engine.Threads);
        Console.WriteLine(machine.ToJson());
        foreach (var benchCase in OpCases.All())
        {
            if (filter is not null && !benchCase.Name.Contains(filter, StringComparison.Ordinal)) continue;
            Console.WriteLine(benchCase.Measure(machine).ToString());
        }
        return 0;
    }

    private static int Usage(string problem)
    {
        Console.Error.WriteLine($"SharpSeg.Bench: {problem}");
        Console.Error.WriteLine("usage: SharpSeg.Bench ops [--threads N] [--case substring] [--trials N (default 5, best of)]");
        return 2;
    }
}
