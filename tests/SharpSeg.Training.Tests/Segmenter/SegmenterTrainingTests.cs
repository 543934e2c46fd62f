using SharpSeg.Data.Transforms;
using SharpSeg.Data;
using SharpSeg.Models;
using SharpSeg.Training.Checkpoints;

namespace SharpSeg.Training.Tests.Segmenter;

public sealed class SegmenterTrainingTests : IDisposable
{
    private readonly string _root = TestData.TempFolder("segmenter");

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    private static Training.Segmenter SmallDeepLab(int seed)
    {
        Engine.ManualSeed(seed);
        return new Training.Segmenter("deeplabv3p", numClasses: 3, backbone: "resnet18_vd",
            options: new DeepLabV3PlusOptions(3, AsppOutChannels: 16, LowLevelChannels: 8, AsppDropout: 0.1), classNames: ["bg", "a", "b"]);
    }

    [Fact]
    public void TwoEpochsLowerTheLossAndTheCheckpointReloadsToIdenticalPredictions()
    {
        var segmenter = SmallDeepLab(seed: 3);
        var train = TestData.Synthetic(8, seed: 11);
        var eval = TestData.Synthetic(2, seed: 12, mode: Data.Datasets.DatasetMode.Val);
        var reports = new List<TrainingProgress>();
        var result = segmenter.Train(2, train, trainBatchSize: 4, evalDataset: eval, saveDir: _root, learningRate: 0.05,
            options: new TrainingOptions(Seed: 5), progress: new SynchronousProgress(reports));

        Assert.Equal(2, result.EpochsCompleted);
        Assert.Equal(4, result.GlobalStep);
        Assert.Equal(4, result.StepLosses.Count);
        Assert.True(result.EpochLosses[1] < result.EpochLosses[0], $"epoch losses {string.Join(", ", result.EpochLosses)}");
        Assert.Equal(2, result.Evaluations.Count);
        Assert.Equal(4, reports.Count(r => r.Phase == TrainingPhase.Step));
        Assert.Equal([1, 2, 3, 4], reports.Where(r => r.Phase == TrainingPhase.Step).Select(r => r.GlobalStep));
        // The default schedule is poly decay stepped per iteration: lr_k = 0.05 (1 − k/4)^0.9.
        Assert.Equal([0.05, 0.05 * Math.Pow(0.75, 0.9), 0.05 * Math.Pow(0.5, 0.9), 0.05 * Math.Pow(0.25, 0.9)],
            reports.Where(r => r.Phase == TrainingPhase.Step).Select(r => r.LearningRate), new ToleranceComparer(1e-12));
        Assert.Equal(2, File.ReadAllLines(Path.Combine(_root, Training.Segmenter.MetricsFileName)).Count(l => l.Contains("\"evaluation\"")));

        var folder = CheckpointFolders.EpochFolder(_root, 2);
        var state = Checkpoint.ReadState(folder);
        Assert.Equal("deeplabv3p", state.ModelName);
        Assert.Equal(2, state.Epoch);
        Assert.Equal(4, state.Step);
        Assert.Equal(["bg", "a", "b"], state.ClassNames);

        var reloaded = Training.Segmenter.Load(folder);
        Assert.Equal("resnet18_vd", Assert.IsType<DeepLabV3PlusOptions>(reloaded.Model.Options).Backbone);
        var normalize = Assert.IsType<Normalize>(Assert.Single(Assert.IsType<Compose>(reloaded.Transforms).Transforms));
        Assert.Equal([0.5f, 0.5f, 0.5f], normalize.Mean);
        var image = TestData.Synthetic(1, seed: 99, size: 40).Load(0).Image;
        var expected = segmenter.Predict(image);
        var actual = reloaded.Predict(image);
        Assert.Equal(expected.LabelMap.Pixels, actual.LabelMap.Pixels);
        Assert.Equal(expected.ScoreMap.Pixels, actual.ScoreMap.Pixels);
        Assert.Equal(40, actual.LabelMap.Height);
        Assert.Equal(3, actual.ScoreMap.Channels);

        // Save keeps what prediction needs and leaves the optimizer out.
        string saved = Path.Combine(_root, "saved");
        reloaded.Save(saved);
        Assert.False(File.Exists(Path.Combine(saved, Checkpoint.OptimizerFileName)));
        var again = Training.Segmenter.Load(saved);
        Assert.Equal(["bg", "a", "b"], again.ClassNames);
        Assert.Equal(expected.ScoreMap.Pixels, again.Predict(image).ScoreMap.Pixels);
    }

