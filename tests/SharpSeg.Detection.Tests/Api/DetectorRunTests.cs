using System.Globalization;
using System.Net;
using System.Text.Json;
using SharpSeg.Detection.Data;
using SharpSeg.Detection.Models;
using SharpSeg.Detection.Tests.Data;
using SharpSeg.Training;
using SharpSeg.Training.Reporting;

namespace SharpSeg.Detection.Tests.Api;

/// <summary>
/// The Detector's training run with the Segmenter's conventions: cancelling saves <c>epoch_N_step_K</c> (or <c>epoch_N</c>)
/// and a run resumed from it equals the uninterrupted one bit for bit; <c>report.html</c> shows what <c>metrics.jsonl</c> holds.
/// </summary>
public class DetectorRunTests
{
    private static DetectionModelOptions Tiny => TinyDetectors.Options;

    private static Detector NewDetector(int seed, IReadOnlyList<string>? names = null) => TinyDetectors.FasterRcnn(seed, names);

    private static SyntheticDetectionDataset Shapes(int count, int seed, IDetectionTransform? transforms = null) =>
        new(new SyntheticDetectionOptions(count, 64, 64, seed, MinObjects: 1, MaxObjects: 3), transforms);

    [Fact]
    public void CancellingInsideAnEpochSavesEpochStepAndResumingFromItRepeatsTheUninterruptedRunExactly()
    {
        using var folder = new TempFolder();
        // Two steps an epoch, shuffled and flipped: the resumed run must take the same order, flips and sampler draws.
        var data = Shapes(2, seed: 4, new DetectionRandomHorizontalFlip(0.5));
        DetectionTrainingOptions Options(string saveDir) => new(Epochs: 2, BatchSize: 1, LearningRate: 1e-3, Optimizer: DetectionOptimizer.Sgd,
            WarmupSteps: 2, LrMilestones: [1], LogIntervalSteps: 1, SaveDir: Path.Combine(folder.Path, saveDir));

        var whole = NewDetector(1);
        var wholeResult = whole.Train(data, options: Options("whole"));

        var interrupted = NewDetector(1);
        using var stop = new CancellationTokenSource();
        var atStepThree = new InlineProgress(p =>
        {
            if (p.Phase == DetectionTrainingPhase.Step && p.GlobalStep == 3) stop.Cancel();
        });
        var error = Assert.Throws<TrainingInterruptedException>(() =>
            interrupted.Train(data, options: Options("split"), progress: atStepThree, cancellationToken: stop.Token));
        string partial = Path.Combine(folder.Path, "split", "epoch_2_step_1");
        Assert.Equal(partial, error.CheckpointFolder);
        Assert.Equal((2, 1, 3L), (error.Epoch, error.Step, error.GlobalStep));
        Assert.Contains($"saved in {partial}", error.Message);
        Assert.True(File.Exists(Path.Combine(partial, "state.json")));
        Assert.True(File.Exists(Path.Combine(folder.Path, "split", TrainingReport.FileName)));

        var otherBatch = Assert.Throws<ArgumentException>(() =>
            NewDetector(2).Train(data, options: Options("split") with { BatchSize = 2, Resume = partial }));
        Assert.Contains("BatchSize 1 (got 2)", otherBatch.Message);

        // Another initialisation: resuming must replace every weight, buffer and optimizer slot.
        var resumed = NewDetector(2);
        var result = resumed.Train(data, options: Options("split") with { Resume = partial });

        Assert.Equal((2, 4L), (result.EpochsCompleted, result.GlobalStep));
        Assert.Equal(wholeResult.StepLosses.Skip(3), result.StepLosses);
        var expected = whole.Model.StateDict();
        foreach (var (key, tensor) in resumed.Model.StateDict())
            Assert.True(expected[key].ToArray().SequenceEqual(tensor.ToArray()), $"{key} differs after resuming mid-epoch.");
        Assert.False(Directory.Exists(partial), "epoch_2 supersedes the partial checkpoint");
        // metrics.jsonl holds each step once: the interrupted run's steps up to the checkpoint, then the resumed run's.
        var steps = File.ReadLines(Path.Combine(folder.Path, "split", "metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement)
            .Where(l => l.GetProperty("event").GetString() == "train").Select(l => l.GetProperty("step").GetInt64()).ToArray();
        Assert.Equal([1L, 2, 3, 4], steps);
    }

    [Fact]
    public void CancellingBetweenEpochsSavesEpochNAndNothingWhenTheLastCheckpointHoldsEverything()
    {
        using var folder = new TempFolder();
        var data = Shapes(2, seed: 6);
        var options = new DetectionTrainingOptions(Epochs: 3, BatchSize: 1, LearningRate: 1e-3, WarmupSteps: 1, SaveIntervalEpochs: 3,
            SaveDir: folder.Path);
        using var stop = new CancellationTokenSource();
        var endOfFirstEpoch = new InlineProgress(p =>
        {
            if (p.Phase == DetectionTrainingPhase.Step && p.Step == p.StepsPerEpoch) stop.Cancel();
        });
        var error = Assert.Throws<TrainingInterruptedException>(() =>
            NewDetector(1).Train(data, options: options, progress: endOfFirstEpoch, cancellationToken: stop.Token));
        Assert.Equal(Path.Combine(folder.Path, "epoch_1"), error.CheckpointFolder);
        Assert.Equal(0, error.Step);

        var again = Assert.Throws<TrainingInterruptedException>(() =>
            NewDetector(1).Train(data, options: options with { Resume = error.CheckpointFolder }, cancellationToken: stop.Token));
        Assert.Equal(error.CheckpointFolder, again.CheckpointFolder);
        Assert.Contains("all training so far is in the checkpoint", again.Message);
    }

    /// <summary>
    /// The same bit-exact resume for the other model families: Mask R-CNN (its mask branch, mask targets and the sampler
    /// draws that pick the positive RoIs for it) and EfficientDet (its own backbone, BiFPN BatchNorm statistics and the focal
    /// loss's anchor assignment). Batches of 2, since EfficientDet's train-mode BatchNorm on the 1×1 P7 map needs more than
    /// one value; AdamW, so the optimizer's two moment slots and step count must come back too. Mask R-CNN samples 16 RoIs an
    /// image (at most 4 positives), since each positive runs the 256-wide four-conv mask head.
    /// </summary>
    [Theory]
    [InlineData("mask_rcnn")]
    [InlineData("efficientdet_lite0")]
    public void ResumingMidEpochRepeatsTheUninterruptedRunExactlyForMaskRcnnAndEfficientDet(string model)
    {
        using var folder = new TempFolder();
        var data = Shapes(4, seed: 5, new DetectionRandomHorizontalFlip(0.5));
        DetectionTrainingOptions Options(string saveDir) => new(Epochs: 2, BatchSize: 2, LearningRate: 1e-3, Optimizer: DetectionOptimizer.AdamW,
            WarmupSteps: 2, LogIntervalSteps: 1, SaveIntervalEpochs: 2, SaveDir: Path.Combine(folder.Path, saveDir));
        Detector New(int seed)
        {
            Engine.ManualSeed(seed);
            return model.StartsWith("efficientdet", StringComparison.Ordinal)
                ? new Detector(model, 4, classNames: ["background", .. SyntheticDetectionDataset.ShapeClasses])
                : new Detector(model, 4, "resnet18_fpn", Tiny with { RoiHeads = new RoiHeadsOptions(BatchSizePerImage: 16) },
                    ["background", .. SyntheticDetectionDataset.ShapeClasses]);
        }

        var whole = New(1);
        var wholeResult = whole.Train(data, options: Options("whole"));

        using var stop = new CancellationTokenSource();
        var atStepThree = new InlineProgress(p =>
        {
            if (p.Phase == DetectionTrainingPhase.Step && p.GlobalStep == 3) stop.Cancel();
        });
        var error = Assert.Throws<TrainingInterruptedException>(() =>
            New(1).Train(data, options: Options("split"), progress: atStepThree, cancellationToken: stop.Token));
        Assert.Equal(Path.Combine(folder.Path, "split", "epoch_2_step_1"), error.CheckpointFolder);

        // Another initialisation: resuming must replace every weight, buffer and optimizer slot.
        var resumed = New(2);
        var result = resumed.Train(data, options: Options("split") with { Resume = error.CheckpointFolder });

        Assert.Equal((2, 4L), (result.EpochsCompleted, result.GlobalStep));
        Assert.Equal(wholeResult.StepLosses.Skip(3), result.StepLosses);
        var expected = whole.Model.StateDict();
        var actual = resumed.Model.StateDict();
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
        foreach (var (key, tensor) in actual)
            Assert.True(expected[key].ToArray().SequenceEqual(tensor.ToArray()), $"{model}: {key} differs after resuming mid-epoch.");
    }

    [Fact]
    public void TheReportShowsTheLoggedLossesMetricsCocoNumbersAndPerClassApWithEscapedNamesAndAGallery()
    {
        using var folder = new TempFolder();
        string[] names = ["background", "<b>circle</b>", "rect & co", "triangle"];
        var detector = NewDetector(1, names);
        var result = detector.Train(Shapes(2, seed: 8), Shapes(2, seed: 9), new DetectionTrainingOptions(Epochs: 2, BatchSize: 2, LearningRate: 1e-3,
            Optimizer: DetectionOptimizer.AdamW, WarmupSteps: 1, LogIntervalSteps: 1, SaveDir: folder.Path));

        string html = File.ReadAllText(Path.Combine(folder.Path, TrainingReport.FileName));
        var lines = File.ReadLines(Path.Combine(folder.Path, "metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var evaluations = lines.Where(l => l.GetProperty("event").GetString() == "evaluation").ToList();
        Assert.Equal(2, evaluations.Count);
        for (int e = 0; e < 2; e++)
        {
            var logged = evaluations[e];
            var metrics = result.Evaluations[e].Metrics;
            Assert.Equal(metrics.Box.AP, logged.GetProperty("metrics").GetProperty("box_map").GetDouble());
            Assert.Equal(metrics.Box.Stats, logged.GetProperty("coco_box").EnumerateObject().Select(p => p.Value.GetDouble()));
            Assert.Equal(metrics.BoxClassAP!, logged.GetProperty("class_ap").EnumerateArray().Select(v => v.GetDouble()));
            // The evaluation table's row of this epoch: box_map, box_ap50, box_ap75 as the report formats them.
            Assert.Contains($"<td>{F(metrics.Box.AP)}</td><td>{F(metrics.Box.AP50)}</td><td>{F(metrics.Box.AP75)}</td></tr>", html);
        }
        var train = lines.Where(l => l.GetProperty("event").GetString() == "train").ToList();
        Assert.Equal(2, train.Count);
        string[] lossNames = ["loss_box_reg", "loss_classifier", "loss_objectness", "loss_rpn_box_reg"];
        Assert.Equal(lossNames, train[0].GetProperty("losses").EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        foreach (string loss in lossNames)
            Assert.Contains($">{loss}</text>", html);

        var best = result.Evaluations.Single(e => e.Epoch == result.BestEpoch).Metrics;
        Assert.Contains($"COCO metrics (epoch {result.BestEpoch})", html);
        for (int i = 0; i < 12; i++)
            Assert.Contains($"<tr><th>{SharpSeg.Detection.Evaluation.CocoMetrics.StatNames[i]}</th><td>{F(best.Box.Stats[i])}</td></tr>", html);
        Assert.Contains("Per-class box AP", html);
        Assert.Contains(WebUtility.HtmlEncode("<b>circle</b>"), html);
        Assert.Contains("rect &amp; co", html);
        Assert.DoesNotContain("<b>circle</b>", html);
        Assert.DoesNotContain("Confusion matrix", html);

        string gallery = Path.Combine(folder.Path, TrainingReport.GalleryFolderName);
        foreach (string file in new[] { "00_image.png", "00_truth.png", "00_prediction.png", "01_image.png", "01_truth.png", "01_prediction.png" })
            Assert.True(File.Exists(Path.Combine(gallery, file)), $"{file} is missing from the gallery");
        Assert.False(File.Exists(Path.Combine(gallery, "00_overlay.png")));
        Assert.Contains("alt=\"00 prediction\"", html);
        Assert.DoesNotContain("<th>overlay</th>", html);
    }

    private static string F(double value) => value.ToString("G4", CultureInfo.InvariantCulture);

    private sealed class InlineProgress(Action<DetectionTrainingProgress> report) : IProgress<DetectionTrainingProgress>
    {
        public void Report(DetectionTrainingProgress value) => report(value);
    }
}
