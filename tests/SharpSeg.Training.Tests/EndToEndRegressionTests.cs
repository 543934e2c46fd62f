using System.Text.Json;
using SharpSeg.Data;
using SharpSeg.Models;
using SharpSeg.Nn;
using SharpSeg.Training.Checkpoints;
using SharpSeg.Training.Tests.Segmenter;

namespace SharpSeg.Training.Tests;

/// <summary>
/// Regressions found by the end-to-end review of issue 6: a reused save folder, resume after a crash or with a new plan,
/// overlap tiles larger than the image, mixed-size evaluation batches. Each test states what a PaddleX user expects.
/// </summary>
public sealed class EndToEndRegressionTests : IDisposable
{
    private readonly string _root = TestData.TempFolder("review");

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public void AFreshRunInTheFolderOfALongerEarlierRunIsRefusedOrReplacesItWhenAsked()
    {
        var train = TestData.Synthetic(4, seed: 31);
        string saveDir = Path.Combine(_root, "output");
        new Training.Segmenter(new TinyConvNet(3, seed: 1), "tiny").Train(3, train, trainBatchSize: 2, saveDir: saveDir,
            options: new TrainingOptions(KeepLastCheckpoints: 2));

        var refused = Assert.Throws<ArgumentException>(() => new Training.Segmenter(new TinyConvNet(3, seed: 2), "tiny").Train(1, train,
            trainBatchSize: 2, saveDir: saveDir, options: new TrainingOptions(KeepLastCheckpoints: 2)));
        Assert.Contains("already holds an earlier run's epoch_2, epoch_3, metrics.jsonl", refused.Message);
        Assert.Contains($"resume with resumeCheckpoint '{Path.GetFullPath(CheckpointFolders.EpochFolder(saveDir, 3))}'", refused.Message);
        Assert.Equal([2, 3], CheckpointFolders.EpochFolders(saveDir).Select(f => f.Epoch));

        var second = new Training.Segmenter(new TinyConvNet(3, seed: 2), "tiny").Train(1, train, trainBatchSize: 2, saveDir: saveDir,
            options: new TrainingOptions(KeepLastCheckpoints: 2, OverwriteSaveDir: true));

        Assert.True(Directory.Exists(second.LastCheckpointFolder), $"{second.LastCheckpointFolder} was deleted by the checkpoint rotation");
        Assert.Equal([1], CheckpointFolders.EpochFolders(saveDir).Select(f => f.Epoch));
        var lines = File.ReadAllLines(Path.Combine(saveDir, Training.Segmenter.MetricsFileName));
        Assert.Single(lines, l => l.Contains("\"event\":\"start\""));
        Assert.Contains("\"step\":2", Assert.Single(lines, l => l.Contains("\"event\":\"train\"")));
    }

    [Fact]
    public void AResumeFromAnEarlierEpochKeepsTheCheckpointsItWritesAndReplacesTheAbandonedOnes()
    {
        var train = TestData.Synthetic(4, seed: 31);
        string saveDir = Path.Combine(_root, "rewind");
        var options = new TrainingOptions(KeepLastCheckpoints: 2);
        new Training.Segmenter(new TinyConvNet(3, seed: 1), "tiny").Train(3, train, trainBatchSize: 2, saveDir: saveDir, options: options);
        string firstEpoch3 = File.ReadAllText(Path.Combine(CheckpointFolders.EpochFolder(saveDir, 3), Checkpoint.StateFileName));
        // Rewind: resume from epoch 2 with another learning rate, so the replayed epoch 3 differs.
        var resumed = new Training.Segmenter(new TinyConvNet(3, seed: 1), "tiny").Train(3, train, trainBatchSize: 2, saveDir: saveDir,
            learningRate: 0.05, resumeCheckpoint: CheckpointFolders.EpochFolder(saveDir, 2), options: options);

        Assert.Equal([2, 3], CheckpointFolders.EpochFolders(saveDir).Select(f => f.Epoch));
        Assert.Equal(Path.GetFullPath(CheckpointFolders.EpochFolder(saveDir, 3)), Path.GetFullPath(resumed.LastCheckpointFolder!));
        Assert.NotEqual(firstEpoch3, File.ReadAllText(Path.Combine(CheckpointFolders.EpochFolder(saveDir, 3), Checkpoint.StateFileName)));
    }

