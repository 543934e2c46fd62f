namespace SharpSeg.Nn.Losses;

/// <summary>
/// Per-class weights of a cross-entropy: none, a fixed list, or recomputed from each batch's labels. Equivalent to
/// PaddleX 1.x's <c>class_weight</c> argument (<c>None</c>, a list, or <c>"dynamic"</c>) and to the <c>weight</c> of
/// <c>torch.nn.CrossEntropyLoss</c> / PaddleSeg <c>CrossEntropyLoss</c> for a list.
/// </summary>
public sealed class ClassWeight
{
    private ClassWeight(float[]? weights, bool dynamic)
    {
        Weights = weights;
        IsDynamic = dynamic;
    }

    /// <summary>Every class weighs 1 (PaddleX <c>class_weight=None</c>).</summary>
    public static ClassWeight None { get; } = new(null, false);

    /// <summary>
    /// Weights recomputed per batch as PaddleX 1.x's <c>softmax_with_loss</c> does: w_i = P/(count_i + 1) with P the number of
    /// non-ignored pixels and count_i those of class i, then rescaled so the weights sum to the class count. PaddleX's
    /// documentation describes "proportion × num_classes"; its code, followed here, uses the inverse. Unlike PaddleX, ignored
    /// pixels are not counted (PaddleX clamps labels to C − 1 before counting, so they inflate the last class's count).
    /// </summary>
    public static ClassWeight Dynamic { get; } = new(null, true);

    /// <summary>Fixed weights, one per class (PaddleX <c>class_weight=[…]</c>, torch <c>weight=</c>).</summary>
    public static ClassWeight Of(params float[] weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        if (weights.Length == 0) throw new ArgumentException("ClassWeight.Of needs one weight per class, got none.", nameof(weights));
        for (int i = 0; i < weights.Length; i++)
            if (!float.IsFinite(weights[i]) || weights[i] < 0)
                throw new ArgumentOutOfRangeException(nameof(weights), $"ClassWeight.Of: weight {weights[i]} of class {i} must be finite and non-negative.");
        return new ClassWeight((float[])weights.Clone(), false);
    }

    /// <summary>
    /// Reads PaddleX's string form: <c>"dynamic"</c> (any case) gives <see cref="Dynamic"/>; anything else throws.
    /// </summary>
    public static ClassWeight Parse(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.Equals("dynamic", StringComparison.OrdinalIgnoreCase)) return Dynamic;
        throw new ArgumentException($"class_weight '{value}' is not understood: a string class weight must be 'dynamic' (PaddleX); pass a list for fixed weights.",
            nameof(value));
    }

    /// <summary>The fixed weights, or null for <see cref="None"/> and <see cref="Dynamic"/>.</summary>
    public IReadOnlyList<float>? Weights { get; }

    /// <summary>True for <see cref="Dynamic"/>.</summary>
    public bool IsDynamic { get; }

    /// <summary>
    /// The weights for a batch with <paramref name="counts"/> non-ignored pixels per class, or null when every class weighs 1.
    /// </summary>
    internal float[]? Resolve(long[] counts, string loss)
    {
        int numClasses = counts.Length;
        if (Weights is { } fixedWeights)
        {
            if (fixedWeights.Count != numClasses)
                throw new ArgumentException($"{loss}: {fixedWeights.Count} class weights were given for logits with {numClasses} classes.");
            return [.. fixedWeights];
        }
        if (!IsDynamic) return null;
        return DynamicWeights(counts);
    }

    /// <summary>w_i = P/(count_i + 1), rescaled to sum to the class count (see <see cref="Dynamic"/>).</summary>
    public static float[] DynamicWeights(IReadOnlyList<long> counts)
    {
        ArgumentNullException.ThrowIfNull(counts);
        float total = 0f;
        foreach (long c in counts) total += c;
        var ratios = new float[counts.Count];
        float sum = 0f;
        for (int i = 0; i < ratios.Length; i++)
        {
            ratios[i] = total / (counts[i] + 1f);
            sum += ratios[i];
        }
        var weights = new float[ratios.Length];
        for (int i = 0; i < ratios.Length; i++) weights[i] = sum > 0 ? ratios[i] / sum * ratios.Length : 1f;
        return weights;
    }
}
