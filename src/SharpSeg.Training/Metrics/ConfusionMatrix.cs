using SharpSeg.Training.Inference;

namespace SharpSeg.Training.Metrics;

/// <summary>
/// A streaming pixel confusion matrix: row = label class, column = predicted class, counts accumulated batch by batch
/// so predictions are never kept. Pixels whose label is <see cref="IgnoreIndex"/> are skipped. Equivalent to PaddleX
/// 1.x <c>paddlex.cv.models.utils.seg_eval.ConfusionMatrix(num_classes, streaming=True)</c> and to the
/// <c>intersect_area / pred_area / label_area</c> sums of PaddleSeg's <c>paddleseg.utils.metrics.calculate_area</c>
/// (which are its diagonal, column sums and row sums).
/// </summary>
public sealed class ConfusionMatrix
{
    private readonly long[] _counts;

    /// <summary>An empty matrix for <paramref name="numClasses"/> classes.</summary>
    /// <param name="numClasses">Classes (≥ 1); valid ids are 0 … numClasses − 1.</param>
    /// <param name="ignoreIndex">Label value whose pixels are not counted (PaddleSeg's and PaddleX's default 255).</param>
    public ConfusionMatrix(int numClasses, int ignoreIndex = 255)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(numClasses, 1, nameof(numClasses));
        if (ignoreIndex >= 0 && ignoreIndex < numClasses)
            throw new ArgumentOutOfRangeException(nameof(ignoreIndex), ignoreIndex,
                $"ignore index {ignoreIndex} is a valid class id for {numClasses} classes; pick a value outside 0…{numClasses - 1}.");
        NumClasses = numClasses;
        IgnoreIndex = ignoreIndex;
        _counts = new long[numClasses * numClasses];
    }

    /// <summary>Number of classes (rows and columns).</summary>
    public int NumClasses { get; }

    /// <summary>Label value that is not counted.</summary>
    public int IgnoreIndex { get; }

    /// <summary>Pixels with label <paramref name="label"/> predicted as <paramref name="prediction"/>.</summary>
    public long this[int label, int prediction]
    {
        get
        {
            CheckClass(label, nameof(label));
            CheckClass(prediction, nameof(prediction));
            return _counts[label * NumClasses + prediction];
        }
    }

    /// <summary>Pixels counted so far (ignored pixels excluded).</summary>
    public long Total
    {
        get
        {
            long total = 0;
            foreach (long c in _counts) total += c;
            return total;
        }
    }

    /// <summary>
    /// Replaces every rank's counts by their sum over <paramref name="group"/> (<c>MPI_Allreduce</c> of integers, so exact):
    /// each rank counted its shard of the evaluation set, and all then hold the matrix of the whole set, as PaddleSeg sums
    /// <c>intersect_area</c>, <c>pred_area</c> and <c>label_area</c> with <c>all_reduce</c>.
    /// </summary>
    public void SumOverRanks(SharpSeg.Nn.Distributed.IProcessGroup group)
    {
        ArgumentNullException.ThrowIfNull(group);
        group.AllReduceSum(_counts.AsSpan());
    }

    /// <summary>
    /// A matrix holding <paramref name="counts"/> (row = label, column = prediction), for metrics on counts gathered
    /// elsewhere and for tests.
    /// </summary>
    public static ConfusionMatrix FromCounts(long[,] counts, int ignoreIndex = 255)
    {
        ArgumentNullException.ThrowIfNull(counts);
        int n = counts.GetLength(0);
        if (counts.GetLength(1) != n)
            throw new ArgumentException($"A confusion matrix must be square, got {n}×{counts.GetLength(1)}.", nameof(counts));
        var matrix = new ConfusionMatrix(n, ignoreIndex);
        for (int label = 0; label < n; label++)
            for (int prediction = 0; prediction < n; prediction++)
            {
                long value = counts[label, prediction];
                if (value < 0)
                    throw new ArgumentException($"Confusion matrix count [{label}, {prediction}] is negative ({value}).", nameof(counts));
                matrix._counts[label * n + prediction] = value;
            }
        return matrix;
    }

    /// <summary>
    /// Counts one batch of per-pixel class ids. Every value is checked before anything is counted, so bad input
    /// leaves the matrix unchanged. Equivalent to PaddleX's <c>ConfusionMatrix.calculate(pred, label, ignore)</c>.
    /// </summary>
    /// <param name="predictions">Predicted class ids, 0 … NumClasses − 1.</param>
    /// <param name="labels">Label class ids, 0 … NumClasses − 1 or <see cref="IgnoreIndex"/>, same length.</param>
    /// <exception cref="ArgumentException">Lengths differ, or a value is out of range (the message names position and value).</exception>
    public void Update(ReadOnlySpan<int> predictions, ReadOnlySpan<int> labels)
    {
        if (predictions.Length != labels.Length)
            throw new ArgumentException($"ConfusionMatrix.Update: {predictions.Length} predictions but {labels.Length} labels.");
        for (int i = 0; i < labels.Length; i++)
        {
            int label = labels[i];
            if (label == IgnoreIndex) continue;
            if ((uint)label >= (uint)NumClasses) throw OutOfRange("label", label, i);
            if ((uint)predictions[i] >= (uint)NumClasses) throw OutOfRange("prediction", predictions[i], i);
        }
        for (int i = 0; i < labels.Length; i++)
        {
            int label = labels[i];
            if (label != IgnoreIndex) _counts[label * NumClasses + predictions[i]]++;
        }
    }

    /// <summary>
    /// Counts one batch from int32 or int64 tensors of class ids with the same number of elements, e.g. predictions
    /// [N, H, W] from <c>Argmax(1)</c> and labels [N, H, W] or [N, 1, H, W].
    /// </summary>
    /// <exception cref="ArgumentException">A tensor is float, the sizes differ, or a value is out of range.</exception>
    public void Update(Tensor predictions, Tensor labels)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        ArgumentNullException.ThrowIfNull(labels);
        if (predictions.Numel != labels.Numel)
            throw new ArgumentException(
                $"ConfusionMatrix.Update: predictions of shape {predictions.Shape} and labels of shape {labels.Shape} differ in size.");
        Update(ClassIds(predictions, "predictions"), ClassIds(labels, "labels"));
    }

    /// <summary>
    /// Counts one batch straight from logits [N, C, H, W] (the class with the largest logit wins, the first on ties as
    /// <c>torch.argmax</c>) against labels [N, H, W] in row-major order, without materialising the predictions.
    /// Equivalent to <c>ConfusionMatrix.calculate(np.argmax(logits, 1), label)</c>. A two-class matrix also takes the
    /// one logit channel of a binary head (C = 1): a pixel is class 1 only when σ(l) &gt; 0.5, as PaddleX 1.x's argmax
    /// over <c>sigmoid_to_softmax</c> decides it.
    /// </summary>
    /// <exception cref="ArgumentException">Logits are not 4-D float with C = NumClasses (or 1 for two classes), or labels do not match N·H·W.</exception>
    public void UpdateFromLogits(Tensor logits, ReadOnlySpan<int> labels)
    {
        ArgumentNullException.ThrowIfNull(logits);
        if (logits.Rank != 4 || logits.DType != DType.Float32)
            throw new ArgumentException($"ConfusionMatrix.UpdateFromLogits: logits must be float32 [N, C, H, W], got {logits.DType} {logits.Shape}.");
        int n = logits.Size(0), c = logits.Size(1), plane = logits.Size(2) * logits.Size(3);
        bool binaryHead = c == 1 && NumClasses == 2;
        if (c != NumClasses && !binaryHead)
            throw new ArgumentException(
                $"ConfusionMatrix.UpdateFromLogits: logits {logits.Shape} have {c} channels, the matrix has {NumClasses} classes" +
                (NumClasses == 2 ? " (a two-class matrix takes 2 channels or the 1 of a binary head)." : "."));
        if (labels.Length != (long)n * plane)
            throw new ArgumentException(
                $"ConfusionMatrix.UpdateFromLogits: logits {logits.Shape} need {(long)n * plane} labels, got {labels.Length}.");

        // The binary head's label comes from its probabilities, so it matches prediction's score map to the last rounding.
        float[] values = binaryHead ? ScoreMaps.Probabilities(logits).ToArray<float>() : logits.ToArray<float>();
        int classes = NumClasses;
        var predictions = new int[plane];
        for (int sample = 0; sample < n; sample++)
        {
            int baseIndex = sample * classes * plane;
            for (int p = 0; p < plane; p++)
            {
                int best = 0;
                float bestValue = values[baseIndex + p];
                for (int k = 1; k < classes; k++)
                {
                    float v = values[baseIndex + k * plane + p];
                    if (v > bestValue || (float.IsNaN(v) && !float.IsNaN(bestValue)))
                    {
                        best = k;
                        bestValue = v;
                    }
                }
                predictions[p] = best;
            }
            Update(predictions, labels.Slice(sample * plane, plane));
        }
    }

    /// <summary>Adds the counts of <paramref name="other"/> (e.g. from another worker or shard) to this matrix.</summary>
    /// <exception cref="ArgumentException">The class counts or ignore indices differ.</exception>
    public void Merge(ConfusionMatrix other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other.NumClasses != NumClasses || other.IgnoreIndex != IgnoreIndex)
            throw new ArgumentException(
                $"Cannot merge a {other.NumClasses}-class matrix (ignore {other.IgnoreIndex}) into a {NumClasses}-class one (ignore {IgnoreIndex}).",
                nameof(other));
        for (int i = 0; i < _counts.Length; i++) _counts[i] += other._counts[i];
    }

    /// <summary>Sets every count to zero. Equivalent to PaddleX's <c>ConfusionMatrix.zero_matrix()</c>.</summary>
    public void Reset() => Array.Clear(_counts);

    /// <summary>A copy of the counts, <c>[label][prediction]</c>.</summary>
    public long[][] ToArray()
    {
        var rows = new long[NumClasses][];
        for (int label = 0; label < NumClasses; label++)
            rows[label] = _counts.AsSpan(label * NumClasses, NumClasses).ToArray();
        return rows;
    }

    /// <summary>
    /// The PaddleX/PaddleSeg metrics of the counts so far; <paramref name="includeConfusionMatrix"/> adds the matrix
    /// (PaddleX's <c>return_details=True</c>).
    /// </summary>
    public SegmentationMetrics ComputeMetrics(bool includeConfusionMatrix = false) => SegmentationMetrics.From(this, includeConfusionMatrix);

    internal long Count(int label, int prediction) => _counts[label * NumClasses + prediction];

    private static int[] ClassIds(Tensor tensor, string what) => tensor.DType switch
    {
        DType.Int32 => tensor.ToArray<int>(),
        DType.Int64 => ToInt32(tensor.ToArray<long>(), what),
        _ => throw new ArgumentException($"ConfusionMatrix.Update: {what} must be an int32 or int64 tensor of class ids, got {tensor.DType}."),
    };

    private static int[] ToInt32(long[] values, string what)
    {
        var result = new int[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            long v = values[i];
            if (v is < int.MinValue or > int.MaxValue)
                throw new ArgumentException($"ConfusionMatrix.Update: {what} value {v} at flat index {i} is not a class id.");
            result[i] = (int)v;
        }
        return result;
    }

    private ArgumentException OutOfRange(string what, int value, int index) => new(
        $"ConfusionMatrix.Update: {what} {value} at flat index {index} is outside 0…{NumClasses - 1}" +
        (what == "label" ? $" and is not the ignore index {IgnoreIndex}." : "."));

    private void CheckClass(int value, string name)
    {
        if ((uint)value >= (uint)NumClasses)
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be in 0…{NumClasses - 1}.");
    }
}
