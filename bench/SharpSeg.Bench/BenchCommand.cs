namespace SharpSeg.Bench;

/// <summary>
/// Command line: <c>ops [--threads N] [--case substring] [--trials N]</c> or
/// <c>models [--threads N] [--workload substring] [--warmups N] [--runs N] [--no-buffer-reuse]</c> or, under <c>mpirun -np N</c>,
/// <c>distributed [--threads N] [--floats N] [--bucket-mb X] [--steps N] [--batch N]</c>.
/// </summary>
internal static class BenchCommand
{
    public static int Run(string[] args)
    {
        if (args.Length == 0) return Usage("expected the command 'ops', 'models' or 'distributed'");
        return args[0] switch
        {
            "ops" => RunOps(args),
            "models" or "model-workload" => RunModels(args),
            "distributed" => RunDistributed(args),
            _ => Usage($"unknown command '{args[0]}'"),
        };
    }

    private static int RunOps(string[] args)
    {
        string? filter = null;
        for (int i = 1; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--threads" when TryCount(args, i, out int threads):
                    Engine.Threads = threads;
                    i++;
                    break;
                case "--trials" when TryCount(args, i, out int trials):
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

    private static int RunModels(string[] args)
    {
        // The child-process form names its workload right after the command.
        bool child = args[0] == "model-workload";
        if (child && args.Length < 2) return Usage("model-workload needs a workload name");
        int threads = 2, warmUps = 2, runs = 5;
        bool reuseBuffers = true;
        string? filter = null;
        for (int i = child ? 2 : 1; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--threads" when TryCount(args, i, out threads):
                case "--warmups" when TryCount(args, i, out warmUps):
                case "--runs" when TryCount(args, i, out runs):
                    i++;
                    break;
                case "--no-buffer-reuse":
                    reuseBuffers = false;
                    break;
                case "--workload" when !child && i + 1 < args.Length:
                    filter = args[++i];
                    break;
                default:
                    return Usage($"unknown or incomplete option '{args[i]}'");
            }
        }
        var settings = new ModelsCommand.Settings(threads, warmUps, runs, filter, reuseBuffers);
        return child ? ModelsCommand.RunOne(args[1], settings) : ModelsCommand.RunAll(settings);
    }

    private static int RunDistributed(string[] args)
    {
        int threads = 1, steps = 10, batch = 4, floats = 25_000_000, bucketMegabytes = 25;
        for (int i = 1; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--threads" when TryCount(args, i, out threads):
                case "--steps" when TryCount(args, i, out steps):
                case "--batch" when TryCount(args, i, out batch):
                case "--floats" when TryCount(args, i, out floats):
                case "--bucket-mb" when TryCount(args, i, out bucketMegabytes):
                    i++;
                    break;
                default:
                    return Usage($"unknown or incomplete option '{args[i]}'");
            }
        }
        return DistributedCommand.Run(new DistributedCommand.Settings(threads, floats, bucketMegabytes, steps, batch));
    }

    private static bool TryCount(string[] args, int i, out int value)
    {
        value = 0;
        return i + 1 < args.Length && int.TryParse(args[i + 1], out value) && value >= 1;
    }

    private static int Usage(string problem)
    {
        Console.Error.WriteLine($"SharpSeg.Bench: {problem}");
        Console.Error.WriteLine("usage: SharpSeg.Bench ops [--threads N] [--case substring] [--trials N (default 5, best of)]");
        Console.Error.WriteLine("       SharpSeg.Bench models [--threads N (default 2)] [--workload substring] [--warmups N (default 2)] [--runs N (default 5)] [--no-buffer-reuse]");
        Console.Error.WriteLine("       mpirun -np N SharpSeg.Bench distributed [--threads N per rank (default 1)] [--floats N (default 25000000)] [--bucket-mb N (default 25)]");
        Console.Error.WriteLine("                                            [--steps N (default 10)] [--batch N per rank (default 4)]");
        return 2;
    }
}
