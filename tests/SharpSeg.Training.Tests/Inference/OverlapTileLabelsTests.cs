using SharpSeg.Data;
using SharpSeg.Data.Transforms;
using SharpSeg.Training.Inference;
using SharpSeg.Training.Tests.Segmenter;

namespace SharpSeg.Training.Tests.Inference;

/// <summary>
/// Overlap-tile prediction in bounded memory: no float copy of the image, forward passes sized by memory, the label map
/// without a full-image score map (<see cref="Training.Segmenter.OverlapTilePredictLabels"/>), scores handed over tile by
/// tile, and a clear error when the output cannot fit.
/// </summary>
public sealed class OverlapTileLabelsTests
{
    /// <summary>
    /// The algorithm written out window by window, as the implementation before this change ran it: every window cut from
    /// the mirror-padded image (edge repeated) and predicted alone with <see cref="Training.Segmenter.Predict(Image, TestTimeAugmentation?)"/>
    /// (transforms applied and undone), its central tile kept.
    /// </summary>
    private static Prediction WindowByWindow(Training.Segmenter segmenter, Image<byte> image, int tileHeight, int tileWidth, int padHeight,
        int padWidth, TestTimeAugmentation? augmentation = null)
    {
        int h = image.Height, w = image.Width, classes = segmenter.NumClasses;
        var labels = new Image<int>(h, w, 1);
        var scores = new Image<float>(h, w, classes);
        static int Mirror(int i, int size) => i < 0 ? -i - 1 : i >= size ? 2 * size - 1 - i : i;
        for (int top = 0; top < h; top += tileHeight)
            for (int left = 0; left < w; left += tileWidth)
            {
                int rows = Math.Min(tileHeight, h - top), columns = Math.Min(tileWidth, w - left);
                var window = new Image<byte>(rows + 2 * padHeight, columns + 2 * padWidth, 3);
                for (int y = 0; y < window.Height; y++)
                    for (int x = 0; x < window.Width; x++)
                        for (int c = 0; c < 3; c++)
                            window[y, x, c] = image[Mirror(top - padHeight + y, h), Mirror(left - padWidth + x, w), c];
                var prediction = segmenter.Predict(window, augmentation);
                for (int y = 0; y < rows; y++)
                    for (int x = 0; x < columns; x++)
                    {
                        labels[top + y, left + x] = prediction.LabelMap[padHeight + y, padWidth + x];
                        for (int c = 0; c < classes; c++) scores[top + y, left + x, c] = prediction.ScoreMap[padHeight + y, padWidth + x, c];
                    }
            }
        return new Prediction(labels, scores);
    }

    private static Training.Segmenter Model(int logitChannels) =>
        new(new TinyConvNet(logitChannels, seed: 11), "tiny") { Transforms = new Compose(new Padding(24, 24), new Normalize()) };

    [Theory]
    [InlineData(4, 1)]
    [InlineData(4, 3)]
    [InlineData(4, 32)]
    [InlineData(1, 3)]   // a binary head: labels from σ(l), scores [1 − σ, σ]
    public void Labels_alone_and_tile_scores_are_bit_identical_to_predicting_window_by_window(int logitChannels, int batchSize)
    {
        var segmenter = Model(logitChannels);
        var image = TestImages.Random(23, 30, seed: 5);
        var expected = WindowByWindow(segmenter, image, 8, 11, 3, 2);

        var full = segmenter.OverlapTilePredict(image, (11, 8), (2, 3), batchSize);
        var streamed = new Image<float>(23, 30, segmenter.NumClasses);
        var origins = new List<(int, int)>();
        var labels = segmenter.OverlapTilePredictLabels(image, (11, 8), (2, 3), batchSize, tileScores: (top, left, tile) =>
        {
            origins.Add((top, left));
            StitchedLabels.Paste(tile, streamed, top, left);
        });
        var labelsAlone = segmenter.OverlapTilePredictLabels(image, (11, 8), (2, 3), batchSize);

        Assert.Equal(expected.LabelMap.Pixels, full.LabelMap.Pixels);
        Assert.Equal(expected.ScoreMap.Pixels, full.ScoreMap.Pixels);
        Assert.Equal(expected.LabelMap.Pixels, labels.Pixels);
        Assert.Equal(expected.LabelMap.Pixels, labelsAlone.Pixels);
        Assert.Equal(expected.ScoreMap.Pixels, streamed.Pixels);
        Assert.Equal([(0, 0), (0, 11), (0, 22), (8, 0), (8, 11), (8, 22), (16, 0), (16, 11), (16, 22)], origins);
    }

    [Fact]
    public void With_test_time_augmentation_the_labels_alone_equal_the_full_prediction()
    {
        var segmenter = Model(3);
        var image = TestImages.Random(17, 19, seed: 6);
        var augmentation = new TestTimeAugmentation([0.75, 1.0], flipHorizontal: true);

        var full = segmenter.OverlapTilePredict(image, (8, 8), (2, 2), batchSize: 4, augmentation);
        var labels = segmenter.OverlapTilePredictLabels(image, (8, 8), (2, 2), batchSize: 4, augmentation);

        Assert.Equal(WindowByWindow(segmenter, image, 8, 8, 2, 2, augmentation).LabelMap.Pixels, full.LabelMap.Pixels);
        Assert.Equal(full.LabelMap.Pixels, labels.Pixels);
    }

