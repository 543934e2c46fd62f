using SharpSeg.Data.Datasets;
using SharpSeg.Nn.Distributed;
using SharpSeg.Training.Checkpoints;

namespace SharpSeg.Training.Tests.Segmenter;

/// <summary>
/// Data-parallel training with ranks as threads (<see cref="ThreadProcessGroup"/>). Without SyncBatchNorm the reference
/// comparison uses <see cref="TinyConvNet"/> without BatchNorm: per-rank batch statistics differ from those of one 2B batch by
/// design (as in PyTorch), while a BN-free model makes the step a pure function of the batch, so the equality tests the
/// sharding, the gradient averaging and the loss mean exactly. The SyncBatchNorm test keeps BatchNorm in training mode.
/// </summary>
public sealed class DistributedTrainingTests : IDisposable
{
    private readonly string _root = TestData.TempFolder("ddp");

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    private static Training.Segmenter Tiny(bool batchNorm) =>
        new(new TinyConvNet(3, width: 6, dropout: 0, seed: 21, batchNorm: batchNorm), "tiny");

    // 10 samples: batch 4 drops 2 per epoch in one process, and so do 2 ranks × 2 (floor(10 / 2) = 5 per rank, 2 steps).
    private static SegDataset TrainSet() => TestData.Synthetic(10, seed: 31, size: 16);

    private static SegDataset EvalSet() => TestData.Synthetic(5, seed: 32, size: 16, mode: DatasetMode.Val);

    private static void AssertClose(IReadOnlyDictionary<string, Tensor> expected, IReadOnlyDictionary<string, Tensor> actual, double tolerance)
    {
        Assert.Equal(expected.Keys, actual.Keys);
        foreach (var (key, value) in expected)
        {
            var e = value.ToArray();
            var a = actual[key].ToArray();
            for (int i = 0; i < e.Length; i++)
                Assert.True(Math.Abs(e[i] - a[i]) <= tolerance * Math.Max(1, Math.Abs(e[i])), $"{key}[{i}]: single process {e[i]}, ranks {a[i]}");
        }
    }

    private (TrainingResult Result, Dictionary<string, Tensor> Weights) TrainSingle(bool batchNorm, int epochs, string saveDir)
    {
        var segmenter = Tiny(batchNorm);
        var result = segmenter.Train(epochs, TrainSet(), trainBatchSize: 4, evalDataset: EvalSet(), saveDir: saveDir, learningRate: 0.1,
            options: new TrainingOptions(Seed: 5));
        return (result, segmenter.Model.StateDict().ToDictionary());
    }

    private static (TrainingResult Result, Dictionary<string, Tensor> Weights)[] TrainRanks(bool batchNorm, bool syncBatchNorm, int epochs,
        Func<int, string> saveDir, string? resume = null) =>
        ThreadProcessGroup.Run(2, group =>
        {
            var segmenter = Tiny(batchNorm);
            var result = segmenter.Train(epochs, TrainSet(), trainBatchSize: 2, evalDataset: EvalSet(), saveDir: saveDir(group.Rank),
                learningRate: 0.1, resumeCheckpoint: resume,
                options: new TrainingOptions(Seed: 5, Distributed: new DistributedOptions(group, syncBatchNorm, BucketMegabytes: 0.0005)));
            return (result, segmenter.Model.StateDict().ToDictionary());
        });

    [Fact]
    public void Two_ranks_with_batch_B_follow_one_process_with_batch_2B_and_only_rank_0_writes()
    {
        string single = Path.Combine(_root, "single");
        var expected = TrainSingle(batchNorm: false, epochs: 2, single);
        var ranks = TrainRanks(batchNorm: false, syncBatchNorm: false, epochs: 2, rank => Path.Combine(_root, $"rank{rank}"));

        foreach (var (result, weights) in ranks)
        {
            Assert.Equal(4, result.GlobalStep);
            Assert.Equal(expected.Result.StepLosses, result.StepLosses, new ToleranceComparer(1e-5));
            AssertClose(expected.Weights, weights, 1e-5);
            Assert.Equal(2, result.Evaluations.Count);
        }
        // Rank 0 wrote checkpoints, logs and the report; rank 1 never created its save folder.
        string rank0 = Path.Combine(_root, "rank0");
        Assert.True(Directory.Exists(CheckpointFolders.EpochFolder(rank0, 2)));
        Assert.True(File.Exists(Path.Combine(rank0, Training.Segmenter.MetricsFileName)));
        Assert.False(Directory.Exists(Path.Combine(_root, "rank1")));
        Assert.Equal(4, Checkpoint.ReadState(CheckpointFolders.EpochFolder(rank0, 2)).TrainBatchSize);

        // Resume the single process's epoch-1 checkpoint on two ranks: the run ends where the uninterrupted one did.
        var resumed = TrainRanks(batchNorm: false, syncBatchNorm: false, epochs: 2, rank => Path.Combine(_root, $"resumed{rank}"),
            resume: CheckpointFolders.EpochFolder(single, 1));
        foreach (var (result, weights) in resumed)
        {
            Assert.Equal(expected.Result.StepLosses.Skip(2), result.StepLosses, new ToleranceComparer(1e-5));
            AssertClose(expected.Weights, weights, 1e-5);
        }
    }