    [Fact]
    public void ResumingAfterACrashMidEpochLogsEveryStepOnce()
    {
        var train = TestData.Synthetic(6, seed: 21);
        var options = new TrainingOptions(Seed: 7);
        string saveDir = Path.Combine(_root, "crashed");
        using (var cancel = new CancellationTokenSource())
        {
            // Three steps per epoch: the crash comes after step 5, in the middle of epoch 2.
            var crashAfterStep5 = new ProgressCallback(p =>
            {
                if (p.Phase == TrainingPhase.Step && p.GlobalStep == 5) cancel.Cancel();
            });
            Assert.Throws<TrainingInterruptedException>(() => new Training.Segmenter(new TinyConvNet(3, seed: 1), "tiny").Train(2, train,
                logIntervalSteps: 1, saveDir: saveDir, options: options, progress: crashAfterStep5, cancellationToken: cancel.Token));
        }

        // Resumed from epoch_1 rather than the epoch_2_step_2 the interruption saved: steps 4 and 5 were logged after it.
        new Training.Segmenter(new TinyConvNet(3, seed: 1), "tiny").Train(2, train, logIntervalSteps: 1, saveDir: saveDir, options: options,
            resumeCheckpoint: CheckpointFolders.EpochFolder(saveDir, 1));

        var loggedSteps = File.ReadLines(Path.Combine(saveDir, Training.Segmenter.MetricsFileName))
            .Select(line => JsonDocument.Parse(line).RootElement)
            .Where(entry => entry.GetProperty("event").GetString() == "train")
            .Select(entry => entry.GetProperty("step").GetInt64());
        Assert.Equal([1L, 2, 3, 4, 5, 6], loggedSteps);
    }

    [Fact]
    public void ResumingWithMoreEpochsContinuesThePolySchedulePaddleXStyle()
    {
        var train = TestData.Synthetic(6, seed: 21);
        string saveDir = Path.Combine(_root, "extended");
        new Training.Segmenter(new TinyConvNet(3, seed: 1), "tiny").Train(1, train, saveDir: saveDir, learningRate: 0.1);

        var rates = new List<double>();
        var result = new Training.Segmenter(new TinyConvNet(3, seed: 1), "tiny").Train(2, train, saveDir: saveDir, learningRate: 0.1,
            resumeCheckpoint: CheckpointFolders.EpochFolder(saveDir, 1),
            progress: new ProgressCallback(p => { if (p.Phase == TrainingPhase.Step) rates.Add(p.LearningRate); }));

        // PaddleX 1.x rebuilds polynomial_decay(lr, decay_steps = steps per epoch × num_epochs) and continues at the saved step.
        Assert.Equal(3, result.StepLosses.Count);
        Assert.Equal(0.1 * Math.Pow(1 - 3.0 / 6, 0.9), rates[0], 12);
    }

    [Fact]
    public void OverlapTileOfAnImageSmallerThanOneTilePredictsTheImageWithPadSizeMirrorBorders()
    {
        var segmenter = new Training.Segmenter(new GlobalContextNet(3, seed: 4), "global-context");
        var random = new Random(8);
        var image = new Image<byte>(10, 12, 3);
        random.NextBytes(image.Pixels);
        const int pad = 2;

        var tiled = segmenter.OverlapTilePredict(image, (32, 32), (pad, pad), batchSize: 1);

        // PaddleX 1.x cuts each window at the padded image's edge, so the one window is the image with pad-wide mirror borders.
        var padded = segmenter.Predict(MirrorPad(image, pad));
        for (int y = 0; y < image.Height; y++)
            for (int x = 0; x < image.Width; x++)
                for (int c = 0; c < 3; c++)
                    Assert.Equal(padded.ScoreMap[y + pad, x + pad, c], tiled.ScoreMap[y, x, c], 5);
    }

