using SharpSeg.Data;
using SharpSeg.Training.Visualization;

namespace SharpSeg.Training.Tests.Visualization;

public class DisplayBandsTests
{
    [Fact]
    public void SixteenBitBandsAreStretchedFromTheSavedRangePerBand()
    {
        // 1×2 image of 4 bands; shown as bands 4,2,1 with min_val 0 and max_val [1000, 2000, 3000, 4000].
        var image = new Image<ushort>(1, 2, 4, [100, 500, 0, 4000, 1000, 2000, 0, 2000]);
        var shown = DisplayBands.Compose(image, [4, 2, 1], [0], [1000, 2000, 3000, 4000]);
        // 4000/4000·255 = 255, 500/2000·255 = 63.75 → 64, 100/1000·255 = 25.5 → 26 (half to even); 2000/4000 → 127.5 → 128, 1, 1 → 255.
        Assert.Equal([255, 64, 26, 128, 255, 255], shown.Pixels);
    }

    [Fact]
    public void WithoutASavedRangeFloatBandsAreStretchedFromTheirOwnMinimumAndMaximum()
    {
        var image = new Image<float>(1, 3, 2, [-1, 5, 0, 5, 3, 5]);
        var shown = DisplayBands.Compose(image, [1]);
        // Band 1 spans −1…3: −1 → 0, 0 → 63.75 → 64, 3 → 255, repeated as grey.
        Assert.Equal([0, 0, 0, 64, 64, 64, 255, 255, 255], shown.Pixels);
        // Band 2 holds one value: shown as 0 rather than divided by zero.
        Assert.All(DisplayBands.Compose(image, [2]).Pixels, value => Assert.Equal(0, value));
    }

    [Theory]
    [InlineData("3,2", "takes three bands (red, green, blue) or one (grey), got 2")]
    [InlineData("0,1,2", "band 0 does not exist; the image has bands 1–4")]
    [InlineData("r,g,b", "expects 1-based band numbers separated by commas")]
    public void BadBandListsAreRefused(string text, string message)
    {
        var error = Assert.Throws<ArgumentException>(() => DisplayBands.Parse(text, 4));
        Assert.Contains(message, error.Message);
    }
}
