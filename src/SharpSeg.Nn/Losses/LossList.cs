namespace SharpSeg.Nn.Losses;

/// <summary>
/// One loss and coefficient per model output (main logits first, then auxiliary heads), all against the same labels:
/// Σ coef_i·loss_i(logits_i, labels). Equivalent to PaddleSeg's <c>loss: {types: […], coef: […]}</c> config as applied by
/// its <c>loss_computation</c>, and to PaddleX Fast-SCNN's <c>multi_loss_weight</c>.
/// </summary>
public sealed class LossList
{
    /// <summary>Pairs each model output, in order, with its loss and coefficient.</summary>
    /// <param name="entries">One (loss, coefficient) per model output.</param>
    public LossList(IReadOnlyList<(ISegmentationLoss Loss, float Coef)> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        if (entries.Count == 0) throw new ArgumentException("LossList needs at least one (loss, coefficient) entry.", nameof(entries));
        for (int i = 0; i < entries.Count; i++)
            if (entries[i].Loss is null) throw new ArgumentNullException(nameof(entries), $"LossList: the loss of output {i} is null.");
        Entries = [.. entries];
    }

    /// <summary>The same <paramref name="loss"/> on every output, with one coefficient each (Fast-SCNN's <c>multi_loss_weight</c>).</summary>
    public static LossList Weighted(ISegmentationLoss loss, params float[] coefs)
    {
        ArgumentNullException.ThrowIfNull(coefs);
        return new LossList([.. coefs.Select(c => (loss, c))]);
    }

    /// <summary>The (loss, coefficient) of each output.</summary>
    public IReadOnlyList<(ISegmentationLoss Loss, float Coef)> Entries { get; }

    /// <summary>coef_i·loss_i(logits_i, labels) for each output, in order (for logging each head).</summary>
    public IReadOnlyList<Tensor> Terms(IReadOnlyList<Tensor> logitsPerOutput, Tensor labels)
    {
        ArgumentNullException.ThrowIfNull(logitsPerOutput);
        if (logitsPerOutput.Count != Entries.Count)
            throw new ArgumentException(
                $"LossList: the model gave {logitsPerOutput.Count} outputs but {Entries.Count} (loss, coefficient) entries were configured; " +
                "give one per output (main first, then auxiliary heads).", nameof(logitsPerOutput));
        return [.. Entries.Select((e, i) => e.Loss.Forward(logitsPerOutput[i], labels) * e.Coef)];
    }

    /// <summary>The total loss Σ coef_i·loss_i(logits_i, labels).</summary>
    public Tensor Forward(IReadOnlyList<Tensor> logitsPerOutput, Tensor labels) => MixedLoss.Sum(Terms(logitsPerOutput, labels));
}
