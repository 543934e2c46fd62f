namespace SharpSeg.Data.Tests.Imaging;

public class BmpTests
{
    public static TheoryData<string> BmpFiles => GoldenImages.Files("bmp_", ".bmp");

    [Theory]
    [MemberData(nameof(BmpFiles))]
    public void Decodes_like_pillow(string file)
    {
        var expected = GoldenImages.Expected(Path.GetFileNameWithoutExtension(file));

        var actual = ImageFile.Read(GoldenImages.PathOf(file));

        GoldenImages.AssertSame(expected, actual, file);
    }

    [Theory]
    [InlineData("bmp_8_palette_pil")]
    [InlineData("bmp_4_palette_topdown")]
    public void Returns_palette_indices_when_asked(string name)
    {
        var expected = GoldenImages.Expected(name, ".index");

        var actual = ImageFile.Read(GoldenImages.PathOf(name + ".bmp"), new ImageReadOptions { Palette = PaletteMode.Index });

        GoldenImages.AssertSame(expected, actual, name);
    }

    [Fact]
    public void Bgr_order_swaps_red_and_blue()
    {
        var rgb = (Image<byte>)GoldenImages.Expected("bmp_24_topdown");

        var bgr = (Image<byte>)ImageFile.Read(GoldenImages.PathOf("bmp_24_topdown.bmp"), new ImageReadOptions { ChannelOrder = ChannelOrder.Bgr });

        for (int i = 0; i < rgb.Pixels.Length; i += 3)
            Assert.Equal((rgb.Pixels[i], rgb.Pixels[i + 2]), (bgr.Pixels[i + 2], bgr.Pixels[i]));
    }

    [Fact]
    public void Truncated_pixel_data_is_reported()
    {
        byte[] bmp = File.ReadAllBytes(GoldenImages.PathOf("bmp_24_pil.bmp"));

        var error = Assert.Throws<ImageFormatException>(() => ImageFile.Decode(bmp[..^10], "cut.bmp"));

        Assert.Equal($"cut.bmp: truncated at offset {bmp.Length - 10}: 13×11 24-bit pixel data needs {bmp.Length} bytes from offset 54", error.Message);
    }

    [Fact]
    public void Run_length_compression_is_reported_as_unsupported()
    {
        byte[] bmp = File.ReadAllBytes(GoldenImages.PathOf("bmp_8_palette_pil.bmp"));
        bmp[30] = 1;

        var error = Assert.Throws<ImageFormatException>(() => ImageFile.Decode(bmp, "rle.bmp"));

        Assert.Equal("rle.bmp: unsupported BMP compression BI_RLE8", error.Message);
    }
}
