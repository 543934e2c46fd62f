using SharpSeg.Data;

namespace SharpSeg.Training.Inference;

/// <summary>
/// Softmax probabilities of a batch of logits [N, C, H, W], turned into <see cref="Training.Prediction"/>s: the label is
/// the argmax of the logits (the first class on ties, as <c>torch.argmax</c>), so it agrees with the evaluation's
/// confusion matrix.
/// </summary>
internal sealed class ScoreMaps
{
    private readonly float[] _logits, _probabilities;

    private ScoreMaps(float[] logits, float[] probabilities, int count, int classes, int height, int width)
    {
        _logits = logits;
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

    public static ScoreMaps FromLogits(Tensor logits) => new(
        logits.ToArray<float>(), Probabilities(logits).ToArray<float>(), logits.Size(0), logits.Size(1), logits.Size(2), logits.Size(3));

    /// <summary>Scores from probabilities [N, C, H, W] (averaged over test-time augmentations): the label is their argmax.</summary>
    public static ScoreMaps FromProbabilities(Tensor probabilities)
    {
        var values = probabilities.ToArray<float>();
        return new(values, values, probabilities.Size(0), probabilities.Size(1), probabilities.Size(2), probabilities.Size(3));
    }

    /// <summary>Per-class probabilities of logits [N, C, H, W]: the softmax over the classes.</summary>
    public static Tensor Probabilities(Tensor logits) => Functional.Softmax(logits, 1);

    /// <summary>Sample <paramref name="n"/>'s label map and HWC score map.</summary>
    public Prediction Prediction(int n)
    {
        var labels = new Image<int>(Height, Width, 1);
        var scores = new Image<float>(Height, Width, Classes);
        Copy(n, 0, 0, Height, Width, labels.Pixels, scores.Pixels, Width, 0, 0);
        return new Prediction(labels, scores);
    }

    /// <summary>
    /// Copies the window rows/columns [top, top + rows) × [left, left + columns) of sample <paramref name="n"/> into
    /// destination maps of width <paramref name="destinationWidth"/> at (destinationTop, destinationLeft).
    /// </summary>
    public void Copy(int n, int top, int left, int rows, int columns, int[] labels, float[] scores, int destinationWidth,
        int destinationTop, int destinationLeft)
    {
        int plane = Height * Width, baseIndex = n * Classes * plane;
        for (int y = 0; y < rows; y++)
            for (int x = 0; x < columns; x++)
            {
                int source = baseIndex + (top + y) * Width + left + x;
                int destination = (destinationTop + y) * destinationWidth + destinationLeft + x;
                int best = 0;
                float bestLogit = _logits[source];
                for (int c = 0; c < Classes; c++)
                {
                    float logit = _logits[source + c * plane];
                    if (logit > bestLogit || (float.IsNaN(logit) && !float.IsNaN(bestLogit)))
                    {
                        best = c;
                        bestLogit = logit;
                    }
                    scores[destination * Classes + c] = _probabilities[source + c * plane];
                }
                labels[destination] = best;
            }
    }
}
