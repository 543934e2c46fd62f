using System.Text.Json;
using SharpSeg.Training.Checkpoints;
using SharpSeg.Training.Metrics;

namespace SharpSeg.Training.Tests;

public class EarlyStoppingTests
{
    [Fact]
    public void FiresAtTheEvaluationThatExhaustsPatience()
    {
        var tracker = new EarlyStopping("miou", EarlyStoppingMode.Max, patience: 3, minDelta: 1e-4);
        // Counter after each: 0.5 best → 0; 0.6 → 0; 0.6 (no gain) → 1; 0.65 → 0; 0.64 → 1;
        // 0.65005 (gain 5e-5 < min delta) → 2; 0.6 → 3 = patience: stop at the 7th evaluation.
        double[] values = [0.5, 0.6, 0.6, 0.65, 0.64, 0.65005, 0.6];
        bool[] stops = [.. values.Select(tracker.Update)];

        Assert.Equal([false, false, false, false, false, false, true], stops);
        Assert.Equal(0.65, tracker.Best);
        Assert.Equal(4, tracker.BestEvaluation);
        Assert.Equal(3, tracker.EvaluationsWithoutImprovement);
    }

    [Fact]
    public void ASlowDeclineDoesNotResetTheCounter()
    {
        // PaddleX compares with the previous score and would reset on 0.7 → 0.75; the best (0.8) is never beaten here.
        var tracker = new EarlyStopping(patience: 3, minDelta: 0);

        Assert.False(tracker.Update(0.8));
        Assert.False(tracker.Update(0.7));
        Assert.False(tracker.Update(0.75));
        Assert.True(tracker.Update(0.79));
    }

    [Fact]
    public void MinModeForLossAndNaNNeverImproves()
    {
        var tracker = new EarlyStopping("loss", EarlyStoppingMode.Min, patience: 2, minDelta: 0.01);

        Assert.False(tracker.Update(1.0));
        Assert.False(tracker.Update(0.995)); // less than min delta below the best
        Assert.False(tracker.LastImproved);
        Assert.False(tracker.Update(0.9));
        Assert.True(tracker.LastImproved);
        Assert.False(tracker.Update(double.NaN));
        Assert.True(tracker.Update(0.95));
        Assert.Equal(0.9, tracker.Best);
    }

    [Fact]
    public void UpdatesFromSegmentationMetricsByName()
    {
        var tracker = new EarlyStopping("kappa", patience: 1);
        var metrics = ConfusionMatrix.FromCounts(new long[,] { { 20, 5 }, { 10, 15 } }).ComputeMetrics();

        tracker.Update(metrics);

        Assert.Equal(0.4, tracker.Best!.Value, 12);
    }

    [Fact]
    public void ResumingFromSavedStateGivesTheSameDecisionsAsAnUninterruptedRun()
    {
        double[] values = [0.3, 0.5, 0.45, 0.52, 0.51, 0.5, 0.49, 0.6, 0.1, 0.2, 0.3];
        var uninterrupted = new EarlyStopping(patience: 3);
        bool[] expected = [.. values.Select(uninterrupted.Update)];

        var first = new EarlyStopping(patience: 3);
        var decisions = values.Take(5).Select(first.Update).ToList();
        // Through state.json as a checkpoint stores it.
        var saved = new CheckpointState { ModelName = "m", NumClasses = 2, EarlyStopping = first.State() };
        var json = JsonSerializer.Serialize(saved, TrainingJson.Indented);
        var restored = JsonSerializer.Deserialize<CheckpointState>(json, TrainingJson.Indented)!.EarlyStopping!;
        var second = EarlyStopping.FromState(restored);
        decisions.AddRange(values.Skip(5).Select(second.Update));

        Assert.Equal(expected, decisions);
        Assert.Equal(uninterrupted.State(), second.State());
        Assert.Contains("\"mode\": \"Max\"", json);
    }

    [Fact]
    public void RestoreRefusesAnotherMetricOrAnInconsistentState()
    {
        var tracker = new EarlyStopping("miou");

        var metric = Assert.Throws<ArgumentException>(() => tracker.Restore(new EarlyStoppingState("loss", EarlyStoppingMode.Min, 5, 0, 1, 1, 1, 0)));
        Assert.Contains("'loss'", metric.Message);

        var counter = Assert.Throws<ArgumentException>(() => tracker.Restore(new EarlyStoppingState("miou", EarlyStoppingMode.Max, 5, 0, 0.5, 2, 4, 1)));
        Assert.Contains("inconsistent", counter.Message);
    }

    [Fact]
    public void RestoreKeepsTheTrackersOwnPatience()
    {
        var first = new EarlyStopping(patience: 2);
        first.Update(0.5);
        first.Update(0.4);
        var patient = new EarlyStopping(patience: 4);

        patient.Restore(first.State());

        Assert.False(patient.Update(0.4));
        Assert.False(patient.Update(0.4));
        Assert.True(patient.Update(0.4));
    }

    [Fact]
    public void RejectsPatienceBelowOne()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new EarlyStopping(patience: 0));
    }
}
