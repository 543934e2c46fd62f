using SharpSeg.Data;

namespace SharpSeg.Training.Inference;

/// <summary>
/// Class probabilities of a batch of logits [N, C, H, W], turned into <see cref="Training.Prediction"/>s. For C ≥ 2 they
/// are the softmax and the label is the argmax of the logits (the first class on ties, as <c>torch.argmax</c>). A
/// one-channel binary head (PaddleX 1.x's <c>num_classes=2</c> with BCE/Dice loss) gives two classes [1 − σ(l), σ(l)] and
/// the label is their argmax, i.e. 1 only when σ(l) &gt; 0.5, as PaddleX's <c>sigmoid_to_softmax</c> then <c>argmax</c>.
/// The evaluation's confusion matrix decides labels the same way.
/// </summary>
internal sealed class ScoreMaps
{
    private readonly float[] _decisive;
    private readonly float[]? _probabilities;

    private ScoreMaps(float[] decisive, float[]? probabilities, int count, int classes, int height, int width)
    {
        _decisive = decisive;
        _probabilities = probabilities;
        Count = count;
        Classes = classes;
        Height = height;
        Width = width;
    }

    public int Count { get; }
    public int Classes { get; }
    public int Height { get; }
    public int Width { get; }

    /// <summary>
    /// Scores of logits [N, C, H, W]. Without <paramref name="withProbabilities"/> only the labels are kept: the softmax of
    /// a C ≥ 2 head is never computed (the argmax of the logits decides), and <see cref="Scores"/> is unavailable.
    /// </summary>
    public static ScoreMaps FromLogits(Tensor logits, bool withProbabilities = true)
    {
        if (!withProbabilities && logits.Size(1) != 1)
            return new ScoreMaps(logits.ToArray<float>(), null, logits.Size(0), logits.Size(1), logits.Size(2), logits.Size(3));
        var probabilities = Probabilities(logits);
        float[] probabilityValues = probabilities.ToArray<float>();
        // A label taken from σ(l) rather than l decides p = 0.5 exactly as PaddleX does, even where σ rounds a tiny l > 0 to 0.5.
        float[] decisive = logits.Size(1) == 1 ? probabilityValues : logits.ToArray<float>();
        return new ScoreMaps(decisive, withProbabilities ? probabilityValues : null, logits.Size(0), probabilities.Size(1), logits.Size(2),
            logits.Size(3));
    }

    /// <summary>
    /// Probabilities [N, K, H, W] of logits [N, C, H, W]: the softmax over channels (K = C) for C ≥ 2; for one channel
    /// the two classes [1 − σ(l), σ(l)] (K = 2), PaddleX 1.x's <c>sigmoid_to_softmax</c>.
    /// </summary>
    internal static Tensor Probabilities(Tensor logits)
    {
        if (logits.Rank != 4)
            throw new ArgumentException($"ScoreMaps: logits must be [N, C, H, W], got {logits.Shape}.", nameof(logits));
        if (logits.Size(1) != 1) return Functional.Softmax(logits, 1);
        var foreground = logits.Sigmoid();
        return Tensor.Cat([1f - foreground, foreground], 1);
    }

    /// <summary>Scores from probabilities [N, K, H, W] (averaged over test-time augmentations): the label is their argmax.</summary>
    public static ScoreMaps FromProbabilities(Tensor probabilities)
    {
        var values = probabilities.ToArray<float>();
        return new(values, values, probabilities.Size(0), probabilities.Size(1), probabilities.Size(2), probabilities.Size(3));
    }

    /// <summary>Sample <paramref name="n"/>'s label map and HWC score map.</summary>
    public Prediction Prediction(int n) => new(Labels(n), Scores(n));

    /// <summary>Sample <paramref name="n"/>'s label map: per pixel the first class of the largest decisive value, NaN counting as largest.</summary>
    public Image<int> Labels(int n)
    {
        var labels = new Image<int>(Height, Width, 1);
        int plane = Height * Width, baseIndex = n * Classes * plane;
        for (int i = 0; i < plane; i++)
        {
            int best = 0;
            float bestValue = _decisive[baseIndex + i];
            for (int c = 1; c < Classes; c++)
            {
                float value = _decisive[baseIndex + c * plane + i];
                if (value > bestValue || (float.IsNaN(value) && !float.IsNaN(bestValue)))
                {
                    best = c;
                    bestValue = value;
                }
            }
            labels.Pixels[i] = best;
        }
        return labels;
    }

    /// <summary>Sample <paramref name="n"/>'s probabilities as an HWC image.</summary>
    public Image<float> Scores(int n)
    {
        var probabilities = _probabilities ?? throw new InvalidOperationException("ScoreMaps: these maps were made for labels only.");
        var scores = new Image<float>(Height, Width, Classes);
        int plane = Height * Width, baseIndex = n * Classes * plane;
        for (int c = 0; c < Classes; c++)
            for (int i = 0; i < plane; i++)
                scores.Pixels[i * Classes + c] = probabilities[baseIndex + c * plane + i];
        return scores;
    }
}
