using SharpSeg.Data.Transforms;
using static SharpSeg.Data.Tests.Transforms.TransformTestData;

namespace SharpSeg.Data.Tests.Transforms;

public class GeometricTests
{
    private static readonly Random Unused = new(0);

    [Fact]
    public void HorizontalFlipMirrorsImageAndLabel()
    {
        var sample = new SegSample(new Image<float>(2, 3, 2, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]),
            new Image<int>(2, 3, 1, [0, 1, 2, 3, 4, 5]));
        new RandomHorizontalFlip(probability: 1).Apply(sample, Unused);
        Assert.Equal([5, 6, 3, 4, 1, 2, 11, 12, 9, 10, 7, 8], sample.Image.Pixels);
        Assert.Equal([2, 1, 0, 5, 4, 3], sample.Label!.Pixels);
    }

    [Fact]
    public void VerticalFlipMirrorsImageAndLabel()
    {
        var sample = new SegSample(new Image<float>(2, 3, 1, [1, 2, 3, 4, 5, 6]), new Image<int>(2, 3, 1, [0, 1, 2, 3, 4, 5]));
        new RandomVerticalFlip(probability: 1).Apply(sample, Unused);
        Assert.Equal([4, 5, 6, 1, 2, 3], sample.Image.Pixels);
        Assert.Equal([3, 4, 5, 0, 1, 2], sample.Label!.Pixels);
    }

    [Fact]
    public void FlipWithZeroProbabilityLeavesSampleAlone()
    {
        var sample = Sample(2, 3);
        var before = sample.Image.Pixels;
        new RandomHorizontalFlip(probability: 0).Apply(sample, new Random(1));
        Assert.Same(before, sample.Image.Pixels);
    }

    [Fact]
    public void PaddingFillsBottomRightAndRecordsStep()
    {
        var sample = new SegSample(Gray(2, 2, 1, 2, 3, 4), new Image<int>(2, 2, 1, [0, 1, 1, 0]));
        new Padding(width: 3, height: 3).Apply(sample, Unused);
        Assert.Equal([1, 2, 127.5f, 3, 4, 127.5f, 127.5f, 127.5f, 127.5f], sample.Image.Pixels);
        Assert.Equal([0, 1, 255, 1, 0, 255, 255, 255, 255], sample.Label!.Pixels);
        Assert.Equal([new ShapeStep(ShapeStepKind.Padding, 2, 2)], sample.ShapeSteps);
    }

    [Fact]
    public void PaddingSmallerThanImageNamesSizes()
    {
        var sample = new SegSample(Gray(2, 5, new float[10]), null, "big.png");
        var error = Assert.Throws<InvalidDataException>(() => new Padding(width: 4, height: 4).Apply(sample, Unused));
        Assert.Contains("big.png", error.Message);
        Assert.Contains("2×5", error.Message);
    }

    [Fact]
    public void RandomPaddingCropTakesWindowAtSeededOffsets()
    {
        var sample = Sample(5, 6, channels: 2);
        new RandomPaddingCrop(width: 4, height: 4).Apply(sample, new Random(7));

        var replay = new Random(7);
        int top = replay.Next(5 - 4 + 1), left = replay.Next(6 - 4 + 1);
        Assert.Equal((4, 4), (sample.Image.Height, sample.Image.Width));
        for (int y = 0; y < 4; y++)
            for (int x = 0; x < 4; x++)
            {
                Assert.Equal(100 * (y + top) + 10 * (x + left) + 1, sample.Image[y, x, 1]);
                Assert.Equal(10 * (y + top) + x + left, sample.Label![y, x]);
            }
    }

    [Fact]
    public void RandomPaddingCropPadsSmallImagesWith127AndIgnore()
    {
        var sample = new SegSample(Gray(2, 3, 1, 2, 3, 4, 5, 6), new Image<int>(2, 3, 1, [0, 1, 2, 0, 1, 2]));
        new RandomPaddingCrop(width: 4, height: 4).Apply(sample, new Random(3));
        Assert.Equal(
            [1, 2, 3, 127.5f, 4, 5, 6, 127.5f, 127.5f, 127.5f, 127.5f, 127.5f, 127.5f, 127.5f, 127.5f, 127.5f],
            sample.Image.Pixels);
        Assert.Equal([0, 1, 2, 255, 0, 1, 2, 255, 255, 255, 255, 255, 255, 255, 255, 255], sample.Label!.Pixels);
    }

    [Fact]
    public void CategoryBalancedCropAvoidsSingleClassWindows()
    {
        // Class 2 occupies only the bottom-right 3×3 corner of a 10×10 label; most 4×4 windows see class 1 alone.
        for (int seed = 0; seed < 20; seed++)
        {
            var label = new Image<int>(10, 10, 1);
            for (int y = 0; y < 10; y++)
                for (int x = 0; x < 10; x++)
                    label[y, x] = y >= 7 && x >= 7 ? 2 : 1;
            var sample = new SegSample(new Image<float>(10, 10, 3), label);
            new RandomPaddingCrop(width: 4, height: 4, categoryMaxRatio: 0.95, loopTimes: 200).Apply(sample, new Random(seed));
            Assert.Contains(2, sample.Label!.Pixels);
            Assert.Contains(1, sample.Label.Pixels);
        }
    }

    [Fact]
    public void RandomCenterCropCutsSeededWindow()
    {
        var sample = Sample(10, 10, channels: 1);
        new RandomCenterCrop(0.5, 0.5).Apply(sample, new Random(11));
        var replay = new Random(11);
        int removeW = replay.Next(5), removeH = replay.Next(5);
        int left = removeW == 0 ? 0 : replay.Next(removeW), top = removeH == 0 ? 0 : replay.Next(removeH);
        Assert.Equal((10 - removeH, 10 - removeW), (sample.Image.Height, sample.Image.Width));
        Assert.Equal(100 * top + 10 * left, sample.Image[0, 0]);
        Assert.Equal(10 * (top + sample.Label!.Height - 1) + left + sample.Label.Width - 1, sample.Label[sample.Label.Height - 1, sample.Label.Width - 1]);
    }

    [Fact]
    public void LinearResizeMatchesOpenCvHalfPixelTable()
    {
        // cv2.resize(np.float32([[0, 10]]), (4, 1)) == [[0, 2.5, 7.5, 10]]
        var wide = ImageOps.Resize(Gray(1, 2, 0, 10), 1, 4, Interpolation.Linear);
        Assert.Equal([0f, 2.5f, 7.5f, 10f], wide.Pixels);

        // 2× downscale averages each 2×2 block: (0 + 2 + 10 + 12) / 4, (4 + 6 + 14 + 16) / 4.
        var small = ImageOps.Resize(Gray(2, 4, 0, 2, 4, 6, 10, 12, 14, 16), 1, 2, Interpolation.Linear);
        Assert.Equal([6f, 10f], small.Pixels);
    }

    [Fact]
    public void LinearResizeAgreesWithDirectBilinearFormula()
    {
        var random = new Random(5);
        var image = new Image<float>(7, 9, 2);
        for (int i = 0; i < image.Pixels.Length; i++)
            image.Pixels[i] = random.Next(256);
        foreach (var (h, w) in new[] { (3, 4), (13, 20), (7, 5), (1, 1) })
        {
            var resized = ImageOps.Resize(image, h, w, Interpolation.Linear);
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    for (int c = 0; c < 2; c++)
                        Assert.Equal(ReferenceBilinear(image, (y + 0.5) * 7 / h - 0.5, (x + 0.5) * 9 / w - 0.5, c), resized[y, x, c], 1e-3);
        }
    }

    private static double ReferenceBilinear(Image<float> image, double sy, double sx, int c)
    {
        static (int, int, double) Split(double s, int n)
        {
            s = Math.Clamp(s, 0, n - 1);
            int i0 = (int)Math.Floor(s);
            return (i0, Math.Min(i0 + 1, n - 1), s - i0);
        }
        var (y0, y1, fy) = Split(sy, image.Height);
        var (x0, x1, fx) = Split(sx, image.Width);
        return (1 - fy) * ((1 - fx) * image[y0, x0, c] + fx * image[y0, x1, c]) + fy * ((1 - fx) * image[y1, x0, c] + fx * image[y1, x1, c]);
    }

    [Fact]
    public void CubicResizeAgreesWithKeysKernel()
    {
        var constant = ImageOps.Resize(Gray(2, 2, 5, 5, 5, 5), 5, 3, Interpolation.Cubic);
        Assert.All(constant.Pixels, v => Assert.Equal(5f, v, 4));

        float[] row = [0, 10, 40, 20, 5];
        var resized = ImageOps.Resize(Gray(1, 5, row), 1, 8, Interpolation.Cubic);
        for (int d = 0; d < 8; d++)
        {
            double s = (d + 0.5) * 5 / 8 - 0.5, expected = 0;
            int i0 = (int)Math.Floor(s);
            for (int k = -1; k <= 2; k++)
                expected += KeysKernel(s - (i0 + k)) * row[Math.Clamp(i0 + k, 0, 4)];
            Assert.Equal(expected, resized.Pixels[d], 1e-3);
        }
    }

    private static double KeysKernel(double x)
    {
        const double a = -0.75;
        x = Math.Abs(x);
        return x <= 1 ? ((a + 2) * x - (a + 3)) * x * x + 1 : x < 2 ? ((a * x - 5 * a) * x + 8 * a) * x - 4 * a : 0;
    }

    [Fact]
    public void NearestLabelResizeUsesOpenCvIndexingAndKeepsClassIds()
    {
        var label = new Image<int>(2, 2, 1, [0, 1, 2, 255]);
        var sample = new SegSample(Gray(2, 2, 0, 0, 0, 0), label);
        new Resize(width: 3, height: 3).Apply(sample, Unused);
        Assert.Equal([0, 0, 1, 0, 0, 1, 2, 2, 255], sample.Label!.Pixels);
        Assert.Equal([new ShapeStep(ShapeStepKind.Resize, 2, 2)], sample.ShapeSteps);

        var big = Sample(9, 11);
        new Resize(width: 5, height: 4).Apply(big, Unused);
        var sourceIds = TransformTestData.CodedLabel(9, 11).Pixels.ToHashSet();
        Assert.All(big.Label!.Pixels, v => Assert.Contains(v, sourceIds));
    }

    [Fact]
    public void ResizeKeepRatioAndSizeDivisor()
    {
        var sample = new SegSample(new Image<float>(100, 200, 3), null);
        new Resize(width: 512, height: 256, keepRatio: true).Apply(sample, Unused);
        Assert.Equal((256, 512), (sample.Image.Height, sample.Image.Width));

        var odd = new SegSample(new Image<float>(30, 50, 1), null);
        new Resize(width: 70, height: 40, sizeDivisor: 32).Apply(odd, Unused);
        Assert.Equal((64, 96), (odd.Image.Height, odd.Image.Width));
    }

    [Fact]
    public void ResizeByLongAndShortRoundHalfToEven()
    {
        var byLong = new SegSample(new Image<float>(3, 5, 1), new Image<int>(3, 5, 1));
        new ResizeByLong(2).Apply(byLong, Unused);   // 3 × 0.4 = 1.2 → 1, 5 × 0.4 = 2
        Assert.Equal((1, 2), (byLong.Image.Height, byLong.Label!.Width));

        var byShort = new SegSample(new Image<float>(4, 10, 1), null);
        new ResizeByShort(5).Apply(byShort, Unused);   // 10 × 1.25 = 12.5 → 12 (half to even)
        Assert.Equal((5, 12), (byShort.Image.Height, byShort.Image.Width));
    }

    [Theory]
    [InlineData(12, 5, 12)]   // 10 × 1.25 = 12.5 rounds to 12 ≤ 12: the short-side rule holds
    [InlineData(11, 4, 11)]   // 12 > 11: the long side becomes 11, scale 1.1, short side 4 × 1.1 = 4.4 → 4
    [InlineData(8, 3, 8)]     // scale 0.8: 3.2 → 3
    public void ResizeByShortCapsTheLongSideAtMaxSizeAsPaddleX(int maxSize, int expectedHeight, int expectedWidth)
    {
        var sample = new SegSample(new Image<float>(4, 10, 1), new Image<int>(4, 10, 1));
        new ResizeByShort(5, maxSize).Apply(sample, Unused);
        Assert.Equal((expectedHeight, expectedWidth), (sample.Image.Height, sample.Image.Width));
        Assert.Equal((expectedHeight, expectedWidth), (sample.Label!.Height, sample.Label.Width));
    }

    [Fact]
    public void ResizeStepScalingDrawsOnlyGridFactors()
    {
        var sizes = new HashSet<int>();
        for (int seed = 0; seed < 40; seed++)
        {
            var sample = new SegSample(new Image<float>(8, 8, 1), null);
            new ResizeStepScaling(0.75, 1.25, 0.25).Apply(sample, new Random(seed));
            sizes.Add(sample.Image.Width);
        }
        Assert.Equal([6, 8, 10], sizes.Order());
    }

    [Fact]
    public void ResizeRangeScalingSetsLongSideInRange()
    {
        for (int seed = 0; seed < 20; seed++)
        {
            var sample = new SegSample(new Image<float>(10, 20, 1), null);
            new ResizeRangeScaling(8, 12).Apply(sample, new Random(seed));
            Assert.InRange(sample.Image.Width, 8, 12);
            Assert.Equal(Math.Round(sample.Image.Width / 2.0, MidpointRounding.ToEven), sample.Image.Height);
        }
    }

    [Fact]
    public void RotationByZeroIsIdentityOnEvenSizes()
    {
        var sample = Sample(4, 6);
        RandomRotation.Rotate(sample, 0, 127.5f, 255);
        Assert.Equal(Coded(4, 6, 3).Pixels, sample.Image.Pixels);
        Assert.Equal(CodedLabel(4, 6).Pixels, sample.Label!.Pixels);
    }

    [Fact]
    public void RotationBy90MatchesOpenCvGeometry()
    {
        // cv2 rotates about (w // 2, h // 2) = (2, 1) onto a 4×2 canvas: dst(y, x) = src(row x, column 4 − y).
        var sample = Sample(2, 4, channels: 1);
        RandomRotation.Rotate(sample, 90, 127.5f, 255);
        Assert.Equal((4, 2), (sample.Image.Height, sample.Image.Width));
        for (int x = 0; x < 2; x++)
        {
            Assert.Equal(255, sample.Label![0, x]);
            Assert.Equal(127.5f, sample.Image[0, x], 3);
            for (int y = 1; y < 4; y++)
            {
                Assert.Equal(10 * x + 4 - y, sample.Label[y, x]);
                Assert.Equal(100 * x + 10 * (4 - y), sample.Image[y, x], 3);
            }
        }
    }

    [Fact]
    public void RandomScaleAspectKeepsSizeAndClassIds()
    {
        for (int seed = 0; seed < 10; seed++)
        {
            var sample = Sample(12, 16);
            new RandomScaleAspect(0.5, 0.33).Apply(sample, new Random(seed));
            Assert.Equal((12, 16), (sample.Image.Height, sample.Image.Width));
            var ids = CodedLabel(12, 16).Pixels.ToHashSet();
            Assert.All(sample.Label!.Pixels, v => Assert.Contains(v, ids));
        }
    }

    [Fact]
    public void ComposeRunsInOrderAndChecksLabelShape()
    {
        var sample = Sample(4, 6);
        new Compose(new Padding(8, 4), new RandomHorizontalFlip(1)).Apply(sample, new Random(0));
        Assert.Equal(127.5f, sample.Image[0, 0, 0]);
        Assert.Equal(255, sample.Label![0, 0]);
        Assert.Equal(5, sample.Label[0, 2]);

        var broken = Sample(4, 6);
        var error = Assert.Throws<InvalidDataException>(() =>
            new Compose(new LabelShrinker()).Apply(broken, new Random(0)));
        Assert.Contains("LabelShrinker", error.Message);
        Assert.Contains("mem.png", error.Message);
    }

    private sealed class LabelShrinker : ISegTransform
    {
        public void Apply(SegSample sample, Random random) => sample.Label = new Image<int>(1, 1, 1);
    }
}

