using SharpSeg.Nn;
using SharpSeg.Training.Checkpoints;

namespace SharpSeg.Training;

/// <summary>
/// Stops a training step whose loss or gradient is NaN or infinite before it changes the model. The forward pass in
/// training mode has already moved the BatchNorm statistics by then, so the buffers are copied before every step and put
/// back when the step diverges. Shared by the Segmenter's and the Detector's runs. Plays the role of PyTorch Lightning's
/// <c>detect_anomaly</c>/<c>terminate_on_nan</c> check, plus the undo that Lightning leaves to the user.
/// </summary>
internal sealed class DivergenceGuard(Module model)
{
    private readonly Tensor[] _buffers = model.NamedBuffers().Select(b => b.Buffer).ToArray();
    private Tensor[] _buffersBefore = [];

    /// <summary>Copies the buffers as they are before the step.</summary>
    public void BeforeStep() => _buffersBefore = Array.ConvertAll(_buffers, b => b.Clone());

    /// <summary>The first parameter whose gradient holds a NaN or infinity, with that value; null when all are finite.</summary>
    public (string Name, float Value)? FirstNonFiniteGradient() =>
        Checkpoint.FirstNonFinite(model.NamedParameters().Where(p => p.Parameter.Grad is not null).Select(p => KeyValuePair.Create(p.Name, p.Parameter.Grad!)));

    /// <summary>
    /// Puts the buffers back as they were before the step and returns the exception that stops the run. The message names
    /// <paramref name="quantity"/> and its value, where it happened, the last good checkpoint, and <paramref name="advice"/>.
    /// </summary>
    public NonFiniteLossException Diverged(string who, string quantity, double value, int epoch, int step, long globalStep, double learningRate,
        CheckpointTrail trail, string advice)
    {
        for (int i = 0; i < _buffers.Length; i++) _buffers[i].CopyFrom(_buffersBefore[i]);
        return new NonFiniteLossException(
            $"{who}: the {quantity} is {value} at epoch {epoch}, step {step} (global step {globalStep}, learning rate {learningRate:G4}): training " +
            $"diverged and stopped; the model is as it was before this step, and nothing non-finite was saved: {trail.LastGoodClause}. {advice}",
            quantity, value, epoch, step, globalStep, trail.Folder);
    }

    /// <summary>
    /// Refuses to checkpoint or evaluate weights (or BatchNorm statistics) that are NaN or infinite: throws naming the
    /// first such value and the last good checkpoint.
    /// </summary>
    public void RequireFiniteWeights(string who, int epoch, int stepsPerEpoch, long globalStep, CheckpointTrail trail, string advice)
    {
        if (Checkpoint.FirstNonFinite(model.StateDict()) is not { } bad) return;
        throw new NonFiniteLossException(
            $"{who}: the weight {bad.Name} is {bad.Value} after epoch {epoch} (global step {globalStep}): training diverged, and the epoch's " +
            $"checkpoint was not saved; {trail.LastGoodClause}. {advice}",
            $"weight {bad.Name}", bad.Value, epoch, stepsPerEpoch, globalStep, trail.Folder);
    }
}
