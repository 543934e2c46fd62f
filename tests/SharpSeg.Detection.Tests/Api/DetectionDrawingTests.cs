using SharpSeg.Data;
using SharpSeg.Detection.Data;
using SharpSeg.Detection.Visualization;

namespace SharpSeg.Detection.Tests.Api;

/// <summary>
/// <see cref="DetectionDrawing"/> pixel for pixel on tiny images: box outlines, mask blending and the label tag's glyphs.
/// Label 1's colour is PaddleSeg's palette entry 1, (0, 128, 0); label 2's is (128, 128, 0).
/// </summary>
public class DetectionDrawingTests
{
    private static Image<byte> Grey(int height, int width, byte value)
    {
        var pixels = new byte[height * width * 3];
        Array.Fill(pixels, value);
        return new Image<byte>(height, width, 3, pixels);
    }

    private static (byte, byte, byte) Pixel(Image<byte> image, int y, int x) => (image[y, x, 0], image[y, x, 1], image[y, x, 2]);

    [Fact]
    public void BoxOutlineIsTwoPixelsInsideTheRoundedOutBoxAndLeavesTheRestAlone()
    {
        var image = Grey(12, 16, 100);
        // Box [2.4, 3, 9.2, 10] covers columns 2…9 and rows 3…9.
        var prediction = new DetectionPrediction([2.4f, 3f, 9.2f, 10f], [0.9f], [1]);
        var drawn = DetectionDrawing.Draw(image, prediction, ["background", "thing"], drawLabels: false);

        for (int y = 0; y < 12; y++)
            for (int x = 0; x < 16; x++)
            {
                bool inBox = x >= 2 && x <= 9 && y >= 3 && y <= 9;
                bool onOutline = inBox && (x <= 3 || x >= 8 || y <= 4 || y >= 8);
                Assert.Equal(onOutline ? ((byte)0, (byte)128, (byte)0) : ((byte)100, (byte)100, (byte)100), Pixel(drawn, y, x));
            }
        Assert.Equal((100, 100, 100), Pixel(image, 3, 2));
    }

    [Fact]
    public void MaskBlendsHalfTheClassColourIntoTheImage()
    {
        var image = Grey(4, 5, 100);
        var masks = new InstanceMasks(1, 4, 5);
        masks[0][1 * 5 + 2] = 1;
        masks[0][2 * 5 + 3] = 1;
        // A box outside the image is clipped away entirely, so only the mask shows.
        var prediction = new DetectionPrediction([10f, 10f, 12f, 12f], [0.8f], [2], masks);
        var drawn = DetectionDrawing.Draw(image, prediction, ["background", "a", "b"], drawLabels: false);

        for (int y = 0; y < 4; y++)
            for (int x = 0; x < 5; x++)
            {
                bool masked = (y, x) is (1, 2) or (2, 3);
                // 0.5 × 100 + 0.5 × (128, 128, 0) = (114, 114, 50).
                Assert.Equal(masked ? ((byte)114, (byte)114, (byte)50) : ((byte)100, (byte)100, (byte)100), Pixel(drawn, y, x));
            }
    }

    [Fact]
    public void LabelTagSitsAboveTheBoxWithWhiteGlyphsOnTheClassColour()
    {
        var image = Grey(40, 80, 200);
        var prediction = new DetectionPrediction([5f, 20f, 60f, 35f], [0.5f], [1]);
        var drawn = DetectionDrawing.Draw(image, prediction, ["background", "T"], drawLabels: true);

        // Text "T 0.50": tag rows 11…19 (9 high, ending just above the box's top row 20), columns 5 … 5 + (6·6 − 1) + 1 = 41.
        var green = ((byte)0, (byte)128, (byte)0);
        var white = ((byte)255, (byte)255, (byte)255);
        Assert.Equal(green, Pixel(drawn, 11, 5));
        Assert.Equal(green, Pixel(drawn, 19, 40));
        Assert.Equal(green, Pixel(drawn, 19, 41));
        Assert.Equal((200, 200, 200), Pixel(drawn, 19, 42));
        Assert.Equal((200, 200, 200), Pixel(drawn, 10, 5));
        // The T glyph's top bar is glyph row 0 (tag row 12), columns 6…10; its stem is column 8 below it.
        for (int x = 6; x <= 10; x++) Assert.Equal(white, Pixel(drawn, 12, x));
        Assert.Equal(white, Pixel(drawn, 18, 8));
        Assert.Equal(green, Pixel(drawn, 18, 7));
        // The box outline still starts on row 20.
        Assert.Equal(green, Pixel(drawn, 20, 30));
        Assert.Equal((200, 200, 200), Pixel(drawn, 22, 30));
    }

    [Fact]
    public void TagOfABoxAtTheTopEdgeGoesInsideTheBox()
    {
        var image = Grey(30, 60, 200);
        var drawn = DetectionDrawing.Draw(image, new DetectionPrediction([0f, 0f, 50f, 25f], [1f], [1]), ["background", "T"]);
        // Rows 0…8 hold the tag; the T bar is row 1, columns 1…5.
        for (int x = 1; x <= 5; x++) Assert.Equal(((byte)255, (byte)255, (byte)255), Pixel(drawn, 1, x));
        Assert.Equal(((byte)0, (byte)128, (byte)0), Pixel(drawn, 8, 20));
    }

    [Fact]
    public void MasksOfAnotherSizeAreRefusedNamingBothSizes()
    {
        var error = Assert.Throws<ArgumentException>(() =>
            DetectionDrawing.Draw(Grey(4, 5, 0), new DetectionPrediction([0, 0, 1, 1], [1], [1], new InstanceMasks(1, 3, 5)), ["bg", "a"]));
        Assert.Contains("3×5", error.Message);
        Assert.Contains("4×5", error.Message);
    }
}