public class ReverseTransformTests
{
    [Fact]
    public void UndoesPaddingThenResizeNewestFirst()
    {
        var sample = new SegSample(new Image<float>(3, 5, 3), new Image<int>(3, 5, 1));
        new Compose(new Resize(width: 10, height: 6), new Padding(width: 12, height: 8)).Apply(sample, new Random(0));
        Assert.Equal([new ShapeStep(ShapeStepKind.Resize, 3, 5), new ShapeStep(ShapeStepKind.Padding, 6, 10)], sample.ShapeSteps);

        // A prediction on the 8×12 input: class = column / 2 inside the resized area, 9 in the padding.
        var prediction = new Image<int>(8, 12, 1);
        for (int y = 0; y < 8; y++)
            for (int x = 0; x < 12; x++)
                prediction[y, x] = y < 6 && x < 10 ? x / 2 : 9;
        var restored = ReverseTransform.LabelMap(prediction, sample.ShapeSteps);
        Assert.Equal((3, 5), (restored.Height, restored.Width));
        Assert.Equal([0, 1, 2, 3, 4], restored.Pixels[..5]);

        var scores = ReverseTransform.ScoreMap(new Image<float>(8, 12, 2), sample.ShapeSteps);
        Assert.Equal((3, 5, 2), (scores.Height, scores.Width, scores.Channels));
    }
}
