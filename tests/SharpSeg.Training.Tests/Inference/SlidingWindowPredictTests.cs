using SharpSeg.Data;
using SharpSeg.Training.Inference;
using SharpSeg.Training.Tests.Segmenter;

namespace SharpSeg.Training.Tests.Inference;

public sealed class SlidingWindowPredictTests
{
    [Theory]
    [InlineData(10, 4, 3, new[] { 0, 3, 6 })]
    [InlineData(11, 4, 3, new[] { 0, 3, 6, 7 })]   // the last window shifts back to end at the edge
    [InlineData(3, 4, 2, new[] { 0 })]            // a crop larger than the image: one window
    [InlineData(8, 4, 4, new[] { 0, 4 })]
    public void WindowStartsFollowPaddleSegSlideInference(int size, int crop, int stride, int[] expected) =>
        Assert.Equal(expected, SlidingWindows.Starts(size, crop, stride));

    [Fact]
    public void AveragesTheLogitsOfEveryWindowCoveringAPixel()
    {
        // 3×3 convolutions: a pixel's logits differ between windows, so only true averaging reproduces the reference.
        var model = new TinyConvNet(4, seed: 5);
        var segmenter = new Training.Segmenter(model, "tiny");
        var image = TestImages.Random(11, 13, seed: 6);

        var predicted = segmenter.SlidingWindowPredict(image, cropSize: (5, 4), stride: (3, 3), batchSize: 4);

        // Reference written independently on tensors: crop, forward, sum into place, divide by coverage.
        var whole = new float[3 * 11 * 13];
        for (int y = 0; y < 11; y++)
            for (int x = 0; x < 13; x++)
                for (int c = 0; c < 3; c++) whole[(c * 11 + y) * 13 + x] = image[y, x, c];
        var input = Tensor.FromArray(whole, 1, 3, 11, 13);
        var sum = Tensor.Zeros(1, 4, 11, 13);
        var cover = Tensor.Zeros(1, 1, 11, 13);
        model.Eval();
        using (GradMode.NoGrad())
            foreach (int top in new[] { 0, 3, 6, 7 })
                foreach (int left in new[] { 0, 3, 6, 8 })
                {
                    var logits = model.Forward(input.Narrow(2, top, 4).Narrow(3, left, 5).Contiguous())[0];
                    sum = sum + Functional.Pad(logits, [left, 13 - left - 5, top, 11 - top - 4]);
                    cover = cover + Functional.Pad(Tensor.Ones(1, 1, 4, 5), [left, 13 - left - 5, top, 11 - top - 4]);
                }
        var expectedScores = Functional.Softmax(sum / cover, 1).ToArray();
        var expectedLabels = (sum / cover).Argmax(1).ToArray<long>();

        for (int y = 0; y < 11; y++)
            for (int x = 0; x < 13; x++)
            {
                Assert.Equal(expectedLabels[y * 13 + x], predicted.LabelMap[y, x]);
                for (int c = 0; c < 4; c++)
                    Assert.Equal(expectedScores[(c * 11 + y) * 13 + x], predicted.ScoreMap[y, x, c], 1e-5f);
            }
    }

    [Fact]
    public void APointwiseModelGivesTheWholeImagePrediction()
    {
        var segmenter = new Training.Segmenter(new TinyConvNet(3, seed: 8, kernel: 1), "tiny");
        var image = TestImages.Random(10, 11, seed: 4);

        var slid = segmenter.SlidingWindowPredict(image, (4, 4), (3, 2), batchSize: 5);
        var whole = segmenter.Predict(image);

        Assert.Equal(whole.LabelMap.Pixels, slid.LabelMap.Pixels);
        for (int i = 0; i < whole.ScoreMap.Pixels.Length; i++) Assert.Equal(whole.ScoreMap.Pixels[i], slid.ScoreMap.Pixels[i], 1e-5f);
    }

    [Fact]
    public void BadSizesAreRefused()
    {
        var segmenter = new Training.Segmenter(new TinyConvNet(3, seed: 8, kernel: 1), "tiny");
        var image = TestImages.Random(6, 6, seed: 1);
        Assert.Throws<ArgumentOutOfRangeException>(() => segmenter.SlidingWindowPredict(image, (0, 4), (2, 2)));
        Assert.Throws<ArgumentOutOfRangeException>(() => segmenter.SlidingWindowPredict(image, (4, 4), (2, 0)));
    }
}
