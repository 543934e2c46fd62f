using SharpSeg.Detection.Data;
using SharpSeg.Detection.Tests.Data;
using SharpSeg.Training.Checkpoints;

namespace SharpSeg.Detection.Tests.Api;

/// <summary>
/// <see cref="Detector"/> end to end on small synthetic images: save/load, resume, the errors of a bad run, and a short
/// training run that must learn to find the shapes.
/// </summary>
public class DetectorTests
{
    private static readonly string[] ShapeNames = ["background", .. SyntheticDetectionDataset.ShapeClasses];

    /// <summary>A narrow Faster R-CNN for 64² images: the small-image settings with a 32-wide FPN and a 64-wide box head.</summary>
    private static DetectionModelOptions Tiny => TinyDetectors.Options;

    private static Detector NewDetector(int seed = 1) => TinyDetectors.FasterRcnn(seed, ShapeNames);

    private static SyntheticDetectionDataset Shapes(int count, int seed = 3, IDetectionTransform? transforms = null) =>
        new(new SyntheticDetectionOptions(count, 64, 64, seed, MinObjects: 1, MaxObjects: 3), transforms);

    [Fact]
    public void SaveAndLoadRebuildTheSameModelWithItsSettingsAndClassNames()
    {
        using var folder = new TempFolder();
        var detector = NewDetector();
        var image = Shapes(1).Load(0).Image;
        var before = detector.Predict(image);
        Assert.True(before.Count > 0);

        detector.Save(Path.Combine(folder.Path, "saved"));
        var loaded = Detector.Load(Path.Combine(folder.Path, "saved"));
        var after = loaded.Predict(image);

        Assert.Equal("faster_rcnn", loaded.ModelName);
        Assert.Equal("resnet18_fpn", loaded.BackboneName);
        Assert.Equal(ShapeNames, loaded.ClassNames);
        Assert.Equal(32, loaded.ModelOptions.FpnChannels);
        Assert.Equal(Tiny.AnchorSizes, loaded.ModelOptions.AnchorSizes);
        Assert.Equal(Tiny.Rpn, loaded.ModelOptions.Rpn);
        Assert.Equal(before.Boxes, after.Boxes);
        Assert.Equal(before.Scores, after.Scores);
        Assert.Equal(before.Labels, after.Labels);
    }

    [Fact]
    public void ResumingFromAnEpochCheckpointRepeatsTheUninterruptedRunExactly()
    {
        using var folder = new TempFolder();
        var data = Shapes(2, transforms: new DetectionRandomHorizontalFlip(0.5));
        DetectionTrainingOptions Options(string saveDir) => new(Epochs: 2, BatchSize: 1, LearningRate: 1e-3, Optimizer: DetectionOptimizer.AdamW,
            WarmupSteps: 1, SaveDir: Path.Combine(folder.Path, saveDir));

        var whole = NewDetector();
        whole.Train(data, options: Options("whole"));

        var interrupted = NewDetector();
        using var stop = new CancellationTokenSource();
        var afterFirstEpoch = new InlineProgress(p =>
        {
            if (p.Phase == DetectionTrainingPhase.Checkpoint) stop.Cancel();
        });
        Assert.Throws<SharpSeg.Training.TrainingInterruptedException>(() => interrupted.Train(data, options: Options("split"), progress: afterFirstEpoch, cancellationToken: stop.Token));
        // Spoil the interrupted detector's weights and buffers: resuming must replace every one of them.
        var resumed = interrupted;
        foreach (var tensor in resumed.Model.StateDict().Values.Where(t => t.DType == DType.Float32))
            tensor.AsSpan().Fill(0.5f);
        var result = resumed.Train(data, options: Options("split") with { Resume = Path.Combine(folder.Path, "split", "epoch_1") });

        Assert.Equal(2, result.EpochsCompleted);
        Assert.Equal(4, result.GlobalStep);
        var expected = whole.Model.StateDict();
        foreach (var (key, tensor) in resumed.Model.StateDict())
            Assert.True(expected[key].ToArray().SequenceEqual(tensor.ToArray()), $"{key} differs after resuming.");
    }

