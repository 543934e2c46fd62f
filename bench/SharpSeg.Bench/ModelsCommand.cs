using System.Diagnostics;
using SharpSeg.Ops;

namespace SharpSeg.Bench;

/// <summary>
/// <c>models</c>: times whole-model workloads (<see cref="ModelWorkloads"/>). Each workload runs in a child process of
/// the bench (<c>model-workload NAME</c>) so its peak RSS (VmHWM) is its own and not the previous workload's.
/// </summary>
internal static class ModelsCommand
{
    /// <param name="ReuseBuffers">Whether each step runs in an <see cref="Engine.ReuseBuffers"/> scope, as Segmenter and Detector run theirs.</param>
    public sealed record Settings(int Threads, int WarmUps, int Runs, string? Filter, bool ReuseBuffers = true);

    public static int RunAll(Settings settings)
    {
        var selected = ModelWorkloads.All().Where(w => settings.Filter is null || w.Name.Contains(settings.Filter, StringComparison.Ordinal)).ToList();
        if (selected.Count == 0)
        {
            Console.Error.WriteLine($"SharpSeg.Bench: no workload matches '{settings.Filter}'; workloads: {string.Join(", ", ModelWorkloads.All().Select(w => w.Name))}");
            return 2;
        }
        int failures = 0;
        foreach (var workload in selected)
        {
            var start = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, UseShellExecute = false };
            if (!Environment.ProcessPath!.EndsWith("SharpSeg.Bench", StringComparison.Ordinal))
                start.ArgumentList.Add(typeof(ModelsCommand).Assembly.Location);
            foreach (var arg in new[] { "model-workload", workload.Name, "--threads", settings.Threads.ToString(), "--warmups", settings.WarmUps.ToString(), "--runs", settings.Runs.ToString() })
                start.ArgumentList.Add(arg);
            if (!settings.ReuseBuffers) start.ArgumentList.Add("--no-buffer-reuse");
            using var child = Process.Start(start)!;
            string output = child.StandardOutput.ReadToEnd();
            child.WaitForExit();
            if (child.ExitCode != 0 || output.Trim().Length == 0)
            {
                failures++;
                Console.WriteLine(new JsonLine().Add("workload", workload.Name).Add("error", $"child process exited with {child.ExitCode}"));
            }
            else
            {
                Console.Write(output);
            }
        }
        return failures == 0 ? 0 : 1;
    }

    /// <summary>Runs one workload in this process and prints its JSON line.</summary>
    public static int RunOne(string name, Settings settings)
    {
        var workload = ModelWorkloads.All().FirstOrDefault(w => w.Name == name);
        if (workload is null)
        {
            Console.Error.WriteLine($"SharpSeg.Bench: unknown workload '{name}'");
            return 2;
        }
        Engine.Threads = settings.Threads;
        Engine.ManualSeed(0);
        var step = workload.Build();
        void Run()
        {
            if (!settings.ReuseBuffers)
            {
                step.Run();
                return;
            }
            using var reuse = Engine.ReuseBuffers();
            step.Run();
        }
        for (int i = 0; i < settings.WarmUps; i++) Run();

        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var pauseBefore = GC.GetTotalPauseDuration();
        int gcBefore = GC.CollectionCount(0), gen2Before = GC.CollectionCount(2);
        long faultsBefore = MinorPageFaults(), missedBefore = BufferPool.MissedBytes;
        var seconds = new double[settings.Runs];
        for (int i = 0; i < settings.Runs; i++)
        {
            var clock = Stopwatch.StartNew();
            Run();
            seconds[i] = clock.Elapsed.TotalSeconds;
        }
        double runs = settings.Runs;
        double allocatedPerStep = (GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore) / runs;
        double pausePerStep = (GC.GetTotalPauseDuration() - pauseBefore).TotalMilliseconds / runs;
        double gcPerStep = (GC.CollectionCount(0) - gcBefore) / runs;
        double gen2PerStep = (GC.CollectionCount(2) - gen2Before) / runs;
        double faultsPerStep = (MinorPageFaults() - faultsBefore) / runs;
        double missedPerStep = (BufferPool.MissedBytes - missedBefore) / runs;
        long peakRss = ReadStatusKilobytes("VmHWM") * 1024;

        // Untimed: count the FLOPs of one step, then (train steps) what the forward leaves alive for backward.
        FlopCounter.Reset();
        FlopCounter.Enabled = true;
        Run();
        FlopCounter.Enabled = false;
        double flops = FlopCounter.Flops;
        double liveAfterForward = double.NaN;
        if (workload.Training)
        {
            step.ClearGradients();
            long baseline = GC.GetTotalMemory(forceFullCollection: true);
            var kept = step.Forward();
            liveAfterForward = GC.GetTotalMemory(forceFullCollection: true) - baseline;
            GC.KeepAlive(kept);
        }

        Array.Sort(seconds);
        double median = seconds.Length % 2 == 1 ? seconds[seconds.Length / 2] : (seconds[seconds.Length / 2 - 1] + seconds[seconds.Length / 2]) / 2;
        var line = new JsonLine().Add("workload", name).Add("impl", "sharpseg").Add("threads", settings.Threads)
            .Add("median_s", median, 4).Add("min_s", seconds[0], 4)
            .Add("peak_rss_mb", peakRss / 1048576.0, 1)
            .Add("alloc_mb_per_step", allocatedPerStep / 1048576.0, 1)
            .Add("activation_mb", liveAfterForward / 1048576.0, 1)
            .Add("gc_pause_ms_per_step", pausePerStep, 2)
            .Add("gc_per_step", gcPerStep, 2).Add("gen2_gc_per_step", gen2PerStep, 2)
            .Add("page_faults_per_step", faultsPerStep, 0)
            .Add("pool_missed_mb_per_step", missedPerStep / 1048576.0, 1)
            .Add("gflop_per_step", flops / 1e9, 2).Add("gflops", flops / median / 1e9, 1)
            .Add("load_average", MachineBounds.LoadAverage(), 2);
        Console.WriteLine(line);
        return 0;
    }

    /// <summary>
    /// Minor page faults of this process so far (/proc/self/stat field 10; Linux, 0 elsewhere). On a VM each first touch
    /// of a page costs microseconds, so buffers the runtime handed back to the OS and took again show up here.
    /// </summary>
    private static long MinorPageFaults()
    {
        const string path = "/proc/self/stat";
        if (!File.Exists(path)) return 0;
        string stat = File.ReadAllText(path);
        // Fields after the command name, which is in parentheses and may hold spaces: state is field 3, minflt field 10.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(fields[7], System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>A "Name: N kB" field of /proc/self/status (Linux); 0 where the file does not exist.</summary>
    private static long ReadStatusKilobytes(string field)
    {
        const string path = "/proc/self/status";
        if (!File.Exists(path)) return 0;
        foreach (var line in File.ReadLines(path))
        {
            if (!line.StartsWith(field + ":", StringComparison.Ordinal)) continue;
            var parts = line[(field.Length + 1)..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return long.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture);
        }
        return 0;
    }
}
