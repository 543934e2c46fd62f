using SharpSeg.Data;
using SharpSeg.Data.Datasets;
using SharpSeg.Data.Loading;
using SharpSeg.Data.Transforms;
using SharpSeg.Nn.Distributed;
using SharpSeg.Nn.Losses;
using SharpSeg.Training.Inference;
using SharpSeg.Training.Metrics;

namespace SharpSeg.Training;

public sealed partial class Segmenter
{
    /// <summary>
    /// Evaluates the model on <paramref name="dataset"/> (its own transforms applied) with a streaming confusion matrix;
    /// the dataset's ignore index is respected. Equivalent to PaddleX 1.x <c>evaluate(eval_dataset, batch_size,
    /// return_details)</c>; <paramref name="returnDetails"/> adds the confusion matrix. <paramref name="augmentation"/> is
    /// PaddleSeg's <c>val.py --aug_eval</c>. The model runs in evaluation mode without gradients and is put back in its
    /// previous mode afterwards.
    /// <para>
    /// With a <paramref name="group"/> of several ranks (PaddleSeg's <c>val.py</c> under <c>paddle.distributed.launch</c>),
    /// every rank must call this with the same model weights and dataset: rank r evaluates samples r, r + N, … (no sample
    /// twice, so shards may differ by one) and the confusion matrices are summed over the ranks, so every rank returns
    /// exactly the metrics a single process computes.
    /// </para>
    /// </summary>
    /// <exception cref="ArgumentException">The dataset's class count differs from the model's, or the batch size is not positive.</exception>
    public SegmentationMetrics Evaluate(SegDataset dataset, int batchSize = 1, bool returnDetails = false, TestTimeAugmentation? augmentation = null,
        IProcessGroup? group = null) =>
        EvaluateMatrix(dataset, batchSize, seed: 0, numWorkers: 0, augmentation, ranks: group).Matrix.ComputeMetrics(returnDetails);

