using SharpSeg.Data.Transforms;
using static SharpSeg.Data.Tests.Transforms.TransformTestData;

namespace SharpSeg.Data.Tests.Transforms;

public class PhotometricTests
{
    private static readonly Random Unused = new(0);

    [Fact]
    public void NormalizeDefaultMapsByteRangeToPlusMinusOne()
    {
        var sample = new SegSample(new Image<float>(1, 1, 3, [0, 127.5f, 255]), null);
        new Normalize().Apply(sample, Unused);
        Assert.Equal([-1f, 0f, 1f], sample.Image.Pixels);
    }

    [Fact]
    public void NormalizeUsesPerChannelMeanStdAndBandRange()
    {
        var sample = new SegSample(new Image<float>(1, 2, 2, [100, 0, 1100, 50]), null);
        new Normalize(mean: [0.5f, 0.25f], std: [0.25f, 0.5f], minValue: [100, 0], maxValue: [1100, 100]).Apply(sample, Unused);
        // band 0: (100−100)/1000 = 0 → (0 − .5)/.25 = −2; (1100−100)/1000 = 1 → 2.
        // band 1: 0/100 = 0 → (0 − .25)/.5 = −.5; 50/100 = .5 → .5.
        Assert.Equal([-2f, -0.5f, 2f, 0.5f], sample.Image.Pixels);
    }

    [Fact]
    public void NormalizeRejectsMismatchedChannelCount()
    {
        var sample = new SegSample(new Image<float>(1, 1, 4), null);
        var error = Assert.Throws<InvalidDataException>(() => new Normalize(mean: [0.1f, 0.2f, 0.3f]).Apply(sample, Unused));
        Assert.Contains("Normalize: mean has 3 values but the image has 4 bands", error.Message);
    }

    [Fact]
    public void ClipClampsEachBand()
    {
        var sample = new SegSample(new Image<float>(1, 2, 2, [-5, 300, 50, 20]), null);
        new Clip(minValue: [0, 30], maxValue: [40, 255]).Apply(sample, Unused);
        Assert.Equal([0f, 255f, 40f, 30f], sample.Image.Pixels);
    }

    [Fact]
    public void ToTensorTransposesHwcToChw()
    {
        var image = new Image<float>(2, 2, 2, [1, 10, 2, 20, 3, 30, 4, 40]);
        Assert.Equal([1f, 2, 3, 4, 10, 20, 30, 40], ToTensor.ToChw(image));
    }

    [Fact]
    public void BrightnessScalesAndTruncatesLikePillow()
    {
        Assert.Equal([50f, 0f, 127f], ColorOps.Brightness(Gray(1, 3, 101, 1, 255), 0.5).Pixels);
        Assert.Equal([151f, 255f], ColorOps.Brightness(Gray(1, 2, 101, 200), 1.5).Pixels);
    }

    [Fact]
    public void ContrastBlendsWithRoundedMeanLuma()
    {
        // mean = 50 → 50 + 2 (v − 50), clipped.
        Assert.Equal([0f, 150f], ColorOps.Contrast(Gray(1, 2, 0, 100), 2.0).Pixels);
        // RGB mean luma of one red pixel: (255·19595 + 2¹⁵) ≫ 16 = 76.
        Assert.Equal([165f, 38f, 38f], ColorOps.Contrast(new Image<float>(1, 1, 3, [255, 0, 0]), 0.5).Pixels);
    }

    [Fact]
    public void SaturationZeroGivesPillowLuma()
    {
        var gray = ColorOps.Saturation(new Image<float>(1, 2, 3, [255, 0, 0, 0, 255, 0]), 0.0);
        Assert.Equal([76f, 76f, 76f, 150f, 150f, 150f], gray.Pixels);   // (255·38470 + 2¹⁵) ≫ 16 = 150
    }

    [Fact]
    public void HueShiftRotatesOnPillowHueWheel()
    {
        var red = new Image<float>(1, 1, 3, [255, 0, 0]);
        Assert.Equal([0f, 255f, 0f], ColorOps.Hue(red, 85.4).Pixels);
        Assert.Equal([0f, 0f, 255f], ColorOps.Hue(red, 170).Pixels);
        Assert.Equal([255f, 0f, 0f], ColorOps.Hue(red, 0.7).Pixels);
    }

    [Fact]
    public void RgbToHsvMatchesPillowFormula()
    {
        Span<byte> hsv = stackalloc byte[3];
        ColorOps.RgbToHsv(0, 128, 255, hsv);
        // blue is max: h = 4 + (255−128)/255 − (255−0)/255 = 3.498 → /6 · 255 = 148.7 → 148.
        Assert.Equal([148, 255, 255], hsv.ToArray());
    }

    [Fact]
    public void DistortWithZeroProbabilitiesOnlyTruncatesToBytes()
    {
        var sample = new SegSample(new Image<float>(1, 1, 3, [12.7f, -3f, 300f]), null);
        new RandomDistort(brightnessProbability: 0, contrastProbability: 0, saturationProbability: 0, hueProbability: 0)
            .Apply(sample, new Random(2));
        Assert.Equal([12f, 0f, 255f], sample.Image.Pixels);
    }

