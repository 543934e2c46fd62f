using SharpSeg.Data.Datasets;
using SharpSeg.Data;
using SharpSeg.Training.Metrics;

namespace SharpSeg.Training;

public sealed partial class Segmenter
{
    /// <summary>
    /// Evaluates the model on <paramref name="dataset"/> (its own transforms applied) with a streaming confusion matrix;
    /// the dataset's ignore index is respected. Equivalent to PaddleX 1.x <c>evaluate(eval_dataset, batch_size,
    /// return_details)</c>; <paramref name="returnDetails"/> adds the confusion matrix.
    /// </summary>
    /// <exception cref="ArgumentException">The dataset's class count differs from the model's.</exception>
    public SegmentationMetrics Evaluate(SegDataset dataset, int batchSize = 1, bool returnDetails = false) =>
        throw new NotImplementedException();

    /// <summary>
    /// Predicts one image at its own size: <see cref="InputNormalize"/> applied, the model run in evaluation mode without
    /// gradients (it pads to its size divisor and crops back), softmax scores and their argmax. Equivalent to PaddleX
    /// 1.x <c>predict(img)</c>.
    /// </summary>
    /// <exception cref="ArgumentException">The image's channel count differs from the model's input channels.</exception>
    public Prediction Predict(Image image) => throw new NotImplementedException();

    /// <summary>
    /// Predicts several images, <paramref name="batchSize"/> at a time (images of one size share a forward pass; others
    /// run alone). Equivalent to PaddleX 1.x <c>batch_predict(img_file_list)</c>.
    /// </summary>
    public IReadOnlyList<Prediction> BatchPredict(IReadOnlyList<Image> images, int batchSize = 4) => throw new NotImplementedException();

    /// <summary>
    /// Overlap-tile prediction of a large image (Ronneberger et al., U-Net, 2015), exactly as PaddleX 1.x
    /// <c>overlap_tile_predict(img, tile_size, pad_size, batch_size)</c>: the image is mirror-padded by
    /// <paramref name="padSize"/> (and up to a whole number of tiles), cut into windows of tile + 2·pad with a stride of
    /// one tile, the windows are predicted <paramref name="batchSize"/> at a time, and only each window's central
    /// tile is kept (no averaging). <paramref name="padSize"/> (0, 0) is plain tiling. Memory is bounded by the batch of
    /// windows plus the output maps, never by the full-image logits.
    /// </summary>
    /// <exception cref="ArgumentException">A size is not positive, or the pad is negative.</exception>
    public Prediction OverlapTilePredict(Image image, (int Width, int Height) tileSize, (int Width, int Height) padSize, int batchSize = 32) =>
        throw new NotImplementedException();
}
