using System.Text.Json;
using SharpSeg.Data.Loading;
using SharpSeg.Detection.Data;
using SharpSeg.Detection.Tests.Data;
using SharpSeg.Training;
using SharpSeg.Training.Checkpoints;

namespace SharpSeg.Detection.Tests.Api;

/// <summary>
/// The Detector's run when something fails, as the Segmenter's: a sample that stops loading or an evaluation that throws
/// saves the work done and names it; a non-finite loss undoes its step (BatchNorm statistics too) and names the last good
/// checkpoint; an epoch checkpoint that cannot be written names the last one that was.
/// </summary>
public class DetectorFailureTests
{
    private static Detector NewDetector() => TinyDetectors.FasterRcnn();

    private static DetectionTrainingOptions Options(string saveDir, int epochs) => new(Epochs: epochs, BatchSize: 1, LearningRate: 1e-3,
        WarmupSteps: 1, LogIntervalSteps: 1, SaveDir: saveDir);

    private enum Fault { None, Throw, NaN }

    /// <summary>Synthetic shapes that can be made to fail to load, or to load as NaN pixels, from a given moment on.</summary>
    private sealed class FaultyShapes(int count, int seed) : DetectionDataset(["background", .. SyntheticDetectionDataset.ShapeClasses], null)
    {
        private readonly SyntheticDetectionDataset _shapes = new(new SyntheticDetectionOptions(count, 64, 64, seed, MinObjects: 1, MaxObjects: 2));

        public Fault Fault { get; set; }

        public override int Count => _shapes.Count;

        public override string SourceName(int index) => $"shape {index}.png";

        protected override DetectionSample LoadUnchecked(int index)
        {
            if (Fault == Fault.Throw) throw new IOException($"shape {index}.png: input/output error");
            var sample = _shapes.Load(index);
            if (Fault == Fault.NaN) Array.Fill(sample.Image.Pixels, float.NaN);
            return sample;
        }
    }

    private sealed class InlineProgress(Action<DetectionTrainingProgress> report) : IProgress<DetectionTrainingProgress>
    {
        public void Report(DetectionTrainingProgress value) => report(value);
    }

    private static long[] LoggedSteps(string saveDir) =>
        File.ReadLines(Path.Combine(saveDir, Segmenter.MetricsFileName)).Select(l => JsonDocument.Parse(l).RootElement)
            .Where(l => l.GetProperty("event").GetString() == "train").Select(l => l.GetProperty("step").GetInt64()).ToArray();

    [Fact]
    public void A_sample_that_stops_loading_mid_epoch_saves_epoch_N_step_K_naming_it()
    {
        using var folder = new TempFolder();
        var data = new FaultyShapes(2, seed: 4);
        var breakAfterStep3 = new InlineProgress(p =>
        {
            if (p is { Phase: DetectionTrainingPhase.Step, GlobalStep: 3 }) data.Fault = Fault.Throw;
        });

        var error = Assert.Throws<TrainingFailedException>(() => NewDetector().Train(data, options: Options(folder.Path, 2), progress: breakAfterStep3));

        string partial = CheckpointFolders.PartialEpochFolder(folder.Path, 2, 1);
        Assert.Equal((partial, 2, 1, 3L), (error.CheckpointFolder, error.Epoch, error.Step, error.GlobalStep));
        Assert.IsType<SampleLoadException>(error.InnerException);
        Assert.Contains($"during loading step 2 of epoch 2 (epoch 2, step 1, global step 3); the training done so far is saved in {partial}.", error.Message);
        var saved = Checkpoint.Read(partial, "faster_rcnn", 4);
        Assert.Equal((1, 1, 3L), (saved.State.Epoch, saved.State.EpochStep, saved.State.Step));
        Assert.Equal([1L, 2, 3], LoggedSteps(folder.Path));
    }

    [Fact]
    public void An_evaluation_that_throws_saves_the_epoch_first_and_names_it()
    {
        using var folder = new TempFolder();
        var eval = new FaultyShapes(1, seed: 5) { Fault = Fault.Throw };

        var error = Assert.Throws<TrainingFailedException>(() => NewDetector().Train(new FaultyShapes(2, seed: 4), eval, Options(folder.Path, 1)));

        string epoch1 = CheckpointFolders.EpochFolder(folder.Path, 1);
        Assert.Equal((epoch1, 1, 2, 2L), (error.CheckpointFolder, error.Epoch, error.Step, error.GlobalStep));
        Assert.StartsWith("shape 0.png: input/output error", error.Message);
        Assert.Contains($"during the evaluation after epoch 1 (epoch 1, step 2, global step 2); the training done so far is saved in {epoch1}.", error.Message);
        Assert.Equal(2L, Checkpoint.Read(epoch1, "faster_rcnn", 4).State.Step);
    }

    [Fact]
    public void A_nan_loss_undoes_its_step_batch_norm_statistics_included_and_names_the_last_good_checkpoint()
    {
        using var folder = new TempFolder();
        var data = new FaultyShapes(2, seed: 4);
        var poisonEpoch2 = new InlineProgress(p =>
        {
            if (p.Phase == DetectionTrainingPhase.Checkpoint) data.Fault = Fault.NaN;
        });
        var detector = NewDetector();

        var error = Assert.Throws<NonFiniteLossException>(() => detector.Train(data, options: Options(folder.Path, 2), progress: poisonEpoch2));

        string epoch1 = CheckpointFolders.EpochFolder(folder.Path, 1);
        Assert.Equal(("loss", 2, 1, 3L, epoch1), (error.Quantity, error.Epoch, error.Step, error.GlobalStep, error.LastCheckpointFolder));
        Assert.Contains($"the last checkpoint, {epoch1}, has finite weights", error.Message);
        var saved = Checkpoint.Read(epoch1, "faster_rcnn", 4).ModelTensors;
        // The forward pass of the NaN step moved the running statistics; they are put back with everything else.
        Assert.Contains(detector.Model.StateDict().Keys, k => k.EndsWith("running_mean", StringComparison.Ordinal));
        foreach (var (key, tensor) in detector.Model.StateDict()) Assert.True(saved[key].ToArray().SequenceEqual(tensor.ToArray()), key);
        Assert.Equal([1], CheckpointFolders.EpochFolders(folder.Path).Select(f => f.Epoch));
    }

    [Fact]
    public void An_epoch_checkpoint_that_cannot_be_written_names_the_last_one_that_was()
    {
        using var folder = new TempFolder();
        string epoch2 = CheckpointFolders.EpochFolder(folder.Path, 2);
        // A file where epoch_2 goes: the finished folder cannot be renamed into place, as on a full disk or a read-only folder.
        var blockEpoch2 = new InlineProgress(p =>
        {
            if (p is { Phase: DetectionTrainingPhase.Step, GlobalStep: 3 }) File.WriteAllText(epoch2, "in the way");
        });

        var error = Assert.Throws<TrainingFailedException>(() => NewDetector().Train(new FaultyShapes(2, seed: 4), options: Options(folder.Path, 2),
            progress: blockEpoch2));

        string epoch1 = CheckpointFolders.EpochFolder(folder.Path, 1);
        Assert.Equal((epoch1, 2, 4L), (error.CheckpointFolder, error.Epoch, error.GlobalStep));
        Assert.IsAssignableFrom<IOException>(error.InnerException);
        Assert.Contains($"during writing the checkpoint {epoch2} (epoch 2, step 2, global step 4); the last checkpoint written is {epoch1}.", error.Message);
        Assert.Equal(2L, Checkpoint.Read(epoch1, "faster_rcnn", 4).State.Step);
    }
}
