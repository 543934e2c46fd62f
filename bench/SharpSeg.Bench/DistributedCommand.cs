using System.Diagnostics;
using SharpSeg.Distributed;
using SharpSeg.Models;
using SharpSeg.Nn;
using SharpSeg.Nn.Distributed;
using SharpSeg.Nn.Losses;
using SharpSeg.Nn.Optim;

namespace SharpSeg.Bench;

/// <summary>
/// <c>distributed</c>, run under <c>mpirun -np N</c> (or alone, as a job of one rank): what data-parallel training costs
/// on this machine's Open MPI. Rank 0 prints JSON lines:
/// <list type="bullet">
/// <item><c>allreduce</c>: one step's gradient of <c>--floats</c> floats (default 25 M, a ResNet-50's worth) summed in
/// <c>--bucket-mb</c> buckets (DDP's 25 MB), blocking one bucket after another and started all at once then waited
/// (<c>MPI_Iallreduce</c>), with the bus bandwidth nccl-tests reports (2(N−1)/N × bytes / time);</item>
/// <item><c>train_step</c>: the demo model's training step (forward, backward with <see cref="DistributedDataParallel"/>'s
/// bucketed allreduce, SGD) on a batch of <c>--batch</c> per rank, as images per second per rank and for the job, next to
/// the share of the step spent waiting for the reduction after backward. Run it with -np 1 and -np 2 to compare.</item>
/// </list>
/// </summary>
internal static class DistributedCommand
{
    public sealed record Settings(int Threads, long Floats, double BucketMegabytes, int Steps, int Batch);

    public static int Run(Settings settings)
    {
        using var group = MpiProcessGroup.Initialize();
        Engine.Threads = settings.Threads;
        MeasureAllReduce(group, settings);
        MeasureTrainStep(group, settings);
        return 0;
    }

    private static void MeasureAllReduce(IProcessGroup group, Settings settings)
    {
        int bucket = BucketFloats(settings.BucketMegabytes);
        var gradient = new float[settings.Floats];
        gradient.AsSpan().Fill(group.Rank + 1);

        double Blocking()
        {
            group.Barrier();
            var clock = Stopwatch.StartNew();
            for (long start = 0; start < gradient.LongLength; start += bucket)
                group.AllReduceSum(gradient.AsSpan((int)start, (int)Math.Min(bucket, gradient.LongLength - start)));
            return clock.Elapsed.TotalSeconds;
        }

        double NonBlocking()
        {
            group.Barrier();
            var clock = Stopwatch.StartNew();
            var pending = new List<IPendingReduction>();
            for (long start = 0; start < gradient.LongLength; start += bucket)
                pending.Add(group.StartAllReduceSum(gradient, (int)start, (int)Math.Min(bucket, gradient.LongLength - start)));
            foreach (var reduction in pending)
                reduction.Wait();
            return clock.Elapsed.TotalSeconds;
        }

        // Started, then the caller computes (as backward does) for as long as the blocking reduction took, then waits:
        // the wait left is what the computation did not hide.
        double WaitAfterCompute(TimeSpan compute)
        {
            group.Barrier();
            var pending = new List<IPendingReduction>();
            for (long start = 0; start < gradient.LongLength; start += bucket)
                pending.Add(group.StartAllReduceSum(gradient, (int)start, (int)Math.Min(bucket, gradient.LongLength - start)));
            var busy = Stopwatch.StartNew();
            double sink = 0;
            while (busy.Elapsed < compute)
                for (int i = 0; i < 10_000; i++) sink += Math.Sqrt(i);
            GC.KeepAlive(sink);
            var clock = Stopwatch.StartNew();
            foreach (var reduction in pending)
                reduction.Wait();
            return clock.Elapsed.TotalSeconds;
        }

        Blocking();
        var blocking = Enumerable.Range(0, settings.Steps).Select(_ => Blocking()).ToArray();
        var nonBlocking = Enumerable.Range(0, settings.Steps).Select(_ => NonBlocking()).ToArray();
        var computeTime = TimeSpan.FromSeconds(Median(blocking));
        var waitLeft = Enumerable.Range(0, settings.Steps).Select(_ => WaitAfterCompute(computeTime)).ToArray();
        double bytes = settings.Floats * (double)sizeof(float);
        double busFactor = 2.0 * (group.Size - 1) / group.Size;
        if (group.Rank == 0)
            Console.WriteLine(new JsonLine().Add("bench", "allreduce").Add("ranks", group.Size).Add("floats", settings.Floats)
                .Add("buckets", (settings.Floats + bucket - 1) / bucket).Add("bucket_mb", settings.BucketMegabytes)
                .Add("blocking_median_ms", Median(blocking) * 1e3, 2).Add("blocking_min_ms", blocking.Min() * 1e3, 2)
                .Add("nonblocking_median_ms", Median(nonBlocking) * 1e3, 2)
                .Add("wait_after_equal_compute_ms", Median(waitLeft) * 1e3, 2)
                .Add("bus_gb_per_s", busFactor * bytes / Median(blocking) / 1e9, 2)
                .Add("load_average", MachineBounds.LoadAverage(), 2));
    }

