using SharpSeg.Nn;
using SharpSeg.Nn.Optim;
using SharpSeg.Training.Checkpoints;

namespace SharpSeg.Training.Tests.Checkpoints;

public sealed class CheckpointFoldersTests : IDisposable
{
    private readonly string _saveDir = Path.Combine(Path.GetTempPath(), "sharpseg-rot-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_saveDir)) Directory.Delete(_saveDir, recursive: true);
    }

    private static CheckpointState State(int epoch) => new() { ModelName = "tiny_linear", NumClasses = 2, Epoch = epoch };

    [Fact]
    public void EpochFoldersAreNamedAndOrderedNumerically()
    {
        Assert.Equal(Path.Combine(_saveDir, "epoch_12"), CheckpointFolders.EpochFolder(_saveDir, 12));
        foreach (int epoch in new[] { 10, 2, 9, 1 }) Directory.CreateDirectory(CheckpointFolders.EpochFolder(_saveDir, epoch));
        Directory.CreateDirectory(Path.Combine(_saveDir, "epoch_x"));
        Directory.CreateDirectory(Path.Combine(_saveDir, "epoch_03"));

        Assert.Equal([1, 2, 9, 10], CheckpointFolders.EpochFolders(_saveDir).Select(f => f.Epoch));
        Assert.Empty(CheckpointFolders.EpochFolders(Path.Combine(_saveDir, "absent")));
    }

    [Fact]
    public void KeepLastDeletesOnlyTheOldestEpochFolders()
    {
        var model = new Linear(3, 2);
        for (int epoch = 1; epoch <= 12; epoch++) Checkpoint.Save(CheckpointFolders.EpochFolder(_saveDir, epoch), model, State(epoch));
        Checkpoint.Save(CheckpointFolders.BestModelFolder(_saveDir), model, State(4));
        Directory.CreateDirectory(Path.Combine(_saveDir, "epoch_x"));

        var removed = CheckpointFolders.KeepLast(_saveDir, 3);

        Assert.Equal(Enumerable.Range(1, 9).Select(e => CheckpointFolders.EpochFolder(_saveDir, e)), removed);
        Assert.Equal(["best_model", "epoch_10", "epoch_11", "epoch_12", "epoch_x"],
            Directory.GetDirectories(_saveDir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void LatestEpochFolderSkipsFoldersWithoutState()
    {
        var model = new Linear(3, 2);
        Checkpoint.Save(CheckpointFolders.EpochFolder(_saveDir, 2), model, State(2));
        Directory.CreateDirectory(CheckpointFolders.EpochFolder(_saveDir, 3));

        Assert.Equal(CheckpointFolders.EpochFolder(_saveDir, 2), CheckpointFolders.LatestEpochFolder(_saveDir));
        Assert.Null(CheckpointFolders.LatestEpochFolder(Path.Combine(_saveDir, "absent")));
    }

    [Fact]
    public void UpdateBestModelCopiesWeightsWithoutTheOptimizerAndReplacesThePreviousBest()
    {
        var model = new Linear(3, 2);
        model.ResetParameters(new Random(1));
        var optimizer = new Sgd(model.Parameters(), 0.1, momentum: 0.9);
        Checkpoint.Save(CheckpointFolders.EpochFolder(_saveDir, 1), model, State(1), optimizer.StateDict());
        string best = CheckpointFolders.UpdateBestModel(_saveDir, CheckpointFolders.EpochFolder(_saveDir, 1));

        model.ResetParameters(new Random(2));
        float[] epoch2Weights = model.Parameters().SelectMany(p => p.ToArray()).ToArray();
        Checkpoint.Save(CheckpointFolders.EpochFolder(_saveDir, 2), model, State(2), optimizer.StateDict());
        CheckpointFolders.UpdateBestModel(_saveDir, CheckpointFolders.EpochFolder(_saveDir, 2));

        var loaded = Checkpoint.Read(best, "tiny_linear", 2);
        Assert.Equal(2, loaded.State.Epoch);
        Assert.Null(loaded.Optimizer);
        Assert.Equal(["model.safetensors", "state.json"], Directory.GetFiles(best).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        var restored = new Linear(3, 2);
        loaded.Restore(restored);
        Assert.Equal(epoch2Weights, restored.Parameters().SelectMany(p => p.ToArray()).ToArray());
    }

    [Fact]
    public void UpdateBestModelRefusesACorruptSource()
    {
        var model = new Linear(3, 2);
        string epoch1 = CheckpointFolders.EpochFolder(_saveDir, 1);
        Checkpoint.Save(epoch1, model, State(1));
        File.AppendAllText(Path.Combine(epoch1, "model.safetensors"), "x");

        Assert.Throws<CheckpointException>(() => CheckpointFolders.UpdateBestModel(_saveDir, epoch1));
        Assert.False(Directory.Exists(CheckpointFolders.BestModelFolder(_saveDir)));
    }
}