    [Fact]
    public void EvaluatingMixedSizesInBatchesCountsTheSamePixelsAsOneByOne()
    {
        Directory.CreateDirectory(_root);
        var random = new Random(5);
        var lines = new List<string>();
        foreach (var (name, height, width) in new[] { ("a", 12, 12), ("b", 9, 14), ("c", 12, 12) })
        {
            var image = new Image<byte>(height, width, 3);
            random.NextBytes(image.Pixels);
            var label = new Image<byte>(height, width, 1);
            for (int i = 0; i < label.Pixels.Length; i++) label.Pixels[i] = (byte)random.Next(3);
            ImageFile.WritePng(Path.Combine(_root, name + ".png"), image);
            ImageFile.WritePng(Path.Combine(_root, name + "_gt.png"), label);
            lines.Add($"{name}.png {name}_gt.png");
        }
        File.WriteAllLines(Path.Combine(_root, "val.txt"), lines);
        var dataset = new Data.Datasets.FileListDataset(_root, Path.Combine(_root, "val.txt"), 3, Data.Datasets.DatasetMode.Val,
            new Data.Transforms.Normalize());
        var segmenter = new Training.Segmenter(new TinyConvNet(3, seed: 6), "tiny");

        var oneByOne = segmenter.Evaluate(dataset, batchSize: 1, returnDetails: true);
        var batched = segmenter.Evaluate(dataset, batchSize: 2, returnDetails: true);

        // PaddleX evaluates image by image; a batch size is a speed setting and must not change what is counted.
        Assert.Equal(12 * 12 * 2 + 9 * 14, oneByOne.ConfusionMatrix!.Sum(row => row.Sum()));
        Assert.Equal(oneByOne.ConfusionMatrix, batched.ConfusionMatrix);
    }

    /// <summary>cv2.flip-style mirror padding (edge pixel repeated), written independently of the library's tile plan.</summary>
    private static Image<byte> MirrorPad(Image<byte> image, int pad)
    {
        int h = image.Height, w = image.Width;
        var result = new Image<byte>(h + 2 * pad, w + 2 * pad, image.Channels);
        for (int y = 0; y < result.Height; y++)
            for (int x = 0; x < result.Width; x++)
            {
                int sy = y - pad, sx = x - pad;
                sy = sy < 0 ? -sy - 1 : sy >= h ? 2 * h - 1 - sy : sy;
                sx = sx < 0 ? -sx - 1 : sx >= w ? 2 * w - 1 - sx : sx;
                for (int c = 0; c < image.Channels; c++) result[y, x, c] = image[sy, sx, c];
            }
        return result;
    }

    private sealed class ProgressCallback(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }

    /// <summary>
    /// A 1×1 convolution plus a term from the image's mean feature (the image-pooling branch of DeepLabV3+'s ASPP in
    /// miniature): every output pixel depends on the whole window, so the window's extent changes the prediction.
    /// </summary>
    private sealed class GlobalContextNet : SegmentationModel
    {
        private readonly Conv2d _local, _global;

        public GlobalContextNet(int numClasses, int seed) : base(new ModelOptions(numClasses))
        {
            Engine.ManualSeed(seed);
            _local = Child("local", new Conv2d(3, numClasses, 1));
            _global = Child("global", new Conv2d(3, numClasses, 1, bias: false));
        }

        public override int SizeDivisor => 1;

        protected override IReadOnlyList<Tensor> ForwardLogits(Tensor x) =>
            [_local.Forward(x * (1f / 255)) + _global.Forward(x.Mean([2, 3], keepDim: true) * (1f / 64))];
    }
}