    private static void MeasureTrainStep(IProcessGroup group, Settings settings)
    {
        const int classes = 4, size = 64;
        Engine.ManualSeed(0);
        var model = ModelRegistry.CreateModel("deeplabv3p",
            new DeepLabV3PlusOptions(classes, Backbone: "resnet18_vd", OutputStride: 16, AsppOutChannels: 64, LowLevelChannels: 32));
        model.Train();
        var parameters = model.Parameters().ToList();
        var random = new Random(1 + group.Rank);
        var input = Tensor.Randn(new Shape(settings.Batch, 3, size, size), random);
        var labelData = new long[settings.Batch * size * size];
        for (int i = 0; i < labelData.Length; i++) labelData[i] = random.Next(classes);
        var labels = Tensor.FromArray(labelData, settings.Batch, size, size);
        var loss = new CrossEntropyLoss();
        var optimizer = new Sgd(parameters, 0.01, momentum: 0.9);
        // The trainer's reducer: buckets start their allreduce from backward's gradient hooks, on the group's MPI thread;
        // what is timed separately is the wait after backward, the part of the reduction that backward did not hide.
        using var dataParallel = new DistributedDataParallel(model, group, settings.BucketMegabytes);
        dataParallel.BroadcastState();
        double reduceSeconds = 0;

        double Step()
        {
            group.Barrier();
            var clock = Stopwatch.StartNew();
            optimizer.ZeroGrad();
            var value = loss.Forward(model.Forward(input)[0], labels);
            dataParallel.PrepareForBackward();
            value.Backward();
            var wait = Stopwatch.StartNew();
            dataParallel.FinishGradientReduction();
            reduceSeconds += wait.Elapsed.TotalSeconds;
            optimizer.Step();
            return clock.Elapsed.TotalSeconds;
        }

        Step();
        Step();
        reduceSeconds = 0;
        var seconds = Enumerable.Range(0, settings.Steps).Select(_ => Step()).ToArray();
        double median = Median(seconds);
        long gradientFloats = parameters.Sum(p => (long)p.Shape.Numel);
        if (group.Rank == 0)
            Console.WriteLine(new JsonLine().Add("bench", "train_step").Add("model", "demo_deeplabv3p_resnet18vd_64").Add("ranks", group.Size)
                .Add("threads_per_rank", settings.Threads).Add("batch_per_rank", settings.Batch).Add("gradient_floats", gradientFloats)
                .Add("median_s", median, 4).Add("reduction_wait_share", reduceSeconds / seconds.Sum(), 3)
                .Add("images_per_s_per_rank", settings.Batch / median, 2).Add("images_per_s", group.Size * settings.Batch / median, 2)
                .Add("load_average", MachineBounds.LoadAverage(), 2));
    }

    private static int BucketFloats(double megabytes) => (int)Math.Max(1, megabytes * 1024 * 1024 / sizeof(float));

    private static double Median(double[] values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
