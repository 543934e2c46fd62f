using System.Text.Json.Serialization;
using SharpSeg.Training.Metrics;

namespace SharpSeg.Training;

/// <summary>Whether a larger (<see cref="Max"/>) or smaller (<see cref="Min"/>) metric value is better.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<EarlyStoppingMode>))]
public enum EarlyStoppingMode
{
    /// <summary>Larger is better (mIoU, accuracy, kappa).</summary>
    Max,
    /// <summary>Smaller is better (validation loss).</summary>
    Min,
}

/// <summary>
/// The saved state of an <see cref="EarlyStopping"/> tracker, kept in a checkpoint's <c>state.json</c> so the counter
/// and the best value survive resume.
/// </summary>
/// <param name="MetricName">Metric watched, e.g. <c>miou</c>.</param>
/// <param name="Mode">Whether larger or smaller is better.</param>
/// <param name="Patience">Evaluations without improvement that stop training.</param>
/// <param name="MinDelta">Least change that counts as an improvement.</param>
/// <param name="Best">Best value so far; null before the first evaluation.</param>
/// <param name="BestEvaluation">1-based evaluation that gave <paramref name="Best"/>; 0 before the first.</param>
/// <param name="Evaluations">Evaluations seen.</param>
/// <param name="EvaluationsWithoutImprovement">Evaluations since the last improvement (the early-stop counter).</param>
public sealed record EarlyStoppingState(
    string MetricName,
    EarlyStoppingMode Mode,
    int Patience,
    double MinDelta,
    double? Best,
    int BestEvaluation,
    int Evaluations,
    int EvaluationsWithoutImprovement);

/// <summary>
/// Stops training once the watched metric has not improved for <see cref="Patience"/> consecutive evaluations. An
/// evaluation improves when its value beats the best so far by more than <see cref="MinDelta"/> (the first always
/// does; NaN never does). Equivalent to PaddleX 1.x <c>EarlyStop(patience, thresh)</c> used by
/// <c>train(early_stop=True, early_stop_patience=…)</c>, with the comparison made against the best value (as
/// Keras/Lightning <c>EarlyStopping</c> do) rather than PaddleX's previous value, so a slow decline cannot reset the
/// counter; PaddleX's threshold 1e-4 is the default <see cref="MinDelta"/>.
/// </summary>
public sealed class EarlyStopping
{
    /// <summary>A tracker with no evaluations yet.</summary>
    /// <param name="metricName">Metric watched (a <see cref="SegmentationMetrics.ScalarNames"/> key or e.g. <c>loss</c>).</param>
    /// <param name="mode">Whether larger or smaller is better.</param>
    /// <param name="patience">Evaluations without improvement that stop training (≥ 1; PaddleX's default 5).</param>
    /// <param name="minDelta">Least change that counts as an improvement (≥ 0).</param>
    public EarlyStopping(string metricName = "miou", EarlyStoppingMode mode = EarlyStoppingMode.Max, int patience = 5, double minDelta = 1e-4)
    {
        ArgumentException.ThrowIfNullOrEmpty(metricName);
        if (!Enum.IsDefined(mode)) throw new ArgumentOutOfRangeException(nameof(mode), mode, "Early stopping mode must be Max or Min.");
        ArgumentOutOfRangeException.ThrowIfLessThan(patience, 1, nameof(patience));
        if (!(minDelta >= 0) || double.IsInfinity(minDelta))
            throw new ArgumentOutOfRangeException(nameof(minDelta), minDelta, "Early stopping min delta must be finite and ≥ 0.");
        MetricName = metricName;
        Mode = mode;
        Patience = patience;
        MinDelta = minDelta;
    }

    /// <summary>Metric watched.</summary>
    public string MetricName { get; }

    /// <summary>Whether larger or smaller is better.</summary>
    public EarlyStoppingMode Mode { get; }

    /// <summary>Evaluations without improvement that stop training.</summary>
    public int Patience { get; }

    /// <summary>Least change that counts as an improvement.</summary>
    public double MinDelta { get; }

