namespace SharpSeg.Training.Inference;

/// <summary>
/// The memory of an overlap-tile prediction besides the image: the label map (int32), the score map when it is kept in
/// memory (float32 × classes) and one forward pass, whose windows are chosen so that it stays near
/// <see cref="ForwardPassBudget"/>. Checks the output before any work and words the error when memory runs out.
/// </summary>
internal sealed class TileMemory(TilePlan plan, int classes, bool scoresInMemory, int batchSize, long availableBytes)
{
    /// <summary>
    /// What one forward pass may allocate (or a quarter of the available memory, if less). Allocation, not just the live
    /// peak, is measured, so this is an upper bound; on the CPU engine a larger batch gains no speed, so the bound costs none.
    /// </summary>
    public const long ForwardPassBudget = 1L << 30;

    /// <summary>
    /// Allocation between two full collections. A pass leaves its activations as large-object garbage, which the GC
    /// collects only once its large-object budget is spent, and that budget grows with the live label map: on an
    /// 8000×8000 image 2 GB of garbage built up. A blocking collection costs milliseconds (the live heap is a few large
    /// arrays), a pass over a 640×640 window seconds.
    /// </summary>
    public const long CollectionInterval = 256L << 20;

    private long _bytesPerWindow, _sinceCollection;

    /// <summary>Memory this process may use: physical memory, or the container's or GC heap's limit.</summary>
    public static long AvailableBytes() => GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;

    public long LabelBytes => (long)plan.Height * plan.Width * sizeof(int);

    public long ScoreBytes => scoresInMemory ? (long)plan.Height * plan.Width * classes * sizeof(float) : 0;

    /// <summary>Windows in the next forward pass: one until the first pass is measured, then as many as the budget allows, at most the batch.</summary>
    public int WindowsPerPass { get; private set; } = 1;

    /// <summary>
    /// Records what a pass allocated: the first pass sets <see cref="WindowsPerPass"/>, and a full collection runs once
    /// passes have allocated <see cref="CollectionInterval"/> since the last.
    /// </summary>
    public void AfterPass(long allocatedBytes)
    {
        if (_bytesPerWindow == 0) MeasuredFirstPass(allocatedBytes);
        _sinceCollection += allocatedBytes;
        if (_sinceCollection < CollectionInterval) return;
        GC.Collect();
        _sinceCollection = 0;
    }

    /// <summary>Sets <see cref="WindowsPerPass"/> from what the first pass (of one window, the largest) allocated.</summary>
    public void MeasuredFirstPass(long allocatedBytes)
    {
        _bytesPerWindow = Math.Max(allocatedBytes, 1);
        long budget = Math.Min(ForwardPassBudget, availableBytes / 4);
        WindowsPerPass = (int)Math.Clamp(budget / _bytesPerWindow, 1, batchSize);
    }

    /// <exception cref="InsufficientMemoryException">The label and score maps alone exceed the available memory or .NET's largest array.</exception>
    public void CheckOutputFits()
    {
        long scoreSamples = scoresInMemory ? (long)plan.Height * plan.Width * classes : 0;
        if (scoreSamples > Array.MaxLength)
            throw new InsufficientMemoryException(
                $"OverlapTilePredict: the score map of a {Describe()} has {scoreSamples:N0} values, more than one .NET array holds " +
                $"({Array.MaxLength:N0}). {Advice}");
        if (LabelBytes + ScoreBytes > availableBytes)
            throw new InsufficientMemoryException(
                $"OverlapTilePredict: a {Describe()} needs {Size(LabelBytes + ScoreBytes)} for its {Maps()} alone, more than the " +
                $"{Size(availableBytes)} this process may use. {Advice}");
    }

    /// <summary>The message of an <see cref="OutOfMemoryException"/> during the prediction: what was needed and what was available.</summary>
    public string OutOfMemoryMessage()
    {
        string pass = _bytesPerWindow == 0
            ? "the first forward pass (one window) did not finish"
            : $"forward passes of {WindowsPerPass} window(s), the first allocating {Size(_bytesPerWindow)} a window";
        long needed = LabelBytes + ScoreBytes + WindowsPerPass * _bytesPerWindow;
        return $"OverlapTilePredict ran out of memory on a {Describe()}: the output ({Maps()}) takes {Size(LabelBytes + ScoreBytes)}, {pass}; " +
               $"about {Size(needed)} or more is needed and {Size(availableBytes)} is available. {Advice}";
    }

    private string Describe() =>
        $"{plan.Height}×{plan.Width} image with {classes} classes (tiles {plan.TileWidth}×{plan.TileHeight}, pad {plan.PadWidth}×{plan.PadHeight}, " +
        $"{batchSize} windows per batch)";

    private string Maps() => scoresInMemory ? "label map (int32) and score map (float32 per class)" : "label map (int32)";

    private string Advice => scoresInMemory
        ? "Predict the labels alone and stream the scores (OverlapTilePredictLabels with a TileScoresHandler; sharpseg predict --tile " +
          "writes --npy tile by tile), use smaller tiles or a smaller batch, or split the image."
        : "Use smaller tiles or a smaller batch, or split the image.";

    private static string Size(long bytes) => bytes switch
    {
        >= 1L << 30 => $"{bytes / (double)(1L << 30):0.0} GiB",
        >= 1L << 20 => $"{bytes / (double)(1L << 20):0} MiB",
        _ => $"{bytes / 1024.0:0.0} KiB",
    };
}
