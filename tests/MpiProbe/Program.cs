using System.Diagnostics;
using System.Globalization;
using SharpSeg.Distributed;

// Scenarios run by SharpSeg.Distributed.Tests under `mpirun -np 2`; each rank prints "rank R: NAME values…" lines that the
// tests compare with the sums they compute themselves.
//   collectives: every collective, blocking and not, whole and split into tiny chunks;
//   throw:       rank 1 fails while rank 0 waits in a barrier (the job must end, naming rank 1);
//   kill:        rank 1 kills itself with SIGKILL while rank 0 waits in a barrier;
//   train:       data-parallel Segmenter.Train and sharded evaluation (TrainingScenario).
string scenario = args.Length > 0 ? args[0] : "collectives";
using var group = MpiProcessGroup.Initialize();
try
{
    switch (scenario)
    {
        case "collectives":
            Collectives(group);
            group.MaxBytesPerCall = 12;
            Print(group, "chunked", "");
            Collectives(group);
            break;
        case "throw":
            if (group.Rank == 1)
                throw new InvalidOperationException("the probe fails on purpose");
            group.Barrier();
            break;
        case "kill":
            // Process.Kill sends SIGKILL on Linux: no handler, no MPI_Abort, the way the kernel's OOM killer ends a rank.
            if (group.Rank == 1)
                Process.GetCurrentProcess().Kill();
            group.Barrier();
            break;
        case "train":
            TrainingScenario.Run(group, args);
            break;
        default:
            throw new ArgumentException($"unknown scenario '{scenario}'");
    }
}
catch (Exception e)
{
    group.Abort($"{e.GetType().Name}: {e.Message}");
}
return 0;

static void Collectives(MpiProcessGroup group)
{
    int r = group.Rank;
    Print(group, "size", group.Size.ToString(CultureInfo.InvariantCulture));

    float[] floats = [r + 1, 0.25f * (r + 1), -3 * r, 1e7f + r, 7];
    group.AllReduceSum(floats);
    Print(group, "float", Join(floats));

    double[] doubles = [0.1 * (r + 1), 1e300 * (r + 1), -r];
    group.AllReduceSum(doubles);
    Print(group, "double", Join(doubles));

    // Beyond 2^53, where a reduction through double would lose the low bits.
    long[] longs = [(1L << 60) + r, -r - 1];
    group.AllReduceSum(longs);
    Print(group, "long", Join(longs));

    // Only [2, 2+5) is reduced; the elements around it must stay this rank's own.
    float[] buffer = Enumerable.Range(0, 9).Select(i => (float)(10 * r + i)).ToArray();
    var pending = group.StartAllReduceSum(buffer, 2, 5);
    float[] second = [r, 2 * r];
    var other = group.StartAllReduceSum(second, 0, 2);
    pending.Wait();
    other.Wait();
    pending.Wait();
    Print(group, "nonblocking", Join(buffer) + " | " + Join(second));

    float[] broadcast = [r + 0.5f, r * 2, 42 + r];
    group.Broadcast(broadcast, root: 1);
    Print(group, "broadcast-float", Join(broadcast));
    byte[] bytes = Enumerable.Range(0, 30).Select(i => (byte)(i * (r + 3))).ToArray();
    group.Broadcast(bytes, root: 0);
    Print(group, "broadcast-byte", Join(bytes));

    // Different lengths per rank, one of them empty.
    byte[] mine = Enumerable.Range(0, r == 0 ? 0 : 17 * r).Select(i => (byte)(i + r)).ToArray();
    var gathered = group.AllGather(mine);
    Print(group, "allgather", string.Join(" | ", gathered.Select(Join)));

    group.Barrier();
    Print(group, "barrier", "passed");

    // .NET turns a null dereference into an exception through its SIGSEGV handler; MPI must not have replaced it.
    try
    {
        object? nothing = Environment.GetEnvironmentVariable("SHARPSEG_PROBE_UNSET_VARIABLE");
        Print(group, "nullref", nothing!.GetHashCode().ToString(CultureInfo.InvariantCulture));
    }
    catch (NullReferenceException)
    {
        Print(group, "nullref", "caught");
    }
}

static void Print(MpiProcessGroup group, string name, string values) =>
    Console.WriteLine($"rank {group.Rank}: {name} {values}");

static string Join<T>(IEnumerable<T> values) where T : IFormattable =>
    string.Join(' ', values.Select(v => v.ToString("R", CultureInfo.InvariantCulture)));