    /// <summary>Best value so far; null before the first evaluation.</summary>
    public double? Best { get; private set; }

    /// <summary>1-based evaluation that gave <see cref="Best"/>; 0 before the first.</summary>
    public int BestEvaluation { get; private set; }

    /// <summary>Evaluations seen.</summary>
    public int Evaluations { get; private set; }

    /// <summary>Evaluations since the last improvement (the early-stop counter).</summary>
    public int EvaluationsWithoutImprovement { get; private set; }

    /// <summary>Whether the last evaluation improved on the best value.</summary>
    public bool LastImproved { get; private set; }

    /// <summary>True once <see cref="EvaluationsWithoutImprovement"/> has reached <see cref="Patience"/>.</summary>
    public bool ShouldStop => EvaluationsWithoutImprovement >= Patience;

    /// <summary>Records one evaluation's value; returns <see cref="ShouldStop"/>. Equivalent to PaddleX's <c>early_stop(score)</c>.</summary>
    public bool Update(double value)
    {
        Evaluations++;
        LastImproved = !double.IsNaN(value) && (Best is not { } best || (Mode == EarlyStoppingMode.Max ? value > best + MinDelta : value < best - MinDelta));
        if (LastImproved)
        {
            Best = value;
            BestEvaluation = Evaluations;
            EvaluationsWithoutImprovement = 0;
        }
        else
        {
            EvaluationsWithoutImprovement++;
        }
        return ShouldStop;
    }

    /// <summary>Records the <see cref="MetricName"/> value of <paramref name="metrics"/>; returns <see cref="ShouldStop"/>.</summary>
    public bool Update(SegmentationMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        return Update(metrics.Scalar(MetricName));
    }

    /// <summary>The tracker's state, for <c>state.json</c>.</summary>
    public EarlyStoppingState State() =>
        new(MetricName, Mode, Patience, MinDelta, Best, BestEvaluation, Evaluations, EvaluationsWithoutImprovement);

    /// <summary>A tracker continuing exactly where <paramref name="state"/> left off.</summary>
    /// <exception cref="ArgumentException">The state is inconsistent (negative counters, counter above evaluations).</exception>
    public static EarlyStopping FromState(EarlyStoppingState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var tracker = new EarlyStopping(state.MetricName, state.Mode, state.Patience, state.MinDelta);
        tracker.Restore(state);
        return tracker;
    }

    /// <summary>
    /// Takes over the counters and best value of <paramref name="state"/> while keeping this tracker's patience and
    /// min delta (a resumed run may be given more patience).
    /// </summary>
    /// <exception cref="ArgumentException">The state watched another metric or mode, or is inconsistent.</exception>
    public void Restore(EarlyStoppingState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.MetricName != MetricName || state.Mode != Mode)
            throw new ArgumentException(
                $"Early stopping state watched '{state.MetricName}' ({state.Mode}), this tracker watches '{MetricName}' ({Mode}).", nameof(state));
        // The counter is the evaluations since the best one, and there is a best value exactly when one was recorded.
        bool consistent = state.Evaluations >= 0 && state.BestEvaluation >= 0 && state.BestEvaluation <= state.Evaluations
            && (state.Best is null) == (state.BestEvaluation == 0) && !double.IsNaN(state.Best ?? 0)
            && state.EvaluationsWithoutImprovement == state.Evaluations - state.BestEvaluation;
        if (!consistent)
            throw new ArgumentException(
                $"Early stopping state is inconsistent: {state.Evaluations} evaluations, {state.EvaluationsWithoutImprovement} without improvement, " +
                $"best {state.Best?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"} at evaluation {state.BestEvaluation}.", nameof(state));
        Best = state.Best;
        BestEvaluation = state.BestEvaluation;
        Evaluations = state.Evaluations;
        EvaluationsWithoutImprovement = state.EvaluationsWithoutImprovement;
        LastImproved = state.Evaluations > 0 && state.EvaluationsWithoutImprovement == 0;
    }
}
