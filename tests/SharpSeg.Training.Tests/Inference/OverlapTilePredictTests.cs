using SharpSeg.Data;
using SharpSeg.Training.Inference;
using SharpSeg.Training.Tests.Segmenter;

namespace SharpSeg.Training.Tests.Inference;

public sealed class OverlapTilePredictTests
{
    /// <summary>
    /// PaddleX's padding written out independently: flipped strips of <paramref name="pad"/> columns concatenated left and
    /// right, then flipped strips of rows above and below (cv2.flip + hconcat/vconcat).
    /// </summary>
    private static Image<byte> MirrorPad(Image<byte> image, int padHeight, int padWidth)
    {
        int h = image.Height, w = image.Width, height = h + 2 * padHeight, width = w + 2 * padWidth;
        var result = new Image<byte>(height, width, 3);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                int sy = y - padHeight, sx = x - padWidth;
                sy = sy < 0 ? -sy - 1 : sy >= h ? 2 * h - 1 - sy : sy;
                sx = sx < 0 ? -sx - 1 : sx >= w ? 2 * w - 1 - sx : sx;
                for (int c = 0; c < 3; c++) result[y, x, c] = image[sy, sx, c];
            }
        return result;
    }

    private static (int[] Labels, float[] Scores) Crop(Prediction prediction, int top, int left, int height, int width)
    {
        int classes = prediction.ScoreMap.Channels;
        var labels = new int[height * width];
        var scores = new float[height * width * classes];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                labels[y * width + x] = prediction.LabelMap[top + y, left + x];
                for (int c = 0; c < classes; c++) scores[(y * width + x) * classes + c] = prediction.ScoreMap[top + y, left + x, c];
            }
        return (labels, scores);
    }

    [Theory]
    [InlineData(8, 6, 2, 2, 32)]
    [InlineData(8, 6, 3, 2, 1)]    // a pad wider than the receptive field, one window per batch
    [InlineData(16, 16, 2, 4, 5)]  // tiles larger than the image in one direction, a batch that does not divide the tile count
    public void EqualsWholeImagePredictionOfTheMirrorPaddedImageWhenTheReceptiveFieldFitsThePad(int tileWidth, int tileHeight, int padWidth,
        int padHeight, int batchSize)
    {
        // Two 3×3 convolutions: every output reads input pixels at most 2 away, which the pad covers.
        var segmenter = new Training.Segmenter(new TinyConvNet(4, seed: 7), "tiny") { Transforms = new Data.Transforms.Normalize() };
        var image = TestImages.Random(13, 21, seed: 3);

        var tiled = segmenter.OverlapTilePredict(image, (tileWidth, tileHeight), (padWidth, padHeight), batchSize);
        var whole = segmenter.Predict(MirrorPad(image, padHeight, padWidth));

        Assert.Equal(13, tiled.LabelMap.Height);
        Assert.Equal(21, tiled.LabelMap.Width);
        Assert.Equal(4, tiled.ScoreMap.Channels);
        var (labels, scores) = Crop(whole, padHeight, padWidth, 13, 21);
        Assert.Equal(labels, tiled.LabelMap.Pixels);
        Assert.Equal(scores.Length, tiled.ScoreMap.Pixels.Length);
        for (int i = 0; i < scores.Length; i++) Assert.Equal(scores[i], tiled.ScoreMap.Pixels[i], 1e-6f);

        // Away from the border the mirror is never read, so the tiles also agree with predicting the plain image.
        var plain = segmenter.Predict(image);
        for (int y = 2; y < 11; y++)
            for (int x = 2; x < 19; x++)
                Assert.Equal(plain.LabelMap[y, x], tiled.LabelMap[y, x]);
    }

    [Fact]
    public void PlainTilingOfAPointwiseModelEqualsWholeImagePrediction()
    {
        var segmenter = new Training.Segmenter(new TinyConvNet(3, seed: 8, kernel: 1), "tiny");
        var image = TestImages.Random(10, 11, seed: 4);

        var tiled = segmenter.OverlapTilePredict(image, (4, 3), (0, 0), batchSize: 3);
        var whole = segmenter.Predict(image);

        Assert.Equal(whole.LabelMap.Pixels, tiled.LabelMap.Pixels);
        for (int i = 0; i < whole.ScoreMap.Pixels.Length; i++) Assert.Equal(whole.ScoreMap.Pixels[i], tiled.ScoreMap.Pixels[i], 1e-6f);
    }

    [Theory]
    [InlineData(-1, 5, 0)]
    [InlineData(-2, 5, 1)]
    [InlineData(5, 5, 4)]
    [InlineData(6, 5, 3)]
    [InlineData(10, 5, 0)]
    [InlineData(-6, 5, 4)]
    [InlineData(3, 1, 0)]
    public void MirrorRepeatsTheEdgeAndKeepsReflecting(int index, int size, int expected) =>
        Assert.Equal(expected, TilePlan.Mirror(index, size));

    [Fact]
    public void BadSizesAreRefused()
    {
        var segmenter = new Training.Segmenter(new TinyConvNet(3), "tiny");
        var image = TestImages.Random(4, 4, seed: 1);
        Assert.Throws<ArgumentOutOfRangeException>(() => segmenter.OverlapTilePredict(image, (0, 4), (0, 0)));
        Assert.Throws<ArgumentOutOfRangeException>(() => segmenter.OverlapTilePredict(image, (4, 4), (-1, 0)));
        Assert.Throws<ArgumentOutOfRangeException>(() => segmenter.OverlapTilePredict(image, (4, 4), (0, 0), batchSize: 0));
    }

    [Fact]
    public void BatchPredictMatchesOneByOnePredictionForMixedSizes()
    {
        var segmenter = new Training.Segmenter(new TinyConvNet(3, seed: 9), "tiny");
        Image[] images = [TestImages.Random(6, 7, 1), TestImages.Random(6, 7, 2), TestImages.Random(5, 9, 3), TestImages.Random(6, 7, 4)];

        var batched = segmenter.BatchPredict(images, batchSize: 2);

        Assert.Equal(4, batched.Count);
        for (int i = 0; i < images.Length; i++)
        {
            var single = segmenter.Predict(images[i]);
            Assert.Equal(single.LabelMap.Pixels, batched[i].LabelMap.Pixels);
            Assert.Equal(images[i].Width, batched[i].LabelMap.Width);
            for (int p = 0; p < single.ScoreMap.Pixels.Length; p++) Assert.Equal(single.ScoreMap.Pixels[p], batched[i].ScoreMap.Pixels[p], 1e-6f);
        }
    }

    [Fact]
    public void ScoresAreSoftmaxProbabilitiesAndLabelsTheirArgmax()
    {
        var segmenter = new Training.Segmenter(new TinyConvNet(3, seed: 10), "tiny");
        var prediction = segmenter.Predict(TestImages.Random(5, 5, 6));
        for (int p = 0; p < 25; p++)
        {
            var scores = prediction.ScoreMap.Pixels.AsSpan(p * 3, 3);
            Assert.Equal(1f, scores[0] + scores[1] + scores[2], 1e-5f);
            int argmax = scores[1] > scores[0] ? (scores[2] > scores[1] ? 2 : 1) : (scores[2] > scores[0] ? 2 : 0);
            Assert.Equal(argmax, prediction.LabelMap.Pixels[p]);
        }
    }
}