    [Fact]
    public void Labels_alone_keep_no_probabilities()
    {
        var logits = Tensor.FromArray([2f, -1f, 0.5f, 3f, 0f, 4f, 1f, 1f, -2f, 0f, 0f, 5f], 1, 3, 2, 2);

        var labelsOnly = ScoreMaps.FromLogits(logits, withProbabilities: false);

        Assert.Equal(ScoreMaps.FromLogits(logits).Labels(0).Pixels, labelsOnly.Labels(0).Pixels);
        Assert.Equal([0, 1, 1, 2], labelsOnly.Labels(0).Pixels);
        Assert.Throws<InvalidOperationException>(() => labelsOnly.Scores(0));
    }

    [Fact]
    public void Any_sample_type_is_cut_into_windows_as_its_float_copy_would_be()
    {
        var plan = new TilePlan(5, 6, 2, 4, 1, 2);
        var bytes = TestImages.Random(5, 6, seed: 7);
        var words = new Image<ushort>(5, 6, 3, [.. bytes.Pixels.Select(v => (ushort)(v * 257))]);
        for (int tile = 0; tile < plan.Count; tile++)
        {
            Assert.Equal(plan.CutWindow(bytes.ToFloat(), tile).Pixels, plan.CutWindow(bytes, tile).Pixels);
            Assert.Equal(plan.CutWindow(words.ToFloat(), tile).Pixels, plan.CutWindow(words, tile).Pixels);
        }
    }

    [Fact]
    public void A_score_map_larger_than_an_array_is_refused_before_any_window_naming_the_image_and_the_way_out()
    {
        var segmenter = new Training.Segmenter(new TinyConvNet(2200, width: 2, kernel: 1, batchNorm: false), "tiny");
        var image = new Image<byte>(1000, 1000, 3);

        var error = Assert.Throws<InsufficientMemoryException>(() => segmenter.OverlapTilePredict(image, (512, 512), (64, 64)));

        Assert.Contains("1000×1000 image with 2200 classes (tiles 512×512, pad 64×64, 32 windows per batch)", error.Message);
        Assert.Contains("2,200,000,000 values", error.Message);
        Assert.Contains("OverlapTilePredictLabels", error.Message);
    }

    [Fact]
    public void Output_maps_beyond_the_available_memory_are_refused_naming_what_they_need()
    {
        var plan = new TilePlan(8000, 8000, 512, 512, 64, 64);

        var withScores = new TileMemory(plan, classes: 19, scoresInMemory: true, batchSize: 32, availableBytes: 4L << 30);
        var labelsOnly = new TileMemory(plan, classes: 19, scoresInMemory: false, batchSize: 32, availableBytes: 4L << 30);

        var error = Assert.Throws<InsufficientMemoryException>(withScores.CheckOutputFits);
        Assert.Equal(
            "OverlapTilePredict: a 8000×8000 image with 19 classes (tiles 512×512, pad 64×64, 32 windows per batch) needs 4.8 GiB for its " +
            "label map (int32) and score map (float32 per class) alone, more than the 4.0 GiB this process may use. Predict the labels alone " +
            "and stream the scores (OverlapTilePredictLabels with a TileScoresHandler; sharpseg predict --tile writes --npy tile by tile), " +
            "use smaller tiles or a smaller batch, or split the image.", error.Message);
        labelsOnly.CheckOutputFits();
        Assert.Equal(256_000_000, labelsOnly.LabelBytes);
    }

    [Theory]
    [InlineData(740_000_000L, 32, 24L << 30, 1)]    // DeepLabV3+ on a 640×640 window: one window per pass
    [InlineData(10_000_000L, 32, 24L << 30, 32)]    // small windows: the whole batch
    [InlineData(10_000_000L, 64, 24L << 30, 64)]
    [InlineData(10_000_000L, 200, 24L << 30, 107)]  // 1 GiB / 10 MB
    [InlineData(10_000_000L, 32, 400_000_000L, 10)] // a quarter of a small machine's memory
    [InlineData(3_000_000_000L, 32, 2L << 30, 1)]   // never fewer than one
    public void A_forward_pass_takes_the_windows_that_fit_its_budget(long firstPassBytes, int batchSize, long available, int expected)
    {
        var memory = new TileMemory(new TilePlan(100, 100, 10, 10, 0, 0), 3, scoresInMemory: false, batchSize, available);
        Assert.Equal(1, memory.WindowsPerPass);

        memory.MeasuredFirstPass(firstPassBytes);

        Assert.Equal(expected, memory.WindowsPerPass);
    }

    [Fact]
    public void Running_out_of_memory_during_the_prediction_is_reported_with_the_image_tiles_and_memory()
    {
        var segmenter = Model(3);
        var image = TestImages.Random(20, 20, seed: 8);

        var error = Assert.Throws<InsufficientMemoryException>(() =>
            segmenter.OverlapTilePredictLabels(image, (8, 8), (2, 2), batchSize: 4, tileScores: (_, _, _) => throw new OutOfMemoryException()));

        Assert.StartsWith("OverlapTilePredict ran out of memory on a 20×20 image with 3 classes (tiles 8×8, pad 2×2, 4 windows per batch): " +
                          "the output (label map (int32)) takes 1.6 KiB, the first forward pass (one window) did not finish; about 1.6 KiB or more is needed", error.Message);
        Assert.Contains("is available", error.Message);
        Assert.IsType<OutOfMemoryException>(error.InnerException);
    }
}
