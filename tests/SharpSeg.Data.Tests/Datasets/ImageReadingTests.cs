using SharpSeg.Data.Datasets;

namespace SharpSeg.Data.Tests.Datasets;

/// <summary>File datasets read images with <see cref="ImageInput"/>, the reading prediction uses, and describe their values.</summary>
public class ImageReadingTests
{
    /// <summary>A 16-bit RGB image of 12-bit data: pixel (y, x) is (4095 − 100·y, 37·x, 1000).</summary>
    internal static Image<ushort> TwelveBitRgb(int height, int width)
    {
        var image = new Image<ushort>(height, width, 3);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                image[y, x, 0] = (ushort)(4095 - 100 * y);
                image[y, x, 1] = (ushort)(37 * x);
                image[y, x, 2] = 1000;
            }
        return image;
    }

    [Fact]
    public void A_16_bit_image_loads_with_its_stored_values_as_prediction_reads_it()
    {
        using var tree = new TempTree();
        string image = tree.WriteImage("img/a.png", TwelveBitRgb(2, 3));
        tree.WriteImage("ann/a.png", TempTree.Label(2, 3, 0, 1, 2, 255, 1, 0));
        tree.WriteText("train.txt", "img/a.png ann/a.png\n");

        var sample = new FileListDataset(tree.Root, tree.PathOf("train.txt"), numClasses: 3).Load(0);

        Assert.Equal(SampleType.UInt16, sample.StoredSampleType);
        Assert.Equal([3995f, 74f, 1000f], sample.Image.Pixels[15..18]);   // pixel (1, 2)
        Assert.Equal(ImageInput.Read(image, channels: 3).ToFloat().Pixels, sample.Image.Pixels);
    }

    [Fact]
    public void A_palette_image_loads_as_its_colours_like_cv2_imread_colour()
    {
        using var tree = new TempTree();
        var palette = new byte[] { 10, 20, 30, 200, 100, 50 };
        tree.WriteImage("img/palette.png", new Image<byte>(1, 2, 1, [1, 0]), new PngWriteOptions { Palette = palette });
        tree.WriteImage("ann/a.png", TempTree.Label(1, 2, 0, 1));
        tree.WriteText("train.txt", "img/palette.png ann/a.png\n");

        var sample = new FileListDataset(tree.Root, tree.PathOf("train.txt"), numClasses: 3).Load(0);

        Assert.Equal([200f, 100f, 50f, 10f, 20f, 30f], sample.Image.Pixels);
        Assert.Equal(SampleType.UInt8, sample.StoredSampleType);
    }

    [Fact]
    public void Describe_reports_each_bit_depth_with_its_images_and_value_range()
    {
        using var tree = new TempTree();
        tree.WriteImage("img/a.png", TwelveBitRgb(2, 3));
        tree.WriteImage("img/b.png", TwelveBitRgb(3, 2));
        tree.WriteImage("img/c.png", TempTree.Rgb(2, 3, seed: 10));
        tree.WriteImage("ann/a.png", TempTree.Label(2, 3, 0, 0, 0, 0, 0, 0));
        tree.WriteImage("ann/b.png", TempTree.Label(3, 2, 0, 0, 0, 0, 0, 0));
        tree.WriteText("train.txt", "img/a.png ann/a.png\nimg/b.png ann/b.png\nimg/c.png ann/a.png\n");

        var report = new FileListDataset(tree.Root, tree.PathOf("train.txt"), numClasses: 3).Describe();

        Assert.Equal([new ImageValueRange(SampleType.UInt8, 1, 10, 12), new ImageValueRange(SampleType.UInt16, 2, 0, 4095)], report.ValueRanges);
        Assert.Contains("image values: 8-bit: 1 image, values 10–12; 16-bit: 2 images, values 0–4095", report.ToString());
    }
}
