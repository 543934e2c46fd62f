using SharpSeg.Data;
using SharpSeg.Data.Datasets;
using SharpSeg.Data.Loading;
using SharpSeg.Data.Transforms;
using SharpSeg.Training.Inference;
using SharpSeg.Training.Metrics;

namespace SharpSeg.Training;

public sealed partial class Segmenter
{
    /// <summary>
    /// Evaluates the model on <paramref name="dataset"/> (its own transforms applied) with a streaming confusion matrix;
    /// the dataset's ignore index is respected. Equivalent to PaddleX 1.x <c>evaluate(eval_dataset, batch_size,
    /// return_details)</c>; <paramref name="returnDetails"/> adds the confusion matrix. The model runs in evaluation mode
    /// without gradients and is put back in its previous mode afterwards.
    /// </summary>
    /// <exception cref="ArgumentException">The dataset's class count differs from the model's, or the batch size is not positive.</exception>
    public SegmentationMetrics Evaluate(SegDataset dataset, int batchSize = 1, bool returnDetails = false) =>
        EvaluateMatrix(dataset, batchSize, seed: 0, numWorkers: 0).ComputeMetrics(returnDetails);

    private ConfusionMatrix EvaluateMatrix(SegDataset dataset, int batchSize, int seed, int numWorkers)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1, nameof(batchSize));
        if (dataset.NumClasses != NumClasses)
            throw new ArgumentException($"Evaluate: the dataset has {dataset.NumClasses} classes but the model predicts {NumClasses}.", nameof(dataset));
        var matrix = new ConfusionMatrix(NumClasses, dataset.IgnoreIndex);
        var loader = new DataLoader(dataset, new DataLoaderOptions(BatchSize: batchSize, Seed: seed, NumWorkers: numWorkers));
        InEvalMode(() =>
        {
            foreach (var batch in loader.Epoch(0))
            {
                var labels = batch.Labels ?? throw new ArgumentException($"Evaluate: sample {batch.Sources[0]} has no label.", nameof(dataset));
                matrix.UpdateFromLogits(Model.Forward(batch.ImageTensor())[0], labels);
            }
        });
        return matrix;
    }

    /// <summary>
    /// Predicts one image at its own size: <see cref="InputNormalize"/> applied, the model run in evaluation mode without
    /// gradients (it pads to its size divisor and crops back), softmax scores and their argmax (taken on the logits).
    /// Equivalent to PaddleX 1.x <c>predict(img)</c>.
    /// </summary>
    /// <exception cref="ArgumentException">The image's channel count differs from the model's input channels.</exception>
    public Prediction Predict(Image image) => BatchPredict([image], 1)[0];

    /// <summary>
    /// Predicts several images, up to <paramref name="batchSize"/> consecutive images of one size per forward pass.
    /// Equivalent to PaddleX 1.x <c>batch_predict(img_file_list)</c>.
    /// </summary>
    /// <exception cref="ArgumentException">An image's channel count differs from the model's input channels, or the batch size is not positive.</exception>
    public IReadOnlyList<Prediction> BatchPredict(IReadOnlyList<Image> images, int batchSize = 4)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1, nameof(batchSize));
        var inputs = new Image<float>[images.Count];
        for (int i = 0; i < images.Count; i++) inputs[i] = PrepareInput(images[i], $"image {i}");

        var predictions = new Prediction[images.Count];
        InEvalMode(() =>
        {
            for (int start = 0; start < inputs.Length;)
            {
                int end = start + 1;
                while (end < inputs.Length && end - start < batchSize
                    && inputs[end].Height == inputs[start].Height && inputs[end].Width == inputs[start].Width) end++;
                var group = inputs[start..end];
                var logits = Model.Forward(StackChw(group));
                var scores = ScoreMaps.FromLogits(logits[0]);
                for (int n = 0; n < group.Length; n++) predictions[start + n] = scores.Prediction(n);
                start = end;
            }
        });
        return predictions;
    }

    /// <summary>
    /// Overlap-tile prediction of a large image (Ronneberger et al., U-Net, 2015), as PaddleX 1.x
    /// <c>overlap_tile_predict(img, tile_size, pad_size, batch_size)</c>: the image is mirror-padded by
    /// <paramref name="padSize"/> (edge pixels repeated, as <c>cv2.flip</c> concatenation does), cut into windows of
    /// tile + 2·pad with a stride of one tile, the windows are predicted <paramref name="batchSize"/> at a time, and only
    /// each window's central tile is kept (no averaging). <paramref name="padSize"/> (0, 0) is plain tiling. Unlike
    /// PaddleX, windows at the right and bottom edges are not cut short: the mirror continues so every window in a batch
    /// has one size. Memory is bounded by one batch of windows plus the output maps, never by full-image logits.
    /// </summary>
    /// <exception cref="ArgumentException">A tile size or the batch size is not positive, a pad is negative, or the channel count is wrong.</exception>
    public Prediction OverlapTilePredict(Image image, (int Width, int Height) tileSize, (int Width, int Height) padSize, int batchSize = 32)
    {
        if (tileSize.Width < 1 || tileSize.Height < 1)
            throw new ArgumentOutOfRangeException(nameof(tileSize), tileSize, "OverlapTilePredict: the tile size must be positive.");
        if (padSize.Width < 0 || padSize.Height < 0)
            throw new ArgumentOutOfRangeException(nameof(padSize), padSize, "OverlapTilePredict: the pad size must not be negative.");
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1, nameof(batchSize));
        var input = PrepareInput(image, "the image");
        var plan = new TilePlan(input.Height, input.Width, tileSize.Height, tileSize.Width, padSize.Height, padSize.Width);
        var output = new ScoreMaps.Stitched(input.Height, input.Width, NumClasses);
        InEvalMode(() =>
        {
            for (int first = 0; first < plan.Count; first += batchSize)
            {
                int count = Math.Min(batchSize, plan.Count - first);
                var windows = plan.CutWindows(input, first, count);
                var scores = ScoreMaps.FromLogits(Model.Forward(windows)[0]);
                for (int n = 0; n < count; n++) output.KeepCentre(scores, n, plan, first + n);
            }
        });
        return output.ToPrediction();
    }

    /// <summary>
    /// Averaged sliding-window prediction, as PaddleSeg's <c>slide_inference</c> (<c>is_slide=True, crop_size, stride</c>):
    /// windows of <paramref name="cropSize"/> every <paramref name="stride"/> pixels (the last ones shifted back to end at
    /// the image edge), predicted <paramref name="batchSize"/> at a time; every pixel's logits are the mean over the
    /// windows that cover it, then softmax and argmax. Full-image logits are kept (that is what averaging needs); for
    /// images too large for that, use <see cref="OverlapTilePredict"/>.
    /// </summary>
    /// <exception cref="ArgumentException">A crop size, stride or the batch size is not positive, or the channel count is wrong.</exception>
    public Prediction SlidingWindowPredict(Image image, (int Width, int Height) cropSize, (int Width, int Height) stride, int batchSize = 8)
    {
        if (cropSize.Width < 1 || cropSize.Height < 1)
            throw new ArgumentOutOfRangeException(nameof(cropSize), cropSize, "SlidingWindowPredict: the crop size must be positive.");
        if (stride.Width < 1 || stride.Height < 1)
            throw new ArgumentOutOfRangeException(nameof(stride), stride, "SlidingWindowPredict: the stride must be positive.");
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1, nameof(batchSize));
        var input = PrepareInput(image, "the image");
        var windows = new SlidingWindows(input.Height, input.Width, cropSize.Height, cropSize.Width, stride.Height, stride.Width);
        // A binary head's one logit is averaged like any other; ScoreMaps turns the mean into two classes.
        int channels = Model.NumClasses;
        var sums = new float[channels * input.Height * input.Width];
        var counts = new int[input.Height * input.Width];
        InEvalMode(() =>
        {
            for (int first = 0; first < windows.Count; first += batchSize)
            {
                int count = Math.Min(batchSize, windows.Count - first);
                var logits = Model.Forward(windows.Cut(input, first, count))[0].ToArray<float>();
                for (int n = 0; n < count; n++) windows.Accumulate(logits, n, channels, first + n, sums, counts);
            }
        });
        int plane = counts.Length;
        for (int i = 0; i < sums.Length; i++) sums[i] /= counts[i % plane];
        return ScoreMaps.FromLogits(Tensor.FromArray(sums, 1, channels, input.Height, input.Width)).Prediction(0);
    }

    private Image<float> PrepareInput(Image image, string what)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.Channels != Model.Options.InChannels)
            throw new ArgumentException(
                $"Predict: {what} has {image.Channels} channels ({image.Height}×{image.Width}) but model '{ModelName}' takes {Model.Options.InChannels}.",
                nameof(image));
        var sample = new SegSample(image is Image<float> f ? f.Clone() : image.ToFloat(), null);
        InputNormalize?.Apply(sample, Random.Shared);
        return sample.Image;
    }

    private static Tensor StackChw(IReadOnlyList<Image<float>> images)
    {
        var first = images[0];
        int size = first.Height * first.Width * first.Channels;
        var data = new float[images.Count * size];
        for (int n = 0; n < images.Count; n++) ToTensor.WriteChw(images[n], data.AsSpan(n * size, size));
        return Tensor.FromArray(data, images.Count, first.Channels, first.Height, first.Width);
    }

    private void InEvalMode(Action action)
    {
        bool wasTraining = Model.IsTraining;
        Model.Eval();
        try
        {
            using (GradMode.NoGrad()) action();
        }
        finally
        {
            Model.Train(wasTraining);
        }
    }
}
