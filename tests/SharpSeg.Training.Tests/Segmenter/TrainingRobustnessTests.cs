using System.Security.Cryptography;
using SharpSeg.Data;
using SharpSeg.Data.Datasets;
using SharpSeg.Data.Synthetic;
using SharpSeg.Data.Transforms;
using SharpSeg.Nn.Losses;
using SharpSeg.Training.Checkpoints;

namespace SharpSeg.Training.Tests.Segmenter;

/// <summary>
/// What a run does when something goes wrong: a diverging loss, a kill between saving epoch_N and best_model, a second
/// run on the same save folder, data that is bad from the start or goes bad mid-run.
/// </summary>
public sealed class TrainingRobustnessTests : IDisposable
{
    private readonly string _root = TestData.TempFolder("robustness");

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    private static Training.Segmenter Tiny() => new(new TinyConvNet(3, dropout: 0, seed: 4), "tiny");

    private static string ModelHash(string folder) =>
        Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(folder, Checkpoint.ModelFileName))));

    /// <summary>A PaddleSeg file-list dataset on disk: images/ and labels/ PNGs, train.txt and val.txt.</summary>
    private string WriteDataset(int train, int val, int seed = 3)
    {
        string root = Path.Combine(_root, "data");
        SyntheticDataset.WriteFileList(root, new SyntheticOptions(Height: 16, Width: 16, NumClasses: 3, Seed: seed, MaxShapes: 3), train, val);
        return root;
    }

    private static FileListDataset Open(string root, string list, DatasetMode mode) =>
        new(root, Path.Combine(root, list), 3, mode, new Compose(new Normalize()));

    // ---- non-finite loss -------------------------------------------------------------------------------------------

    [Fact]
    public void A_diverging_run_stops_at_the_nan_step_saves_nothing_non_finite_and_keeps_the_good_checkpoints()
    {
        var train = TestData.Synthetic(4, seed: 1, size: 16);
        var eval = TestData.Synthetic(2, seed: 2, size: 16, mode: DatasetMode.Val);
        Tiny().Train(1, train, trainBatchSize: 2, evalDataset: eval, saveDir: _root, learningRate: 0.01);
        string epoch1 = CheckpointFolders.EpochFolder(_root, 1), best = CheckpointFolders.BestModelFolder(_root);
        string epoch1Hash = ModelHash(epoch1);

        var reports = new List<TrainingProgress>();
        var diverging = Tiny();
        var error = Assert.Throws<NonFiniteLossException>(() => diverging.Train(8, train, trainBatchSize: 2, evalDataset: eval, saveDir: _root,
            learningRate: 1e6, resumeCheckpoint: epoch1, progress: new SynchronousProgress(reports)));

        // At lr 1e6 the weights blow up over epochs 2 and 3 (finite, saved) and the loss is NaN at the first step of epoch 4.
        Assert.Equal(("loss", 4, 1, 7L), (error.Quantity, error.Epoch, error.Step, error.GlobalStep));
        Assert.True(double.IsNaN(error.Value));
        string epoch3 = Path.Combine(_root, "epoch_3");
        Assert.Contains($"the loss is NaN at epoch 4, step 1 (global step 7, learning rate", error.Message);
        Assert.Contains($"the last checkpoint, {epoch3}, has finite weights", error.Message);
        Assert.Equal(epoch3, error.LastCheckpointFolder);
        Assert.Equal([3L, 4L, 5L, 6L], reports.Where(r => r.Phase == TrainingPhase.Step).Select(r => r.GlobalStep));
        Assert.Equal([1, 2, 3], CheckpointFolders.EpochFolders(_root).Select(f => f.Epoch));
        Assert.Equal(epoch1Hash, ModelHash(epoch1));
        foreach (string folder in CheckpointFolders.EpochFolders(_root).Select(f => f.Path).Append(best))
            Assert.All(Checkpoint.Read(folder).ModelTensors, p => Assert.True(p.Value.ToArray().All(float.IsFinite), $"{folder}: {p.Key}"));
        // The failed step is undone: the model in memory is epoch 3's, BatchNorm statistics included.
        var saved = Checkpoint.Read(epoch3).ModelTensors;
        foreach (var (key, tensor) in diverging.Model.StateDict()) Assert.Equal(saved[key].ToArray(), tensor.ToArray());
    }

    /// <summary>A loss that is 0 with a NaN gradient: d√s/ds is ∞ at 0, times the 0 of logits·0.</summary>
    private sealed class NanGradientLoss : ISegmentationLoss
    {
        public Tensor Forward(Tensor logits, Tensor labels) => (logits * 0f).Sum().Sqrt();
    }

    [Fact]
    public void A_nan_gradient_stops_the_run_naming_the_parameter_before_the_weights_change()
    {
        var segmenter = Tiny();
        var before = segmenter.Model.StateDict().ToDictionary(p => p.Key, p => p.Value.ToArray());

        var error = Assert.Throws<NonFiniteLossException>(() => segmenter.Train(2, TestData.Synthetic(4, seed: 1, size: 16), trainBatchSize: 2,
            saveDir: _root, learningRate: 0.01, options: new TrainingOptions(Loss: new NanGradientLoss())));

        Assert.Equal(("gradient of conv1.weight", 1, 1), (error.Quantity, error.Epoch, error.Step));
        Assert.Contains("the gradient of conv1.weight is NaN at epoch 1, step 1 (global step 1", error.Message);
        Assert.Contains("no checkpoint had been written yet", error.Message);
        foreach (var (key, tensor) in segmenter.Model.StateDict()) Assert.Equal(before[key], tensor.ToArray());
        Assert.Empty(CheckpointFolders.EpochFolders(_root));
    }

    // ---- best_model consistency ------------------------------------------------------------------------------------

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Resume_restores_a_best_model_left_stale_or_missing_by_a_kill_between_epoch_N_and_best_model(bool stale)
    {
        var train = TestData.Synthetic(4, seed: 1, size: 16);
        var eval = TestData.Synthetic(2, seed: 2, size: 16, mode: DatasetMode.Val);
        var options = new TrainingOptions(BestMetric: Training.Segmenter.ValidationLossMetric);
        Tiny().Train(2, train, trainBatchSize: 2, evalDataset: eval, saveDir: _root, learningRate: 0.05, options: options);
        string epoch1 = CheckpointFolders.EpochFolder(_root, 1), epoch2 = CheckpointFolders.EpochFolder(_root, 2);
        string best = CheckpointFolders.BestModelFolder(_root);
        Assert.Equal(2, Checkpoint.ReadState(epoch2).BestEpoch);

        // The disk as a kill right after epoch_2 was saved leaves it: best_model still epoch 1's, or (first best) absent.
        if (stale) CheckpointFolders.UpdateBestModel(_root, epoch1);
        else Directory.Delete(best, recursive: true);

        string? bestAtFirstStep = null;
        var reports = new List<TrainingProgress>();
        var progress = new Probe(report =>
        {
            reports.Add(report);
            if (report.Phase == TrainingPhase.Step && bestAtFirstStep is null) bestAtFirstStep = ModelHash(best);
        });
        Tiny().Train(3, train, trainBatchSize: 2, evalDataset: eval, saveDir: _root, learningRate: 0.05, resumeCheckpoint: epoch2,
            options: options, progress: progress);

        Assert.Equal(ModelHash(epoch2), bestAtFirstStep);
        var note = Assert.Single(reports, r => r.Phase == TrainingPhase.Note);
        Assert.Contains(stale ? "best_model holds epoch 1" : "best_model is missing", note.Message);
        Assert.Contains($"best_model restored from {Path.Combine(_root, "epoch_2")}", note.Message);
        Assert.Contains("\"event\":\"note\"", File.ReadAllText(Path.Combine(_root, Training.Segmenter.MetricsFileName)));
    }

    [Fact]
    public void Resume_leaves_a_best_model_that_matches_the_recorded_best_alone()
    {
        var train = TestData.Synthetic(4, seed: 1, size: 16);
        var eval = TestData.Synthetic(2, seed: 2, size: 16, mode: DatasetMode.Val);
        Tiny().Train(1, train, trainBatchSize: 2, evalDataset: eval, saveDir: _root, learningRate: 0.05);
        var reports = new List<TrainingProgress>();

        Tiny().Train(2, train, trainBatchSize: 2, evalDataset: eval, saveDir: _root, learningRate: 0.05,
            resumeCheckpoint: CheckpointFolders.EpochFolder(_root, 1), progress: new SynchronousProgress(reports));

        Assert.DoesNotContain(reports, r => r.Phase == TrainingPhase.Note);
    }

    [Fact]
    public void Loading_a_missing_best_model_names_the_newest_epoch_checkpoint_instead()
    {
        Tiny().Train(2, TestData.Synthetic(4, seed: 1, size: 16), trainBatchSize: 2, saveDir: _root);   // no evaluation set: no best_model

        var error = Assert.Throws<CheckpointException>(() => Training.Segmenter.Load(CheckpointFolders.BestModelFolder(_root)));

        Assert.Contains($"the folder does not exist. The newest checkpoint of that run is {Path.Combine(_root, "epoch_2")}; use it instead.", error.Message);
    }

    // ---- save folder lock ------------------------------------------------------------------------------------------

    [Fact]
    public void A_second_run_on_a_held_save_folder_is_refused_naming_the_holder_and_changes_nothing()
    {
        var train = TestData.Synthetic(4, seed: 1, size: 16);
        Tiny().Train(1, train, trainBatchSize: 2, saveDir: _root, learningRate: 0.01);
        string epoch1 = CheckpointFolders.EpochFolder(_root, 1), hash = ModelHash(epoch1);

        // Another process's live lock: its file, held open exclusively.
        const int otherProcess = 4_000_001;
        string otherLock = Path.Combine(_root, $"train.{otherProcess}.lock");
        SaveFolderInUseException overwrite, resume;
        using (new FileStream(otherLock, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None))
        {
            overwrite = Assert.Throws<SaveFolderInUseException>(() => Tiny().Train(1, train, trainBatchSize: 2, saveDir: _root,
                options: new TrainingOptions(OverwriteSaveDir: true)));
            resume = Assert.Throws<SaveFolderInUseException>(() => Tiny().Train(2, train, trainBatchSize: 2, saveDir: _root, resumeCheckpoint: epoch1));
        }

        Assert.Equal(otherProcess, overwrite.HolderProcessId);
        Assert.Contains($"is in use by another training run, process {otherProcess} (lock file {otherLock})", overwrite.Message);
        Assert.Equal(otherProcess, resume.HolderProcessId);
        Assert.Equal(hash, ModelHash(epoch1));
        Assert.Equal([1], CheckpointFolders.EpochFolders(_root).Select(f => f.Epoch));
        Assert.DoesNotContain(Directory.GetFiles(_root), f => f.EndsWith($"train.{Environment.ProcessId}.lock", StringComparison.Ordinal));
    }

    [Fact]
    public void A_second_Train_started_while_a_first_one_runs_on_the_folder_is_refused_and_the_lock_goes_with_the_first()
    {
        var train = TestData.Synthetic(4, seed: 1, size: 16);
        SaveFolderInUseException? refused = null;
        var startSecondAtFirstStep = new Probe(report =>
        {
            if (report is { Phase: TrainingPhase.Step, GlobalStep: 1 })
                refused = Assert.Throws<SaveFolderInUseException>(() => Tiny().Train(1, train, trainBatchSize: 2, saveDir: _root,
                    options: new TrainingOptions(OverwriteSaveDir: true)));
        });

        Tiny().Train(2, train, trainBatchSize: 2, saveDir: _root, progress: startSecondAtFirstStep);

        Assert.NotNull(refused);
        Assert.Equal(Environment.ProcessId, refused.HolderProcessId);
        Assert.Contains($"process {Environment.ProcessId} (lock file {Path.Combine(_root, $"train.{Environment.ProcessId}.lock")})", refused.Message);
        Assert.Equal([1, 2], CheckpointFolders.EpochFolders(_root).Select(f => f.Epoch));
        Assert.Empty(Directory.GetFiles(_root, "train.*.lock"));
        Tiny().Train(1, train, trainBatchSize: 2, saveDir: _root, options: new TrainingOptions(OverwriteSaveDir: true));
        Assert.Equal([1], CheckpointFolders.EpochFolders(_root).Select(f => f.Epoch));
    }

    [Fact]
    public void A_stale_lock_of_a_process_that_is_gone_is_taken_over_with_a_note()
    {
        Directory.CreateDirectory(_root);
        const int gone = 2_147_483_646;   // above any process id an OS hands out
        string stale = Path.Combine(_root, $"train.{gone}.lock");
        File.WriteAllText(stale, $"pid {gone}\n");
        var reports = new List<TrainingProgress>();

        Tiny().Train(1, TestData.Synthetic(4, seed: 1, size: 16), trainBatchSize: 2, saveDir: _root, progress: new SynchronousProgress(reports));

        var note = Assert.Single(reports, r => r.Phase == TrainingPhase.Note);
        Assert.Contains($"took over save folder '{Path.GetFullPath(_root)}' from process {gone}, which is no longer running", note.Message);
        Assert.False(File.Exists(stale));
        Assert.Empty(Directory.GetFiles(_root, "train.*.lock"));
        Assert.True(Directory.Exists(CheckpointFolders.EpochFolder(_root, 1)));
    }

    // ---- data checked before training --------------------------------------------------------------------------------

    [Fact]
    public void A_corrupt_validation_image_fails_before_the_first_step_naming_the_list_line()
    {
        string data = WriteDataset(train: 4, val: 2);
        string corrupt = Path.Combine(data, "images", "000005.png");   // val.txt line 2
        File.WriteAllBytes(corrupt, File.ReadAllBytes(corrupt)[..60]);
        var reports = new List<TrainingProgress>();
        string saveDir = Path.Combine(_root, "run");

        var error = Assert.Throws<InvalidDataException>(() => Tiny().Train(1, Open(data, "train.txt", DatasetMode.Train), trainBatchSize: 2,
            evalDataset: Open(data, "val.txt", DatasetMode.Val), saveDir: saveDir, progress: new SynchronousProgress(reports)));

        Assert.Contains("1 of the 2 evaluation samples cannot be used (checked before the first step", error.Message);
        Assert.Contains($"{Path.Combine(data, "val.txt")}, line 2: image {corrupt}: truncated", error.Message);
        Assert.Empty(reports);
        Assert.False(Directory.Exists(saveDir));
    }

    [Fact]
    public void Label_size_mismatches_and_colour_labels_are_listed_before_training_with_their_lines()
    {
        string data = WriteDataset(train: 4, val: 0);
        string small = Path.Combine(data, "labels", "000002.png");     // train.txt line 3
        ImageFile.WritePng(small, new Image<byte>(8, 16, 1));
        string colour = Path.Combine(data, "labels", "000003.png");    // train.txt line 4
        ImageFile.WritePng(colour, new Image<byte>(16, 16, 3));

        var error = Assert.Throws<InvalidDataException>(() => Tiny().Train(1, Open(data, "train.txt", DatasetMode.Train), trainBatchSize: 2,
            saveDir: Path.Combine(_root, "run")));

        string list = Path.Combine(data, "train.txt");
        Assert.Contains("2 of the 4 training samples cannot be used", error.Message);
        Assert.Contains($"{list}, line 3: label {small} is 8×16 but image {Path.Combine(data, "images", "000002.png")} is 16×16.", error.Message);
        Assert.Contains($"{list}, line 4: label {colour} has 3 channels; labels must be gray or palette images", error.Message);
    }

    // ---- late failures save first ------------------------------------------------------------------------------------

    /// <summary>Runs <paramref name="onReport"/> for every report, on the training thread.</summary>
    private sealed class Probe(Action<TrainingProgress> onReport) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => onReport(value);
    }

    [Fact]
    public void Images_that_go_bad_mid_epoch_save_a_partial_checkpoint_that_resumes_to_the_uninterrupted_weights()
    {
        string data = WriteDataset(train: 6, val: 0);
        var train = Open(data, "train.txt", DatasetMode.Train);
        var straight = Tiny();
        straight.Train(3, train, trainBatchSize: 2, saveDir: Path.Combine(_root, "straight"), learningRate: 0.05);

        var images = Directory.GetFiles(Path.Combine(data, "images")).ToDictionary(f => f, File.ReadAllBytes);
        string saveDir = Path.Combine(_root, "run");
        var breakAfterStep4 = new Probe(report =>
        {
            if (report is { Phase: TrainingPhase.Step, GlobalStep: 4 })
                foreach (string file in images.Keys) File.WriteAllBytes(file, [1, 2, 3]);
        });
        var error = Assert.Throws<TrainingFailedException>(() => Tiny().Train(3, train, trainBatchSize: 2, saveDir: saveDir, learningRate: 0.05,
            progress: breakAfterStep4));

        string partial = CheckpointFolders.PartialEpochFolder(saveDir, 2, 1);
        Assert.Equal((Path.GetFullPath(partial), 2, 1, 4L), (Path.GetFullPath(error.CheckpointFolder!), error.Epoch, error.Step, error.GlobalStep));
        Assert.IsType<Data.Loading.SampleLoadException>(error.InnerException);
        Assert.StartsWith("Loading sample", error.Message);
        Assert.Contains($"during loading step 2 of epoch 2 (epoch 2, step 1, global step 4); the training done so far is saved in {partial}", error.Message);
        var state = Checkpoint.ReadState(partial);
        Assert.Equal((1, 1, 4L, 2), (state.Epoch, state.EpochStep, state.Step, state.TrainBatchSize));

        var refused = Assert.Throws<ArgumentException>(() => Tiny().Train(3, train, trainBatchSize: 3, saveDir: saveDir, resumeCheckpoint: partial));
        Assert.Contains("was saved 1 steps into epoch 2 with 2 images per step; resume it with trainBatchSize 2 (got 3)", refused.Message);

        foreach (var (file, bytes) in images) File.WriteAllBytes(file, bytes);
        var resumed = Tiny();
        var result = resumed.Train(3, train, trainBatchSize: 2, saveDir: saveDir, learningRate: 0.05, resumeCheckpoint: partial);

        Assert.Equal(5, result.StepLosses.Count);   // the last 2 steps of epoch 2, then the 3 of epoch 3
        foreach (var (key, tensor) in straight.Model.StateDict())
            Assert.Equal(tensor.ToArray(), resumed.Model.StateDict()[key].ToArray());
        Assert.Empty(CheckpointFolders.PartialEpochFolders(saveDir));
    }

    [Fact]
    public void A_validation_crash_saves_the_epoch_first_and_the_run_resumes_from_it()
    {
        string data = WriteDataset(train: 4, val: 2);
        var train = Open(data, "train.txt", DatasetMode.Train);
        var eval = Open(data, "val.txt", DatasetMode.Val);
        string valImage = Path.Combine(data, "images", "000004.png"), saveDir = Path.Combine(_root, "run");
        byte[] original = File.ReadAllBytes(valImage);
        var breakAtEndOfEpoch1 = new Probe(report =>
        {
            if (report is { Phase: TrainingPhase.Step, GlobalStep: 2 }) File.WriteAllBytes(valImage, original[..40]);
        });

        var error = Assert.Throws<TrainingFailedException>(() => Tiny().Train(2, train, trainBatchSize: 2, evalDataset: eval, saveDir: saveDir,
            progress: breakAtEndOfEpoch1));

        string epoch1 = CheckpointFolders.EpochFolder(saveDir, 1);
        Assert.Equal(Path.GetFullPath(epoch1), Path.GetFullPath(error.CheckpointFolder!));
        Assert.Contains(valImage, error.Message);
        Assert.Contains($"during the evaluation after epoch 1 (epoch 1, step 2, global step 2); the training done so far is saved in {epoch1}", error.Message);
        Assert.Equal((1, 0, 2L), (Checkpoint.ReadState(epoch1).Epoch, Checkpoint.ReadState(epoch1).EpochStep, Checkpoint.ReadState(epoch1).Step));

        File.WriteAllBytes(valImage, original);
        var result = Tiny().Train(2, train, trainBatchSize: 2, evalDataset: eval, saveDir: saveDir, resumeCheckpoint: epoch1);
        Assert.Equal((2, 4L), (result.EpochsCompleted, result.GlobalStep));
        Assert.Equal([2], result.Evaluations.Select(e => e.Epoch));
    }

    // ---- cancellation and unwritable checkpoints, as the Detector's run ---------------------------------------------

    private static long[] LoggedSteps(string saveDir) =>
        File.ReadLines(Path.Combine(saveDir, Training.Segmenter.MetricsFileName)).Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement)
            .Where(l => l.GetProperty("event").GetString() == "train").Select(l => l.GetProperty("step").GetInt64()).ToArray();

    [Fact]
    public void Cancelling_inside_an_epoch_saves_epoch_N_step_K_naming_it_and_resuming_repeats_the_uninterrupted_run()
    {
        var train = TestData.Synthetic(6, seed: 1, size: 16);
        var straight = Tiny();
        straight.Train(2, train, trainBatchSize: 2, saveDir: Path.Combine(_root, "straight"), learningRate: 0.05, logIntervalSteps: 1);

        string saveDir = Path.Combine(_root, "run");
        using var stop = new CancellationTokenSource();
        var atStep4 = new Probe(report =>
        {
            if (report is { Phase: TrainingPhase.Step, GlobalStep: 4 }) stop.Cancel();
        });
        var error = Assert.Throws<TrainingInterruptedException>(() => Tiny().Train(2, train, trainBatchSize: 2, saveDir: saveDir, learningRate: 0.05,
            logIntervalSteps: 1, progress: atStep4, cancellationToken: stop.Token));

        string partial = CheckpointFolders.PartialEpochFolder(saveDir, 2, 1);
        Assert.Equal((partial, 2, 1, 4L), (error.CheckpointFolder, error.Epoch, error.Step, error.GlobalStep));
        Assert.Equal(stop.Token, error.CancellationToken);
        Assert.Contains($"Train: interrupted at epoch 2, step 1 (global step 4); the training done so far is saved in {partial}. Resume from", error.Message);
        var saved = Checkpoint.Read(partial, "tiny", 3);
        Assert.Equal((1, 1, 4L), (saved.State.Epoch, saved.State.EpochStep, saved.State.Step));
        Assert.All(saved.ModelTensors, p => Assert.True(p.Value.ToArray().All(float.IsFinite), p.Key));
        Assert.Equal([1L, 2, 3, 4], LoggedSteps(saveDir));
        Assert.True(File.Exists(Path.Combine(saveDir, Training.Reporting.TrainingReport.FileName)));

        var resumed = Tiny();
        resumed.Train(2, train, trainBatchSize: 2, saveDir: saveDir, learningRate: 0.05, logIntervalSteps: 1, resumeCheckpoint: partial);
        foreach (var (key, tensor) in straight.Model.StateDict())
            Assert.Equal(tensor.ToArray(), resumed.Model.StateDict()[key].ToArray());
        Assert.Equal([1L, 2, 3, 4, 5, 6], LoggedSteps(saveDir));
    }

    [Fact]
    public void Cancelling_in_an_epochs_last_step_saves_epoch_N_and_a_run_cancelled_on_its_checkpoint_saves_nothing_more()
    {
        var train = TestData.Synthetic(4, seed: 1, size: 16);
        using var stop = new CancellationTokenSource();
        var endOfEpoch1 = new Probe(report =>
        {
            if (report is { Phase: TrainingPhase.Step, Epoch: 1, Step: 2 }) stop.Cancel();
        });
        // No checkpoint is due before epoch 3, so the interruption writes epoch_1 itself.
        var error = Assert.Throws<TrainingInterruptedException>(() => Tiny().Train(3, train, trainBatchSize: 2, saveIntervalEpochs: 3, saveDir: _root,
            progress: endOfEpoch1, cancellationToken: stop.Token));

        string epoch1 = CheckpointFolders.EpochFolder(_root, 1);
        Assert.Equal((epoch1, 2, 0), (error.CheckpointFolder, error.Epoch, error.Step));
        Assert.Equal((1, 0, 2L), (Checkpoint.ReadState(epoch1).Epoch, Checkpoint.ReadState(epoch1).EpochStep, Checkpoint.ReadState(epoch1).Step));

        var again = Assert.Throws<TrainingInterruptedException>(() => Tiny().Train(3, train, trainBatchSize: 2, saveIntervalEpochs: 3, saveDir: _root,
            resumeCheckpoint: epoch1, cancellationToken: stop.Token));
        Assert.Equal(epoch1, again.CheckpointFolder);
        Assert.Contains($"all training so far is in the checkpoint {epoch1}", again.Message);
        Assert.Equal([1], CheckpointFolders.EpochFolders(_root).Select(f => f.Epoch));
        Assert.Empty(CheckpointFolders.PartialEpochFolders(_root));
    }

    [Fact]
    public void An_epoch_checkpoint_that_cannot_be_written_stops_the_run_naming_the_last_one_written()
    {
        var train = TestData.Synthetic(4, seed: 1, size: 16);
        string epoch1 = CheckpointFolders.EpochFolder(_root, 1), epoch2 = CheckpointFolders.EpochFolder(_root, 2);
        // A file where epoch_2 goes: the folder cannot be renamed into place, as on a full disk or a read-only folder.
        var blockEpoch2 = new Probe(report =>
        {
            if (report is { Phase: TrainingPhase.Step, GlobalStep: 3 }) File.WriteAllText(epoch2, "in the way");
        });

        var error = Assert.Throws<TrainingFailedException>(() => Tiny().Train(2, train, trainBatchSize: 2, saveDir: _root, logIntervalSteps: 1,
            progress: blockEpoch2));

        Assert.Equal((epoch1, 2, 2, 4L), (error.CheckpointFolder, error.Epoch, error.Step, error.GlobalStep));
        Assert.IsAssignableFrom<IOException>(error.InnerException);
        Assert.Contains($"during writing the checkpoint {epoch2} (epoch 2, step 2, global step 4); the last checkpoint written is {epoch1}.", error.Message);
        Assert.Equal(2L, Checkpoint.Read(epoch1, "tiny", 3).State.Step);
        Assert.Empty(Directory.GetDirectories(_root, ".epoch_2*"));

        File.Delete(epoch2);
        var result = Tiny().Train(2, train, trainBatchSize: 2, saveDir: _root, logIntervalSteps: 1, resumeCheckpoint: epoch1);
        Assert.Equal(Path.GetFullPath(epoch2), Path.GetFullPath(result.LastCheckpointFolder!));
        Assert.Equal([1L, 2, 3, 4], LoggedSteps(_root));
    }
}