    /// <summary>
    /// The confusion matrix of <paramref name="dataset"/>, and with <paramref name="loss"/> the mean of that loss on the main
    /// logits over the dataset's images (the validation loss; NaN without a loss). With <paramref name="ranks"/> of several
    /// ranks each evaluates its shard and the counts and loss sums are summed over the ranks.
    /// </summary>
    private (ConfusionMatrix Matrix, double MeanLoss) EvaluateMatrix(SegDataset dataset, int batchSize, int seed, int numWorkers,
        TestTimeAugmentation? augmentation = null, ISegmentationLoss? loss = null, IProcessGroup? ranks = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1, nameof(batchSize));
        if (dataset.NumClasses != NumClasses)
            throw new ArgumentException($"Evaluate: the dataset has {dataset.NumClasses} classes but the model predicts {NumClasses}.", nameof(dataset));
        var matrix = new ConfusionMatrix(NumClasses, dataset.IgnoreIndex);
        // Samples are loaded one by one and batched here by size, so a validation set of mixed sizes evaluates at any
        // batch size (PaddleX evaluates image by image; the batch size only sets the speed).
        bool sharded = ranks is { Size: > 1 };
        var loader = new DataLoader(dataset, new DataLoaderOptions(BatchSize: 1, Seed: seed, NumWorkers: numWorkers,
            Sampler: sharded ? new DistributedSampler(ranks!.Size, ranks.Rank, EvenShards: false) : null));
        double lossSum = 0;
        int images = 0;
        var group = new List<Batch>(batchSize);
        void EvaluateGroup()
        {
            using var reuse = Engine.ReuseBuffers();
            var input = group.Count == 1 ? group[0].ImageTensor() : Tensor.Cat([.. group.Select(b => b.ImageTensor())]);
            int[] labels = group.Count == 1 ? group[0].Labels! : [.. group.SelectMany(b => b.Labels!)];
            var logits = augmentation is null || loss is not null ? Model.Forward(input)[0] : null;
            if (loss is not null)
            {
                var labelTensor = group.Count == 1 ? group[0].LabelTensor() : Tensor.Cat([.. group.Select(b => b.LabelTensor())]);
                lossSum += loss.Forward(logits!, labelTensor).Item() * group.Count;
                images += group.Count;
            }
            if (augmentation is null)
            {
                matrix.UpdateFromLogits(logits!, labels);
            }
            else
            {
                var scores = Infer(input, augmentation, WholeImageLogits);
                int plane = scores.Height * scores.Width;
                for (int n = 0; n < scores.Count; n++)
                    matrix.Update(scores.Labels(n).Pixels, labels.AsSpan(n * plane, plane));
            }
            group.Clear();
        }
        try
        {
            InEvalMode(() =>
            {
                foreach (var sample in loader.Epoch(0))
                {
                    if (sample.Labels is null) throw new ArgumentException($"Evaluate: sample {sample.Sources[0]} has no label.", nameof(dataset));
                    if (group.Count > 0 && (group.Count == batchSize || !SameSize(group[0], sample))) EvaluateGroup();
                    group.Add(sample);
                }
                if (group.Count > 0) EvaluateGroup();
            });
        }
        catch (Exception error) when (sharded && error is not ProcessGroupAbortedException)
        {
            // The other ranks would wait for this one's counts forever.
            ranks!.Abort($"evaluation failed on rank {ranks.Rank}: {error.Message}");
            throw;
        }
        if (sharded)
        {
            matrix.SumOverRanks(ranks!);
            Span<double> totals = [lossSum, images];
            ranks!.AllReduceSum(totals);
            (lossSum, images) = (totals[0], (int)totals[1]);
        }
        return (matrix, images == 0 ? double.NaN : lossSum / images);
    }

    private static bool SameSize(Batch a, Batch b) => (a.Channels, a.Height, a.Width) == (b.Channels, b.Height, b.Width);

    /// <summary>
    /// Predicts one image: <see cref="Transforms"/> applied, the model run in evaluation mode without gradients (it pads to
    /// its size divisor and crops back), softmax scores and their argmax, and the transforms' resizes and paddings undone
    /// so both maps have the image's size. Equivalent to PaddleX 1.x <c>predict(img)</c>; <paramref name="augmentation"/>
    /// adds PaddleSeg's multi-scale and flip test-time augmentation.
    /// </summary>
    /// <exception cref="ArgumentException">The image's channel count differs from the model's input channels.</exception>
    public Prediction Predict(Image image, TestTimeAugmentation? augmentation = null) => BatchPredict([image], 1, augmentation)[0];

    /// <summary>
    /// Reads (<see cref="ReadImage"/>) and predicts the image file <paramref name="imagePath"/> (PNG, JPEG, BMP or NPY), as
    /// PaddleX's <c>predict('image.jpg')</c>. See <see cref="Predict(Image, TestTimeAugmentation?)"/>.
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="ImageFormatException">The file is not a readable image.</exception>
    /// <exception cref="InvalidDataException">The image's channels cannot be turned into the model's.</exception>
    public Prediction Predict(string imagePath, TestTimeAugmentation? augmentation = null) => Predict(ReadImage(imagePath), augmentation);

    /// <summary>
    /// Reads <paramref name="imagePath"/> for this model exactly as the training and evaluation datasets read their images
    /// (<see cref="ImageInput"/> with the model's channel count: RGB for a three-channel model, grey or luma for a one-channel
    /// one, the file's own channels otherwise). Samples keep their stored values, 0–65535 for 16-bit images; the model's
    /// <see cref="Transforms"/> (<see cref="Normalize"/>'s <c>min_val</c>/<c>max_val</c>) scale them, as in training.
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="ImageFormatException">The file is not a readable image.</exception>
    /// <exception cref="InvalidDataException">The image's channels cannot be turned into the model's.</exception>
    public Image ReadImage(string imagePath) =>
        ImageInput.Read(imagePath, Model.Options.InChannels is 1 or 3 ? Model.Options.InChannels : null);

    /// <summary>
    /// Predicts several images as <see cref="Predict(Image, TestTimeAugmentation?)"/> does, up to <paramref name="batchSize"/> consecutive images of one
    /// (transformed) size per forward pass. Equivalent to PaddleX 1.x <c>batch_predict(img_file_list)</c>.
    /// </summary>
    /// <exception cref="ArgumentException">An image's channel count differs from the model's input channels, or the batch size is not positive.</exception>
    public IReadOnlyList<Prediction> BatchPredict(IReadOnlyList<Image> images, int batchSize = 4, TestTimeAugmentation? augmentation = null)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1, nameof(batchSize));
        var inputs = new TransformedInput[images.Count];
        for (int i = 0; i < images.Count; i++) inputs[i] = PrepareInput(images[i], $"image {i}");
        var predictions = new Prediction[images.Count];
        InEvalMode(() =>
        {
            for (int start = 0; start < inputs.Length;)
            {
                int end = start + 1;
                while (end < inputs.Length && end - start < batchSize && inputs[end].HasSizeOf(inputs[start])) end++;
                using (Engine.ReuseBuffers()) PredictGroup(inputs.AsSpan(start, end - start), augmentation, predictions.AsSpan(start));
                start = end;
            }
        });
        return predictions;
    }

    /// <summary>
    /// Overlap-tile prediction of a large image (Ronneberger et al., U-Net, 2015), as PaddleX 1.x
    /// <c>overlap_tile_predict(img, tile_size, pad_size, batch_size)</c>: the image is mirror-padded by
    /// <paramref name="padSize"/> (edge pixels repeated, as <c>cv2.flip</c> concatenation does), cut into windows of
    /// tile + 2·pad with a stride of one tile (windows at the right and bottom edges cut short at the padded image's edge,
    /// as PaddleX does, so an image smaller than a tile is one window), each window goes through <see cref="Transforms"/>
    /// (and back) as PaddleX does, and only each window's central tile is kept (no averaging). <paramref name="padSize"/>
    /// (0, 0) is plain tiling.
    /// <para>
    /// Memory is the image, the label map (4 bytes a pixel), the score map (4·K bytes a pixel) and one forward pass. A pass
    /// takes up to <paramref name="batchSize"/> consecutive windows of one size, but no more than fit in about 1 GiB going
    /// by what the first window's pass allocated (a pass's activations grow with its windows: DeepLabV3+ allocates about
    /// 0.7 GB per 640×640 window); the result does not depend on it. For an image whose score map is too large, use
    /// <see cref="OverlapTilePredictLabels"/>, which keeps the label map alone and streams the scores.
    /// </para>
    /// </summary>
    /// <exception cref="ArgumentException">A tile size or the batch size is not positive, a pad is negative, or the channel count is wrong.</exception>
    /// <exception cref="InsufficientMemoryException">
    /// The label and score maps need more memory than this process may use (checked before any window is predicted), or
    /// the prediction ran out of memory; the message names the image size, tiles, batch and the memory needed.
    /// </exception>
    public Prediction OverlapTilePredict(Image image, (int Width, int Height) tileSize, (int Width, int Height) padSize, int batchSize = 32,
        TestTimeAugmentation? augmentation = null)
    {
        var (labels, scores) = OverlapTiles(image, tileSize, padSize, batchSize, augmentation, scoresInMemory: true, handler: null);
        return new Prediction(labels, scores!);
    }

    /// <summary>
    /// <see cref="OverlapTilePredict"/> for images whose score map is not wanted or does not fit in memory: returns the
    /// label map alone (the same labels, bit for bit) and never builds a full-image score map. With
    /// <paramref name="tileScores"/>, each tile's class probabilities go to it as soon as the tile is predicted, in raster
    /// order, so they can be written to a file tile by tile (e.g. with <see cref="NpyBlockWriter"/>); without it no
    /// probability is computed for models with two or more logit channels (the label is the logits' argmax). Memory is the
    /// image, the label map (4 bytes a pixel) and one forward pass (see <see cref="OverlapTilePredict"/>).
    /// </summary>
    /// <exception cref="ArgumentException">A tile size or the batch size is not positive, a pad is negative, or the channel count is wrong.</exception>
    /// <exception cref="InsufficientMemoryException">
    /// The label map needs more memory than this process may use, or the prediction ran out of memory; the message names
    /// the image size, tiles, batch and the memory needed.
    /// </exception>
    public Image<int> OverlapTilePredictLabels(Image image, (int Width, int Height) tileSize, (int Width, int Height) padSize, int batchSize = 32,
        TestTimeAugmentation? augmentation = null, TileScoresHandler? tileScores = null) =>
        OverlapTiles(image, tileSize, padSize, batchSize, augmentation, scoresInMemory: false, tileScores).Labels;

    private (Image<int> Labels, Image<float>? Scores) OverlapTiles(Image image, (int Width, int Height) tileSize, (int Width, int Height) padSize,
        int batchSize, TestTimeAugmentation? augmentation, bool scoresInMemory, TileScoresHandler? handler)
    {
        if (tileSize.Width < 1 || tileSize.Height < 1)
            throw new ArgumentOutOfRangeException(nameof(tileSize), tileSize, "OverlapTilePredict: the tile size must be positive.");
        if (padSize.Width < 0 || padSize.Height < 0)
            throw new ArgumentOutOfRangeException(nameof(padSize), padSize, "OverlapTilePredict: the pad size must not be negative.");
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1, nameof(batchSize));
        CheckChannels(image, "the image");
        var plan = new TilePlan(image.Height, image.Width, tileSize.Height, tileSize.Width, padSize.Height, padSize.Width);
        var memory = new TileMemory(plan, NumClasses, scoresInMemory, batchSize, TileMemory.AvailableBytes());
        memory.CheckOutputFits();
        try
        {
            var scores = scoresInMemory ? new Image<float>(plan.Height, plan.Width, NumClasses) : null;
            var output = new StitchedLabels(plan);
            var keep = scores is null ? handler : (top, left, block) => StitchedLabels.Paste(block, scores, top, left);
            InEvalMode(() =>
            {
                for (int first = 0; first < plan.Count;)
                {
                    int count = Math.Min(memory.WindowsPerPass, plan.Count - first);
                    long allocated = GC.GetTotalAllocatedBytes();
                    using (Engine.ReuseBuffers()) PredictTiles(image, plan, first, count, augmentation, output, keep);
                    memory.AfterPass(GC.GetTotalAllocatedBytes() - allocated);
                    first += count;
                }
            });
            return (output.Labels, scores);
        }
        catch (OutOfMemoryException e) when (e is not InsufficientMemoryException)
        {
            throw new InsufficientMemoryException(memory.OutOfMemoryMessage(), e);
        }
    }

    /// <summary>
    /// Predicts windows <paramref name="first"/> … first + count − 1 of <paramref name="plan"/> (consecutive windows of one
    /// size in one forward pass) and keeps their central tiles; probabilities are computed only for <paramref name="handler"/>.
    /// </summary>
    private void PredictTiles(Image source, TilePlan plan, int first, int count, TestTimeAugmentation? augmentation, StitchedLabels output,
        TileScoresHandler? handler)
    {
        var windows = new TransformedInput[count];
        for (int n = 0; n < count; n++) windows[n] = ApplyTransforms(plan.CutWindow(source, first + n));
        for (int start = 0; start < count;)
        {
            int end = start + 1;
            while (end < count && windows[end].HasSizeOf(windows[start])) end++;
            var images = new Image<float>[end - start];
            for (int n = start; n < end; n++) images[n - start] = windows[n].Image;
            var scores = Infer(StackChw(images), augmentation, WholeImageLogits, withProbabilities: handler is not null);
            for (int n = start; n < end; n++)
            {
                var labels = windows[n].RestoreLabels(scores.Labels(n - start));
                var windowScores = handler is null ? null : windows[n].RestoreScores(scores.Scores(n - start));
                output.KeepCentre(first + n, labels, windowScores, handler);
            }
            start = end;
        }
    }

    /// <summary>
    /// Averaged sliding-window prediction, as PaddleSeg's <c>slide_inference</c> (<c>is_slide=True, crop_size, stride</c>):
    /// after <see cref="Transforms"/>, windows of <paramref name="cropSize"/> every <paramref name="stride"/> pixels (the
    /// last ones shifted back to end at the image edge) are predicted <paramref name="batchSize"/> at a time; every pixel's
    /// logits are the mean over the windows that cover it, then softmax and argmax, and the transforms are undone. With
    /// <paramref name="augmentation"/> the sliding windows run on every scaled and flipped image, as PaddleSeg's
    /// <c>aug_inference(is_slide=True)</c>. Full-image logits are kept (that is what averaging needs); for images too
    /// large for that, use <see cref="OverlapTilePredict"/>.
    /// </summary>
    /// <exception cref="ArgumentException">A crop size, stride or the batch size is not positive, or the channel count is wrong.</exception>
    public Prediction SlidingWindowPredict(Image image, (int Width, int Height) cropSize, (int Width, int Height) stride, int batchSize = 8,
        TestTimeAugmentation? augmentation = null)
    {
        if (cropSize.Width < 1 || cropSize.Height < 1)
            throw new ArgumentOutOfRangeException(nameof(cropSize), cropSize, "SlidingWindowPredict: the crop size must be positive.");
        if (stride.Width < 1 || stride.Height < 1)
            throw new ArgumentOutOfRangeException(nameof(stride), stride, "SlidingWindowPredict: the stride must be positive.");
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1, nameof(batchSize));
        var input = PrepareInput(image, "the image");
        return InEvalMode(() =>
            input.Restore(Infer(StackChw([input.Image]), augmentation, x => SlidingWindowLogits(x, cropSize, stride, batchSize)).Prediction(0)));
    }

    /// <summary>An image after <see cref="Transforms"/>, with the steps that undo its resizes and paddings.</summary>
    private readonly record struct TransformedInput(Image<float> Image, IReadOnlyList<ShapeStep> Steps)
    {
        public bool HasSizeOf(TransformedInput other) => Image.Height == other.Image.Height && Image.Width == other.Image.Width;

        public Prediction Restore(Prediction prediction) => Steps.Count == 0
            ? prediction
            : new Prediction(RestoreLabels(prediction.LabelMap), RestoreScores(prediction.ScoreMap));

        public Image<int> RestoreLabels(Image<int> labels) => Steps.Count == 0 ? labels : ReverseTransform.LabelMap(labels, Steps);

        public Image<float> RestoreScores(Image<float> scores) => Steps.Count == 0 ? scores : ReverseTransform.ScoreMap(scores, Steps);
    }

    private TransformedInput PrepareInput(Image image, string what)
    {
        var source = CheckedFloatImage(image, what);
        return ApplyTransforms(ReferenceEquals(source, image) ? source.Clone() : source);
    }

    private Image<float> CheckedFloatImage(Image image, string what)
    {
        CheckChannels(image, what);
        return image as Image<float> ?? image.ToFloat();
    }

    private void CheckChannels(Image image, string what)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.Channels != Model.Options.InChannels)
            throw new ArgumentException(
                $"Predict: {what} has {image.Channels} channels ({image.Height}×{image.Width}) but model '{ModelName}' takes {Model.Options.InChannels}.",
                nameof(image));
    }

    /// <summary>Applies <see cref="Transforms"/> to <paramref name="image"/>, which it may change in place.</summary>
    private TransformedInput ApplyTransforms(Image<float> image)
    {
        var sample = new SegSample(image, null);
        // The transforms are deterministic (the setter refuses random ones), so the generator is never drawn from.
        Transforms?.Apply(sample, new Random(0));
        return new TransformedInput(sample.Image, [.. sample.ShapeSteps]);
    }

    /// <summary>Predicts inputs of one size in one forward pass (per augmentation) and writes their restored predictions.</summary>
    private void PredictGroup(ReadOnlySpan<TransformedInput> inputs, TestTimeAugmentation? augmentation, Span<Prediction> predictions)
    {
        var images = new Image<float>[inputs.Length];
        for (int n = 0; n < inputs.Length; n++) images[n] = inputs[n].Image;
        var scores = Infer(StackChw(images), augmentation, WholeImageLogits);
        for (int n = 0; n < inputs.Length; n++) predictions[n] = inputs[n].Restore(scores.Prediction(n));
    }

    private Tensor WholeImageLogits(Tensor input) => Model.Forward(input)[0];

    /// <summary>
    /// The scores of a batch [N, C, h, w] at its own size: <paramref name="logitsOf"/> once without
    /// <paramref name="augmentation"/>, else PaddleSeg's <c>aug_inference</c> (see <see cref="TestTimeAugmentation"/>).
    /// Without <paramref name="withProbabilities"/> a plain pass keeps the labels only (see <see cref="ScoreMaps.FromLogits"/>).
    /// </summary>
    private static ScoreMaps Infer(Tensor input, TestTimeAugmentation? augmentation, Func<Tensor, Tensor> logitsOf, bool withProbabilities = true)
    {
        if (augmentation is null) return ScoreMaps.FromLogits(logitsOf(input), withProbabilities);
        int height = input.Size(2), width = input.Size(3);
        Tensor? sum = null;
        foreach (double scale in augmentation.Scales)
        {
            var size = new Size2(TestTimeAugmentation.ScaledSize(height, scale), TestTimeAugmentation.ScaledSize(width, scale));
            var scaled = size == new Size2(height, width)
                ? input
                : Functional.Interpolate(input, size, mode: InterpolationMode.Bilinear, alignCorners: false);
            foreach (var axes in augmentation.FlipAxes)
            {
                var logits = axes.Length == 0 ? logitsOf(scaled) : logitsOf(scaled.Flip(axes)).Flip(axes);
                if (size != new Size2(height, width))
                    logits = Functional.Interpolate(logits, new Size2(height, width), mode: InterpolationMode.Bilinear, alignCorners: false);
                var probabilities = ScoreMaps.Probabilities(logits);
                sum = sum is null ? probabilities : sum + probabilities;
            }
        }
        return ScoreMaps.FromProbabilities(sum! / augmentation.PassCount);
    }

    /// <summary>PaddleSeg's <c>slide_inference</c> on one input [1, C, H, W]: window logits averaged per pixel.</summary>
    private Tensor SlidingWindowLogits(Tensor input, (int Width, int Height) cropSize, (int Width, int Height) stride, int batchSize)
    {
        var windows = new SlidingWindows(input.Size(2), input.Size(3), cropSize.Height, cropSize.Width, stride.Height, stride.Width);
        int classes = Model.NumClasses;
        var sums = new float[classes * windows.Height * windows.Width];
        var counts = new int[windows.Height * windows.Width];
        for (int first = 0; first < windows.Count; first += batchSize)
        {
            int count = Math.Min(batchSize, windows.Count - first);
            float[] logits;
            using (Engine.ReuseBuffers()) logits = Model.Forward(windows.Cut(input, first, count))[0].ToArray<float>();
            for (int n = 0; n < count; n++) windows.Accumulate(logits, n, classes, first + n, sums, counts);
        }
        int plane = counts.Length;
        for (int i = 0; i < sums.Length; i++) sums[i] /= counts[i % plane];
        return Tensor.FromArray(sums, 1, classes, windows.Height, windows.Width);
    }

    private static Tensor StackChw(IReadOnlyList<Image<float>> images)
    {
        var first = images[0];
        int size = first.Height * first.Width * first.Channels;
        var data = new float[images.Count * size];
        for (int n = 0; n < images.Count; n++) ToTensor.WriteChw(images[n], data.AsSpan(n * size, size));
        return Tensor.FromArray(data, images.Count, first.Channels, first.Height, first.Width);
    }

    private void InEvalMode(Action action) => InEvalMode(() =>
    {
        action();
        return true;
    });

    private T InEvalMode<T>(Func<T> function)
    {
        bool wasTraining = Model.IsTraining;
        Model.Eval();
        try
        {
            using (Engine.ReuseBuffers())
            using (GradMode.NoGrad()) return function();
        }
        finally
        {
            Model.Train(wasTraining);
        }
    }
}