    [Fact]
    public void ResumingAfterOneEpochGivesTheSameWeightsAsTwoStraightEpochs()
    {
        var train = TestData.Synthetic(6, seed: 21);
        var eval = TestData.Synthetic(2, seed: 22, mode: Data.Datasets.DatasetMode.Val);
        var options = new TrainingOptions(Seed: 7, WarmupSteps: 2, ClipGradNorm: 5);

        var straight = new Training.Segmenter(new TinyConvNet(3, dropout: 0.3, seed: 1), "tiny");
        var straightResult = straight.Train(2, train, trainBatchSize: 2, evalDataset: eval, saveDir: Path.Combine(_root, "straight"),
            learningRate: 0.1, earlyStop: true, options: options);

        var interrupted = new Training.Segmenter(new TinyConvNet(3, dropout: 0.3, seed: 1), "tiny");
        string plannedDir = Path.Combine(_root, "interrupted");
        Assert.Throws<OperationCanceledException>(() => interrupted.Train(2, train, trainBatchSize: 2, evalDataset: eval, saveDir: plannedDir,
            learningRate: 0.1, earlyStop: true, options: options, progress: new StopAfterEpoch(1)));
        var resumed = new Training.Segmenter(new TinyConvNet(3, dropout: 0.3, seed: 99), "tiny");
        var resumedResult = resumed.Train(2, train, trainBatchSize: 2, evalDataset: eval, saveDir: plannedDir, learningRate: 0.1,
            earlyStop: true, resumeCheckpoint: CheckpointFolders.EpochFolder(plannedDir, 1), options: options);

        Assert.Equal(straightResult.StepLosses.Skip(3), resumedResult.StepLosses);
        foreach (var (key, tensor) in straight.Model.StateDict())
            Assert.Equal(tensor.ToArray(), resumed.Model.StateDict()[key].ToArray());
        var straightState = Checkpoint.ReadState(CheckpointFolders.EpochFolder(Path.Combine(_root, "straight"), 2));
        var resumedState = Checkpoint.ReadState(CheckpointFolders.EpochFolder(plannedDir, 2));
        Assert.Equal(straightState.EarlyStopping, resumedState.EarlyStopping);
        Assert.Equal(straightState.SchedulerStateJson, resumedState.SchedulerStateJson);
        Assert.Equal(straightState.BestMetricValue, resumedState.BestMetricValue);
    }
}

/// <summary>An <see cref="IProgress{T}"/> that records on the calling thread (Progress&lt;T&gt; posts to the thread pool).</summary>
internal sealed class SynchronousProgress(List<TrainingProgress> reports) : IProgress<TrainingProgress>
{
    public void Report(TrainingProgress value) => reports.Add(value);
}

/// <summary>Interrupts a run right after the checkpoint of <paramref name="epoch"/>, as a crash or Ctrl+C would.</summary>
internal sealed class StopAfterEpoch(int epoch) : IProgress<TrainingProgress>
{
    public void Report(TrainingProgress value)
    {
        if (value.Phase == TrainingPhase.Checkpoint && value.Epoch == epoch) throw new OperationCanceledException("interrupted");
    }
}

internal sealed class ToleranceComparer(double tolerance) : IEqualityComparer<double>
{
    public bool Equals(double x, double y) => Math.Abs(x - y) <= tolerance;

    public int GetHashCode(double obj) => 0;
}