    [Fact]
    public void BadRunsAreRefusedNamingTheProblem()
    {
        using var folder = new TempFolder();
        var detector = NewDetector();
        var twoClasses = new VocLikeDataset();
        var classes = Assert.Throws<ArgumentException>(() => detector.Train(twoClasses, options: new(SaveDir: folder.Path)));
        Assert.Contains("2 classes", classes.Message);
        Assert.Contains("has 4", classes.Message);

        var options = new DetectionTrainingOptions(Epochs: 1, BatchSize: 2, SaveDir: Path.Combine(folder.Path, "run"));
        detector.Train(Shapes(2), options: options);
        var again = Assert.Throws<ArgumentException>(() => detector.Train(Shapes(2), options: options));
        Assert.Contains("earlier run", again.Message);
        Assert.Contains("epoch_1", again.Message);

        Engine.ManualSeed(1);
        var otherBackbone = new Detector("faster_rcnn", 4, "resnet34_fpn", Tiny, ShapeNames);
        var resume = Assert.Throws<CheckpointException>(() =>
            otherBackbone.Train(Shapes(2), options: options with { Resume = Path.Combine(folder.Path, "run", "epoch_1"), SaveDir = Path.Combine(folder.Path, "other") }));
        Assert.Contains("resnet18_fpn", resume.Message);
    }

    [Fact]
    public void MaskRcnnTrainsEvaluatesMasksAndPredictsMasksAtTheImagesSize()
    {
        using var folder = new TempFolder();
        Engine.ManualSeed(1);
        var detector = new Detector("mask_rcnn", 4, "resnet18_fpn", Tiny, ShapeNames);
        var data = Shapes(2);
        var result = detector.Train(data, options: new DetectionTrainingOptions(Epochs: 1, BatchSize: 2, LearningRate: 1e-3,
            Optimizer: DetectionOptimizer.AdamW, WarmupSteps: 1, SaveDir: folder.Path));
        Assert.Equal(1, result.GlobalStep);

        var metrics = detector.Evaluate(data);
        Assert.NotNull(metrics.Mask);
        Assert.InRange(metrics.Mask!.AP, 0.0, 1.0);
        var prediction = detector.Predict(data.Load(0).Image, minScore: 0f);
        Assert.True(prediction.Labels.Length > 0);
        var masks = Assert.IsType<InstanceMasks>(prediction.Masks);
        Assert.Equal((prediction.Labels.Length, 64, 64), (masks.Count, masks.Height, masks.Width));
    }

    [Fact]
    public void EfficientDetTrainsThroughTheDetectorAndPredictsInTheImagesPixels()
    {
        using var folder = new TempFolder();
        Engine.ManualSeed(1);
        var detector = new Detector("efficientdet_lite0", 4, classNames: ShapeNames);
        Assert.Equal("tf_efficientnet_lite0", detector.BackboneName);
        var data = Shapes(2);
        // Batches of 2: train-mode BatchNorm on the 1×1 P7 map needs more than one value.
        var result = detector.Train(data, options: new DetectionTrainingOptions(Epochs: 1, BatchSize: 2, LearningRate: 1e-3,
            Optimizer: DetectionOptimizer.AdamW, WarmupSteps: 1, SaveDir: folder.Path));
        Assert.Equal(1, result.GlobalStep);
        Assert.True(detector.Model.StateDict().Values.Where(t => t.DType == DType.Float32).All(t => t.ToArray().All(float.IsFinite)));

        var prediction = detector.Predict(data.Load(0).Image, minScore: 0f);
        Assert.True(prediction.Labels.Length > 0);
        Assert.All(prediction.Labels, label => Assert.InRange(label, 1, 3));
        Assert.All(prediction.Boxes, coordinate => Assert.InRange(coordinate, 0f, 64f));
    }

    private sealed class VocLikeDataset() : DetectionDataset(["background", "thing"], null)
    {
        public override int Count => 2;

        public override string SourceName(int index) => $"sample {index}";

        protected override DetectionSample LoadUnchecked(int index) => throw new InvalidOperationException("not read");
    }

    private sealed class InlineProgress(Action<DetectionTrainingProgress> report) : IProgress<DetectionTrainingProgress>
    {
        public void Report(DetectionTrainingProgress value) => report(value);
    }
}
