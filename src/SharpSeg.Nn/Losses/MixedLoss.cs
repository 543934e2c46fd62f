namespace SharpSeg.Nn.Losses;

/// <summary>
/// A weighted sum of losses on the same logits, Σ coef_i·loss_i — e.g. PaddleSeg's CrossEntropyLoss 0.8 + LovaszSoftmaxLoss
/// 0.2. Equivalent to PaddleSeg <c>MixedLoss(losses, coef)</c> (which returns the weighted terms for the trainer to sum;
/// <see cref="Terms"/> gives them, <see cref="Forward"/> their sum).
/// </summary>
public sealed class MixedLoss : ISegmentationLoss
{
    /// <summary>Combines <paramref name="losses"/> with one coefficient each.</summary>
    /// <param name="losses">The losses, applied to the same logits and labels.</param>
    /// <param name="coefs">One coefficient per loss.</param>
    public MixedLoss(IReadOnlyList<ISegmentationLoss> losses, IReadOnlyList<float> coefs)
    {
        ArgumentNullException.ThrowIfNull(losses);
        ArgumentNullException.ThrowIfNull(coefs);
        if (losses.Count == 0) throw new ArgumentException("MixedLoss needs at least one loss.", nameof(losses));
        if (losses.Count != coefs.Count)
            throw new ArgumentException($"MixedLoss: {losses.Count} losses but {coefs.Count} coefficients; give one coefficient per loss.", nameof(coefs));
        for (int i = 0; i < losses.Count; i++)
            if (losses[i] is null) throw new ArgumentNullException(nameof(losses), $"MixedLoss: loss {i} is null.");
        Losses = [.. losses];
        Coefs = [.. coefs];
    }

    /// <summary>The combined losses.</summary>
    public IReadOnlyList<ISegmentationLoss> Losses { get; }

    /// <summary>Their coefficients.</summary>
    public IReadOnlyList<float> Coefs { get; }

    /// <summary>coef_i·loss_i for each loss, in order (for logging each part).</summary>
    public IReadOnlyList<Tensor> Terms(Tensor logits, Tensor labels) =>
        [.. Losses.Select((loss, i) => loss.Forward(logits, labels) * Coefs[i])];

    /// <summary>True when any term reads one logit channel per class.</summary>
    public bool NeedsOneChannelPerClass => Losses.Any(loss => loss.NeedsOneChannelPerClass);

    /// <inheritdoc/>
    public Tensor Forward(Tensor logits, Tensor labels) => Sum(Terms(logits, labels));

    internal static Tensor Sum(IReadOnlyList<Tensor> terms)
    {
        var total = terms[0];
        for (int i = 1; i < terms.Count; i++) total = total + terms[i];
        return total;
    }
}
