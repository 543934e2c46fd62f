using System.Text.Json;
using SharpSeg.Nn;
using SharpSeg.Nn.Optim;
using SharpSeg.Training.Checkpoints;

namespace SharpSeg.Training.Tests.Checkpoints;

public sealed class CheckpointTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "sharpseg-ckpt-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    /// <summary>A tiny model, its momentum SGD and poly schedule, after <paramref name="steps"/> training steps.</summary>
    private sealed class Run
    {
        public Run(int seed, int steps = 2)
        {
            Model = new Linear(3, 2);
            Model.ResetParameters(new Random(seed));
            Schedule = new PolynomialDecay(0.1, decaySteps: 10);
            Optimizer = new Sgd(Model.Parameters(), 0.1, momentum: 0.9) { Schedule = Schedule };
            for (int i = 0; i < steps; i++) TrainStep(i);
        }

        public Linear Model { get; }

        public Sgd Optimizer { get; }

        public PolynomialDecay Schedule { get; }

        public void TrainStep(int i)
        {
            var x = Tensor.FromArray([1f + i, -2f, 0.5f, 3f, 0.25f * i, -1f], 2, 3);
            var y = Model.Forward(x);
            (y * y).Sum().Backward();
            Optimizer.Step();
            Optimizer.ZeroGrad();
            Schedule.Step();
        }

        public float[] Weights() => Model.Parameters().SelectMany(p => p.ToArray()).ToArray();
    }

    private static CheckpointState State(Run run, int epoch = 1) => new()
    {
        ModelName = "tiny_linear",
        NumClasses = 2,
        ModelOptionsJson = """{"in_features":3,"backbone":{"name":"none","depth":0}}""",
        Epoch = epoch,
        Step = run.Schedule.StepCount,
        SchedulerStateJson = run.Schedule.StateJson(),
        BestMetricName = "miou",
        BestMetricValue = 0.625,
        BestEpoch = 1,
        EarlyStopping = new EarlyStoppingState("miou", EarlyStoppingMode.Max, 5, 1e-4, 0.625, 1, 2, 1),
        RandomState = new Dictionary<string, long> { ["seed"] = 42, ["data_loader"] = 7 },
        TransformsJson = """[{"type":"Normalize","mean":[0.5,0.5,0.5]}]""",
        ClassNames = ["background", "shape"],
    };

    private string Folder(string name = "epoch_1") => Path.Combine(_root, name);

    [Fact]
    public void RoundTripRestoresModelOptimizerScheduleAndState()
    {
        var original = new Run(seed: 1);
        var written = Checkpoint.Save(Folder(), original.Model, State(original), original.Optimizer.StateDict());

        var loaded = Checkpoint.Read(Folder(), "tiny_linear", 2);
        var resumed = new Run(seed: 99, steps: 0);
        loaded.Restore(resumed.Model, resumed.Optimizer, resumed.Schedule);

        Assert.Equal(original.Weights(), resumed.Weights());
        Assert.Equal(2, resumed.Schedule.StepCount);
        Assert.Equal(original.Optimizer.StateDict().Json, resumed.Optimizer.StateDict().Json);

        // Training on from the restored copy follows the original exactly (momentum buffers and LR came back).
        original.TrainStep(2);
        resumed.TrainStep(2);
        Assert.Equal(original.Weights(), resumed.Weights());

        var state = loaded.State;
        Assert.Equal(written, state with { Files = written.Files, ClassNames = written.ClassNames, RandomState = written.RandomState });
        Assert.Equal(["background", "shape"], state.ClassNames);
        Assert.Equal(42, state.RandomState!["seed"]);
        Assert.Equal(new EarlyStoppingState("miou", EarlyStoppingMode.Max, 5, 1e-4, 0.625, 1, 2, 1), state.EarlyStopping);
        Assert.Equal(JsonNormalized(State(original).ModelOptionsJson!), JsonNormalized(state.ModelOptionsJson!));
        Assert.Equal(JsonNormalized(State(original).TransformsJson!), JsonNormalized(state.TransformsJson!));
    }

    [Fact]
    public void StateJsonIsReadableWithInlineDocumentsAndFileHashes()
    {
        var run = new Run(seed: 1);
        Checkpoint.Save(Folder(), run.Model, State(run), run.Optimizer.StateDict());

        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder(), "state.json")));
        var root = json.RootElement;
        Assert.Equal(1, root.GetProperty("format_version").GetInt32());
        Assert.Equal("tiny_linear", root.GetProperty("model_name").GetString());
        Assert.Equal(3, root.GetProperty("model_options").GetProperty("in_features").GetInt32());
        Assert.Equal(2, root.GetProperty("scheduler_state").GetProperty("step").GetInt64());
        Assert.Equal("Normalize", root.GetProperty("transforms")[0].GetProperty("type").GetString());
        Assert.Equal(1, root.GetProperty("early_stopping").GetProperty("evaluations_without_improvement").GetInt32());
        Assert.Equal(7, root.GetProperty("random_state").GetProperty("data_loader").GetInt64());

        var model = root.GetProperty("files").GetProperty("model.safetensors");
        byte[] bytes = File.ReadAllBytes(Path.Combine(Folder(), "model.safetensors"));
        Assert.Equal(bytes.Length, model.GetProperty("bytes").GetInt64());
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes)), model.GetProperty("sha256").GetString());
        Assert.True(root.GetProperty("files").TryGetProperty("optimizer.safetensors", out _));
    }

    [Fact]
    public void AnotherModelNameIsRefusedNamingFolderAndBothNames()
    {
        var run = new Run(seed: 1);
        Checkpoint.Save(Folder(), run.Model, State(run));

        var e = Assert.Throws<CheckpointException>(() => Checkpoint.Read(Folder(), "deeplabv3p", 2));

        Assert.Contains(Folder(), e.Message);
        Assert.Contains("'tiny_linear'", e.Message);
        Assert.Contains("'deeplabv3p'", e.Message);
    }

    [Fact]
    public void AnotherClassCountIsRefusedNamingBothCounts()
    {
        var run = new Run(seed: 1);
        Checkpoint.Save(Folder(), run.Model, State(run));

        var e = Assert.Throws<CheckpointException>(() => Checkpoint.Read(Folder(), "tiny_linear", 19));

        Assert.Contains(Folder(), e.Message);
        Assert.Contains("2 classes", e.Message);
        Assert.Contains("19 were expected", e.Message);
    }

    [Fact]
    public void AnotherFormatVersionIsRefused()
    {
        var run = new Run(seed: 1);
        Checkpoint.Save(Folder(), run.Model, State(run));
        string statePath = Path.Combine(Folder(), "state.json");
        File.WriteAllText(statePath, File.ReadAllText(statePath).Replace("\"format_version\": 1", "\"format_version\": 2"));

        var e = Assert.Throws<CheckpointException>(() => Checkpoint.Read(Folder(), "tiny_linear", 2));

        Assert.Contains("format version 2", e.Message);
        Assert.Contains("reads version 1", e.Message);
    }

    [Fact]
    public void TruncatedTensorFileIsRefusedBeforeAnythingLoads()
    {
        var run = new Run(seed: 1);
        Checkpoint.Save(Folder(), run.Model, State(run));
        string modelPath = Path.Combine(Folder(), "model.safetensors");
        byte[] bytes = File.ReadAllBytes(modelPath);
        File.WriteAllBytes(modelPath, bytes[..^5]);

        var e = Assert.Throws<CheckpointException>(() => Checkpoint.Read(Folder(), "tiny_linear", 2));

        Assert.Contains("model.safetensors", e.Message);
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void FlippedByteIsRefusedByTheHash()
    {
        var run = new Run(seed: 1);
        Checkpoint.Save(Folder(), run.Model, State(run), run.Optimizer.StateDict());
        string optimizerPath = Path.Combine(Folder(), "optimizer.safetensors");
        byte[] bytes = File.ReadAllBytes(optimizerPath);
        bytes[^3] ^= 0x40;
        File.WriteAllBytes(optimizerPath, bytes);

        var e = Assert.Throws<CheckpointException>(() => Checkpoint.Read(Folder(), "tiny_linear", 2));

        Assert.Contains("optimizer.safetensors", e.Message);
        Assert.Contains("corrupt", e.Message);
    }

    [Fact]
    public void TruncatedStateJsonIsRefused()
    {
        var run = new Run(seed: 1);
        Checkpoint.Save(Folder(), run.Model, State(run));
        string statePath = Path.Combine(Folder(), "state.json");
        File.WriteAllText(statePath, File.ReadAllText(statePath)[..40]);

        var e = Assert.Throws<CheckpointException>(() => Checkpoint.Read(Folder(), "tiny_linear", 2));

        Assert.Contains("state.json is not valid checkpoint JSON", e.Message);
    }

    [Fact]
    public void MissingFolderOrStateFileIsRefused()
    {
        var missing = Assert.Throws<CheckpointException>(() => Checkpoint.Read(Folder("nowhere"), "tiny_linear", 2));
        Assert.Contains("does not exist", missing.Message);

        Directory.CreateDirectory(Folder("empty"));
        var empty = Assert.Throws<CheckpointException>(() => Checkpoint.Read(Folder("empty"), "tiny_linear", 2));
        Assert.Contains("no state.json", empty.Message);
    }

    [Fact]
    public void RestoreThatFailsOnTheOptimizerPutsTheModelBack()
    {
        var saved = new Run(seed: 1);
        Checkpoint.Save(Folder(), saved.Model, State(saved), saved.Optimizer.StateDict());
        var loaded = Checkpoint.Read(Folder(), "tiny_linear", 2);

        var target = new Run(seed: 5);
        var adam = new Adam(target.Model.Parameters(), 0.01);
        float[] before = target.Weights();

        var e = Assert.Throws<CheckpointException>(() => loaded.Restore(target.Model, adam));

        Assert.Contains("does not fit", e.Message);
        Assert.Equal(before, target.Weights());
        Assert.NotEqual(saved.Weights(), target.Weights());
    }

    [Fact]
    public void RestoreThatFailsOnTheScheduleLeavesModelAndOptimizerAsTheyWere()
    {
        var saved = new Run(seed: 1);
        Checkpoint.Save(Folder(), saved.Model, State(saved), saved.Optimizer.StateDict());
        var loaded = Checkpoint.Read(Folder(), "tiny_linear", 2);

        var target = new Run(seed: 5, steps: 1);
        var otherSchedule = new PolynomialDecay(0.1, decaySteps: 999);
        float[] before = target.Weights();
        string optimizerBefore = target.Optimizer.StateDict().Json;

        Assert.Throws<CheckpointException>(() => loaded.Restore(target.Model, target.Optimizer, otherSchedule));

        Assert.Equal(before, target.Weights());
        Assert.Equal(optimizerBefore, target.Optimizer.StateDict().Json);
        Assert.Equal(0, otherSchedule.StepCount);
    }

    [Fact]
    public void ResumingAnOptimizerFromAWeightsOnlyCheckpointIsRefused()
    {
        var run = new Run(seed: 1);
        Checkpoint.Save(Folder(), run.Model, State(run));
        var loaded = Checkpoint.Read(Folder(), "tiny_linear", 2);

        var e = Assert.Throws<CheckpointException>(() => loaded.Restore(new Linear(3, 2), run.Optimizer));

        Assert.Contains("no optimizer.safetensors", e.Message);
    }

    [Fact]
    public void SavingOverAnExistingCheckpointReplacesItAndLeavesNoTemporaries()
    {
        var first = new Run(seed: 1);
        Checkpoint.Save(Folder(), first.Model, State(first), first.Optimizer.StateDict());
        var second = new Run(seed: 2, steps: 3);
        Checkpoint.Save(Folder(), second.Model, State(second, epoch: 2));

        var loaded = Checkpoint.Read(Folder(), "tiny_linear", 2);
        Assert.Equal(2, loaded.State.Epoch);
        Assert.Null(loaded.Optimizer);
        Assert.False(File.Exists(Path.Combine(Folder(), "optimizer.safetensors")));
        var target = new Linear(3, 2);
        loaded.Restore(target);
        Assert.Equal(second.Weights(), target.Parameters().SelectMany(p => p.ToArray()).ToArray());
        Assert.Equal(["epoch_1"], Directory.GetFileSystemEntries(_root).Select(Path.GetFileName));
    }

    [Fact]
    public void AFailedSaveLeavesThePreviousCheckpointIntact()
    {
        var first = new Run(seed: 1);
        Checkpoint.Save(Folder(), first.Model, State(first));

        static IEnumerable<KeyValuePair<string, Tensor>> Failing()
        {
            yield return KeyValuePair.Create("weight", Tensor.Zeros(2, 3));
            throw new IOException("disk full");
        }
        Assert.Throws<IOException>(() => Checkpoint.Save(Folder(), Failing(), State(new Run(seed: 2), epoch: 9)));

        var loaded = Checkpoint.Read(Folder(), "tiny_linear", 2);
        Assert.Equal(1, loaded.State.Epoch);
        Assert.Equal(["epoch_1"], Directory.GetFileSystemEntries(_root).Select(Path.GetFileName));
    }

    [Fact]
    public void InvalidJsonInTheStateIsRefusedBeforeWriting()
    {
        var run = new Run(seed: 1);

        var e = Assert.Throws<ArgumentException>(() => Checkpoint.Save(Folder(), run.Model, State(run) with { TransformsJson = "[Normalize" }));

        Assert.Contains("TransformsJson", e.Message);
        Assert.False(Directory.Exists(_root) && Directory.EnumerateFileSystemEntries(_root).Any());
    }

    [Fact]
    public void AnInterruptedReplaceIsReportedAndRepairedByTheNextSave()
    {
        var run = new Run(seed: 1);
        Checkpoint.Save(Folder(), run.Model, State(run));
        // A crash between "rename the old checkpoint aside" and "rename the new one into place", plus a stale temporary.
        string aside = Path.Combine(_root, ".epoch_1.old-0123");
        Directory.Move(Folder(), aside);
        Directory.CreateDirectory(Path.Combine(_root, ".epoch_1.tmp-4567"));

        var e = Assert.Throws<CheckpointException>(() => Checkpoint.ReadState(Folder()));
        Assert.Contains(aside, e.Message);

        Checkpoint.Save(Folder(), run.Model, State(run, epoch: 2));

        Assert.Equal(2, Checkpoint.Read(Folder(), "tiny_linear", 2).State.Epoch);
        Assert.Equal(["epoch_1"], Directory.GetFileSystemEntries(_root).Select(Path.GetFileName));
    }

    private static string JsonNormalized(string json) => JsonSerializer.Serialize(JsonDocument.Parse(json).RootElement);
}
