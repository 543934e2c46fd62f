using System.Globalization;
using SharpSeg;
using System.Text.Json;
using SharpSeg.Data.Datasets;
using SharpSeg.Data.Synthetic;
using SharpSeg.Data.Transforms;
using SharpSeg.Distributed;
using SharpSeg.Models;
using SharpSeg.Nn;
using SharpSeg.Training;

/// <summary>
/// <c>train BATCH_NORM SYNC_BN BATCH SAVE_DIR RESULTS_DIR</c>: Segmenter.Train of a tiny network on 10 synthetic 16×16
/// images for two epochs, data-parallel over the job's ranks (alone: a plain single-process run). Each rank writes its step
/// losses and final weights to RESULTS_DIR/rankR.txt; then a freshly built copy of the network (the same weights in every
/// run) is evaluated, sharded over the ranks, and each rank adds the metrics as JSON. A file, not standard output:
/// mpirun interleaves the ranks' output in pieces, and these lines are long.
/// </summary>
internal static class TrainingScenario
{
    public static void Run(MpiProcessGroup group, string[] args)
    {
        bool batchNorm = args[1] == "1", syncBatchNorm = args[2] == "1";
        int batch = int.Parse(args[3], CultureInfo.InvariantCulture);
        var distributed = group.Size > 1 ? new DistributedOptions(group, syncBatchNorm, BucketMegabytes: 0.0005) : null;

        var segmenter = new Segmenter(new TinyNet(batchNorm), "tiny");
        var result = segmenter.Train(2, Synthetic(10, 31, DatasetMode.Train), trainBatchSize: batch, saveDir: args[4], learningRate: 0.1,
            options: new TrainingOptions(Seed: 5, Distributed: distributed));
        var lines = new List<string> { "losses " + string.Join(' ', result.StepLosses.Select(l => l.ToString("R", CultureInfo.InvariantCulture))) };
        foreach (var (key, value) in segmenter.Model.StateDict())
            lines.Add($"weight {key} " + string.Join(' ', value.ToArray().Select(v => v.ToString("R", CultureInfo.InvariantCulture))));

        var metrics = new Segmenter(new TinyNet(batchNorm), "tiny").Evaluate(Synthetic(5, 32, DatasetMode.Val), batchSize: 2, returnDetails: true,
            group: group.Size > 1 ? group : null);
        lines.Add("evaluation " + JsonSerializer.Serialize(metrics));
        Directory.CreateDirectory(args[5]);
        File.WriteAllLines(Path.Combine(args[5], $"rank{group.Rank}.txt"), lines);
    }

    private static SegDataset Synthetic(int count, int seed, DatasetMode mode) =>
        new SyntheticDataset(new SyntheticOptions(Count: count, Height: 16, Width: 16, NumClasses: 3, Seed: seed, MaxShapes: 3), mode, new Compose(new Normalize()));

    /// <summary>3×3 conv → BatchNorm (optional) → ReLU → 3×3 conv: no dropout, so a step is a function of the batch alone.</summary>
    private sealed class TinyNet : SegmentationModel
    {
        private readonly Conv2d _conv1, _conv2;
        private readonly BatchNorm2d? _bn;

        public TinyNet(bool batchNorm) : base(new ModelOptions(3))
        {
            Engine.ManualSeed(21);
            _conv1 = Child("conv1", new Conv2d(3, 6, 3, padding: 1));
            if (batchNorm) _bn = Child("bn", new BatchNorm2d(6));
            _conv2 = Child("conv2", new Conv2d(6, 3, 3, padding: 1));
        }

        public override int SizeDivisor => 1;

        protected override IReadOnlyList<Tensor> ForwardLogits(Tensor x)
        {
            var y = _conv1.Forward(x);
            if (_bn is not null) y = _bn.Forward(y);
            return [_conv2.Forward(y.Relu())];
        }
    }
}