    [Fact]
    public void With_sync_batch_norm_two_ranks_match_one_process_with_batch_2B_running_statistics_included()
    {
        var expected = TrainSingle(batchNorm: true, epochs: 1, Path.Combine(_root, "single"));
        var ranks = TrainRanks(batchNorm: true, syncBatchNorm: true, epochs: 1, rank => Path.Combine(_root, $"rank{rank}"));
        foreach (var (result, weights) in ranks)
        {
            Assert.Equal(expected.Result.StepLosses, result.StepLosses, new ToleranceComparer(1e-5));
            AssertClose(expected.Weights, weights, 1e-5);   // bn.running_mean / running_var / num_batches_tracked too
            Assert.Equal(expected.Result.Evaluations[0].Metrics.MeanIou, result.Evaluations[0].Metrics.MeanIou, 6);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_group_of_one_trains_as_no_group(bool syncBatchNorm)
    {
        var plain = TrainSingle(batchNorm: true, epochs: 1, Path.Combine(_root, "plain"));
        var segmenter = Tiny(batchNorm: true);
        var result = segmenter.Train(1, TrainSet(), trainBatchSize: 4, evalDataset: EvalSet(), saveDir: Path.Combine(_root, "one"), learningRate: 0.1,
            options: new TrainingOptions(Seed: 5, Distributed: new DistributedOptions(SingleProcessGroup.Instance, syncBatchNorm)));
        // Averaging over one rank divides by 1: bit for bit. SyncBatchNorm sums in double where BatchNorm2d's kernel does not.
        if (syncBatchNorm)
        {
            Assert.Equal(plain.Result.StepLosses, result.StepLosses, new ToleranceComparer(1e-6));
            AssertClose(plain.Weights, segmenter.Model.StateDict(), 1e-6);
        }
        else
        {
            Assert.Equal(plain.Result.StepLosses, result.StepLosses);
            foreach (var (key, value) in plain.Weights) Assert.Equal(value.ToArray(), segmenter.Model.StateDict()[key].ToArray());
        }
        // The conversion is undone when training ends.
        Assert.All(segmenter.Model.Modules().OfType<Nn.BatchNorm2d>(), norm => Assert.Null(norm.SyncGroup));
    }

    [Fact]
    public void Sharded_evaluation_equals_single_process_evaluation_exactly()
    {
        var segmenter = Tiny(batchNorm: true);
        var eval = EvalSet();
        var expected = segmenter.Evaluate(eval, batchSize: 2, returnDetails: true);
        var ranks = ThreadProcessGroup.Run(3, group => Tiny(batchNorm: true).Evaluate(eval, batchSize: 2, returnDetails: true, group: group));
        foreach (var metrics in ranks)
        {
            Assert.Equal(expected.ConfusionMatrix!, metrics.ConfusionMatrix!);
            Assert.Equal(expected.MeanIou, metrics.MeanIou);
            Assert.Equal(expected.Kappa, metrics.Kappa);
            Assert.Equal(expected.CategoryIou, metrics.CategoryIou);
        }
    }

    [Fact]
    public void A_failing_rank_stops_every_rank_with_a_message_naming_it()
    {
        var error = Assert.Throws<AggregateException>(() => ThreadProcessGroup.Run(2, group =>
        {
            using var cancel = new CancellationTokenSource();
            // Rank 1 fails before its second step; rank 0 is then waiting in that step's collectives.
            var progress = new Progress(report =>
            {
                if (group.Rank == 1 && report.Phase == TrainingPhase.Step) cancel.Cancel();
            });
            return Tiny(batchNorm: false).Train(2, TrainSet(), trainBatchSize: 2, saveDir: Path.Combine(_root, $"fail{group.Rank}"),
                options: new TrainingOptions(Distributed: new DistributedOptions(group)), progress: progress, cancellationToken: cancel.Token);
        }));
        Assert.Contains(error.InnerExceptions, e => e is OperationCanceledException);
        var aborted = Assert.Single(error.InnerExceptions.OfType<ProcessGroupAbortedException>());
        Assert.Contains("rank 1 failed at epoch 1, step 2", aborted.Message);
    }

    private sealed class Progress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
