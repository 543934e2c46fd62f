using SharpSeg.Data.Transforms;

namespace SharpSeg.Data.Tests.Transforms;

/// <summary>Transforms on images with more bands than RGB: every band moves together and none is dropped or invented.</summary>
public class MultiBandTests
{
    private const int Bands = 5;

    /// <summary>A 5-band image whose band c is band 0 plus 1000·c, so any transform that treats bands alike keeps that offset.</summary>
    private static SegSample FiveBandSample(int height, int width)
    {
        var image = new Image<float>(height, width, Bands);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                for (int c = 0; c < Bands; c++)
                    image[y, x, c] = 7 * y + 3 * x + 1000 * c;
        return new SegSample(image, TransformTestData.CodedLabel(height, width), "five.tif");
    }

    public static TheoryData<string> Geometric() =>
        ["Resize", "ResizeStepScaling", "RandomPaddingCrop", "RandomHorizontalFlip", "RandomVerticalFlip", "RandomCenterCrop"];

    [Theory]
    [MemberData(nameof(Geometric))]
    public void GeometricTransformsMoveAllBandsAlike(string name)
    {
        ISegTransform transform = name switch
        {
            "Resize" => new Resize(width: 9, height: 6),
            "ResizeStepScaling" => new ResizeStepScaling(1.5, 1.5, 0),
            "RandomPaddingCrop" => new RandomPaddingCrop(width: 5, height: 4),
            "RandomHorizontalFlip" => new RandomHorizontalFlip(1),
            "RandomVerticalFlip" => new RandomVerticalFlip(1),
            _ => new RandomCenterCrop(),
        };
        var sample = FiveBandSample(8, 11);
        transform.Apply(sample, new Random(3));
        var image = sample.Image;
        Assert.Equal(Bands, image.Channels);
        for (int p = 0; p < image.Height * image.Width; p++)
            for (int c = 1; c < Bands; c++)
                Assert.Equal(image.Pixels[p * Bands] + 1000 * c, image.Pixels[p * Bands + c], 2);
    }

    [Fact]
    public void NormalizeWithOneValuePerBandAppliesEachToItsBand()
    {
        var sample = new SegSample(new Image<float>(1, 1, Bands, [0, 10, 200, 3000, 65535]), null);
        new Normalize(mean: [0, 0, 0, 0, 0.5f], std: [1, 1, 1, 1, 0.5f], minValue: [0, 0, 100, 0, 0], maxValue: [10, 20, 300, 6000, 65535]).Apply(sample, new Random(0));
        Assert.Equal([0f, 0.5f, 0.5f, 0.5f, 1f], sample.Image.Pixels);
    }

    [Theory]
    [InlineData("mean", "Normalize: mean has 3 values but the image has 5 bands")]
    [InlineData("max_val", "Normalize: max_val has 4 values but the image has 5 bands")]
    public void NormalizeListOfTheWrongLengthIsRefused(string parameter, string message)
    {
        var normalize = parameter == "mean" ? new Normalize(mean: [0.1f, 0.2f, 0.3f], std: [1]) : new Normalize(mean: [0], std: [1], maxValue: [1, 2, 3, 4]);
        var error = Assert.Throws<InvalidDataException>(() => normalize.Apply(FiveBandSample(2, 2), new Random(0)));
        Assert.Contains(message, error.Message);
    }

    [Fact]
    public void ClipListOfTheWrongLengthIsRefused()
    {
        var error = Assert.Throws<InvalidDataException>(() => new Clip(minValue: [0, 0], maxValue: [1]).Apply(FiveBandSample(2, 2), new Random(0)));
        Assert.Contains("Clip: min_val has 2 values but the image has 5 bands", error.Message);
    }
}