    [Fact]
    public void DistortBrightnessOnlyScalesByDrawnFactor()
    {
        var sample = new SegSample(new Image<float>(1, 2, 3, [100, 100, 100, 200, 10, 50]), null);
        new RandomDistort(brightnessRange: 0.4, brightnessProbability: 1, contrastProbability: 0, saturationProbability: 0, hueProbability: 0)
            .Apply(sample, new Random(9));
        float[] source = [100, 100, 100, 200, 10, 50];
        bool SomeFactorExplains(float f) => source.Select((v, i) => MathF.Min(255, MathF.Truncate(f * v)) == sample.Image.Pixels[i]).All(b => b);
        Assert.Contains(Enumerable.Range(0, 80001).Select(i => 0.6f + i * 1e-5f), SomeFactorExplains);
        Assert.NotEqual(source, sample.Image.Pixels);
    }

    [Fact]
    public void DistortRejectsMultiBandImages()
    {
        var sample = new SegSample(new Image<float>(1, 1, 4), null, "bands.tif");
        var error = Assert.Throws<InvalidDataException>(() => new RandomDistort().Apply(sample, Unused));
        Assert.Contains("bands.tif", error.Message);
    }

    [Fact]
    public void GaussianBlurOfImpulseIsBinomial()
    {
        var impulse = new Image<float>(5, 5, 1);
        impulse[2, 2] = 160;
        var blurred = RandomBlur.Blur(impulse, BlurType.Gaussian, 3);
        Assert.Equal(40f, blurred[2, 2]);
        Assert.Equal(20f, blurred[1, 2]);
        Assert.Equal(10f, blurred[1, 1]);
        Assert.Equal(0f, blurred[0, 0]);
        Assert.Equal(160f, blurred.Pixels.Sum());
    }

    [Fact]
    public void BoxAndMedianBlurOfImpulse()
    {
        var impulse = new Image<float>(5, 5, 1);
        impulse[2, 2] = 90;
        var box = RandomBlur.Blur(impulse, BlurType.Box, 3);
        Assert.Equal(10f, box[1, 1]);
        Assert.Equal(0f, box[0, 0]);
        Assert.All(RandomBlur.Blur(impulse, BlurType.Median, 3).Pixels, v => Assert.Equal(0f, v));
    }

    [Fact]
    public void MedianFilterMatchesSortingEveryWindow()
    {
        var random = new Random(12);
        var image = new Image<float>(9, 11, 2);
        for (int i = 0; i < image.Pixels.Length; i++)
            image.Pixels[i] = random.Next(6) * 40;
        foreach (int size in new[] { 3, 5, 9 })
        {
            var filtered = ImageOps.MedianFilter(image, size);
            int r = size / 2;
            for (int y = 0; y < 9; y++)
                for (int x = 0; x < 11; x++)
                    for (int c = 0; c < 2; c++)
                    {
                        var window = new List<float>();
                        for (int dy = -r; dy <= r; dy++)
                            for (int dx = -r; dx <= r; dx++)
                                window.Add(image[Math.Clamp(y + dy, 0, 8), Math.Clamp(x + dx, 0, 10), c]);
                        window.Sort();
                        Assert.Equal(window[window.Count / 2], filtered[y, x, c]);
                    }
        }
    }

    [Fact]
    public void SeparableFilterMatchesDirectConvolutionWithReflectedBorder()
    {
        var random = new Random(13);
        var image = new Image<float>(6, 7, 3);
        for (int i = 0; i < image.Pixels.Length; i++)
            image.Pixels[i] = random.Next(256);
        float[] kernel = [0.0625f, 0.25f, 0.375f, 0.25f, 0.0625f];
        var filtered = ImageOps.SeparableFilter(image, kernel);
        static int Reflect(int i, int n) => i < 0 ? -i : i >= n ? 2 * n - 2 - i : i;
        for (int y = 0; y < 6; y++)
            for (int x = 0; x < 7; x++)
                for (int c = 0; c < 3; c++)
                {
                    double expected = 0;
                    for (int ky = 0; ky < 5; ky++)
                        for (int kx = 0; kx < 5; kx++)
                            expected += kernel[ky] * kernel[kx] * image[Reflect(y + ky - 2, 6), Reflect(x + kx - 2, 7), c];
                    Assert.Equal(expected, filtered[y, x, c], 1e-3);
                }
    }

    [Fact]
    public void LargeGaussianKernelUsesOpenCvSigmaInFixedPoint()
    {
        var kernel = RandomBlur.GaussianKernelFixedPoint(9);
        double sigma = 0.15 * 9 + 0.35;
        Assert.Equal(256, kernel.Sum());
        Assert.Equal(kernel.Reverse(), kernel);
        Assert.Equal(Math.Exp(-16 / (2 * sigma * sigma)), kernel[0] / (double)kernel[4], 1);
        Assert.Equal([256], RandomBlur.GaussianKernelFixedPoint(1));
    }

    [Fact]
    public void BlurWithProbabilityOneAlwaysBlurs()
    {
        var sample = new SegSample(new Image<float>(5, 5, 1), null);
        sample.Image[2, 2] = 255;
        new RandomBlur(probability: 1).Apply(sample, new Random(4));
        Assert.True(sample.Image[2, 2] < 255);
    }

    [Theory]
    [InlineData(0.0, BlurType.Gaussian)]
    [InlineData(0.2999, BlurType.Gaussian)]
    [InlineData(0.3, BlurType.Median)]
    [InlineData(0.5999, BlurType.Median)]
    [InlineData(0.6, BlurType.Box)]
    [InlineData(0.9999, BlurType.Box)]
    public void RandomBlurTypePicksAsPaddleSeg(double select, BlurType expected) =>
        Assert.Equal(expected, RandomBlur.RandomType(select));
}
