using SharpSeg.Data;
using SharpSeg.Training.Visualization;

namespace SharpSeg.Training.Tests.Visualization;

public sealed class LabelVisualizerTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "sharpseg-vis-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public void PaletteIsPaddleSegsColorMapList()
    {
        // get_color_map_list(256): the VOC bit-interleaved palette without its black first entry.
        var palette = LabelVisualizer.Palette();
        Assert.Equal(768, palette.Length);
        Assert.Equal(new byte[] { 128, 0, 0, 0, 128, 0, 128, 128, 0, 0, 0, 128, 128, 0, 128, 0, 128, 128, 128, 128, 128, 64, 0, 0 }, palette[..24]);
        Assert.Equal(new byte[] { 0, 0, 32 }, palette[765..]);   // class 255 = VOC label 256 = 0b100_000_000
        Assert.Equal(palette[..9], LabelVisualizer.Palette(3));
    }

    [Fact]
    public void PseudoColourAndOverlayBlendSixTenthsImage()
    {
        var labels = new Image<int>(1, 2, 1, [0, 2]);
        var image = new Image<byte>(1, 2, 3, [100, 200, 50, 10, 20, 255]);

        Assert.Equal(new byte[] { 128, 0, 0, 128, 128, 0 }, LabelVisualizer.PseudoColor(labels).Pixels);
        // 0.6·image + 0.4·colour: (60 + 51.2, 120, 30) and (6 + 51.2, 12 + 51.2, 153).
        Assert.Equal(new byte[] { 111, 120, 30, 57, 63, 153 }, LabelVisualizer.Overlay(image, labels).Pixels);
        var grey = new Image<byte>(1, 2, 1, [100, 10]);
        Assert.Equal(new byte[] { 111, 60, 60, 57, 57, 6 }, LabelVisualizer.Overlay(grey, labels).Pixels);
    }

    [Fact]
    public void A_16_bit_image_is_overlaid_by_its_high_byte_as_the_8_bit_image_it_stands_for()
    {
        var labels = new Image<int>(1, 2, 1, [0, 2]);
        var words = new Image<ushort>(1, 2, 3, [100 * 257, 200 * 256 + 255, 50 * 256, 10 * 257, 20 * 257, 65535]);

        Assert.Equal(new byte[] { 111, 120, 30, 57, 63, 153 }, LabelVisualizer.Overlay(words, labels).Pixels);
    }

    [Fact]
    public void PseudoColourPngReadsBackAsTheClassIds()
    {
        Directory.CreateDirectory(_root);
        var labels = new Image<int>(2, 3, 1, [0, 1, 2, 3, 255, 1]);
        string path = Path.Combine(_root, "pseudo.png");
        LabelVisualizer.WritePseudoColorPng(path, labels);
        var read = ImageFile.Read(path).ToInt32();
        Assert.Equal(labels.Pixels, read.Pixels);

        string labelPath = Path.Combine(_root, "label.png");
        LabelVisualizer.WriteLabelPng(labelPath, labels);
        Assert.Equal(labels.Pixels, ImageFile.Read(labelPath).ToInt32().Pixels);
    }

    [Fact]
    public void BadInputIsRefusedWithTheOffendingValue()
    {
        var error = Assert.Throws<ArgumentException>(() => LabelVisualizer.PseudoColor(new Image<int>(1, 2, 1, [0, 300])));
        Assert.Contains("300", error.Message);
        Assert.Throws<ArgumentException>(() => LabelVisualizer.Overlay(new Image<byte>(2, 2, 3), new Image<int>(1, 2, 1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => LabelVisualizer.Palette(257));
    }
}
