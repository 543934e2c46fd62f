using SharpSeg.Training.Checkpoints;

namespace SharpSeg.Training.Tests.Checkpoints;

/// <summary>
/// What the Segmenter's and the Detector's runs save when they stop early (<see cref="CheckpointTrail"/>): the cases no
/// whole run reaches cheaply, non-finite weights and a save that fails too.
/// </summary>
public sealed class CheckpointTrailTests
{
    private static readonly string SaveDir = Path.Combine(Path.GetTempPath(), "sharpseg-trail");

    [Fact]
    public void Non_finite_weights_are_never_saved_and_the_last_good_checkpoint_stays_the_one_named()
    {
        var trail = new CheckpointTrail();
        trail.Record("run/epoch_1", 4);
        var weights = new Dictionary<string, Tensor> { ["a"] = Tensor.FromArray([1f, 2f], [2]), ["b"] = Tensor.FromArray([3f, float.NaN], [2]) };
        bool saved = false;

        string clause = trail.SaveWorkDone(SaveDir, globalStep: 6, epochsDone: 1, epochStep: 2, weights, _ => saved = true);

        Assert.False(saved);
        Assert.Equal("no checkpoint was saved because the weight b is NaN; the last checkpoint is run/epoch_1", clause);
        Assert.Equal(("run/epoch_1", 4L), (trail.Folder, trail.Step));
        Assert.Equal("the last checkpoint, run/epoch_1, has finite weights", trail.LastGoodClause);
    }

    [Fact]
    public void A_save_that_fails_too_is_reported_and_the_stopping_error_keeps_its_place()
    {
        var trail = new CheckpointTrail();
        var weights = new Dictionary<string, Tensor> { ["a"] = Tensor.FromArray([1f], [1]) };
        string? target = null;

        string clause = trail.SaveWorkDone(SaveDir, globalStep: 3, epochsDone: 0, epochStep: 3, weights, folder =>
        {
            target = folder;
            throw new IOException("No space left on device");
        });
        var error = trail.Failed(new InvalidDataException("bad.png is truncated"), "loading step 4 of epoch 1", 1, 3, 3, clause);

        Assert.Equal(CheckpointFolders.PartialEpochFolder(SaveDir, 1, 3), target);
        Assert.Null(trail.Folder);
        Assert.Null(error.CheckpointFolder);
        Assert.Equal($"bad.png is truncated\nTraining stopped by this error during loading step 4 of epoch 1 (epoch 1, step 3, global step 3); " +
                     $"saving a checkpoint to {target} failed too (No space left on device).", error.Message);
        Assert.IsType<InvalidDataException>(error.InnerException);
    }

    [Fact]
    public void Saving_work_done_records_the_new_checkpoint_and_nothing_is_saved_twice()
    {
        var trail = new CheckpointTrail();
        var weights = new Dictionary<string, Tensor> { ["a"] = Tensor.FromArray([1f], [1]) };
        var targets = new List<string>();

        string first = trail.SaveWorkDone(SaveDir, globalStep: 5, epochsDone: 2, epochStep: 0, weights, targets.Add);
        string second = trail.SaveWorkDone(SaveDir, globalStep: 5, epochsDone: 2, epochStep: 0, weights, targets.Add);

        string epoch2 = CheckpointFolders.EpochFolder(SaveDir, 2);
        Assert.Equal([epoch2], targets);
        Assert.Equal($"the training done so far is saved in {epoch2}", first);
        Assert.Equal($"all training so far is in the checkpoint {epoch2}", second);
        Assert.Equal((epoch2, 5L), (trail.Folder, trail.Step));
    }
}
