namespace SharpSeg.Data.Tests.Imaging;

public class PngTests
{
    public static TheoryData<string> PngFiles => GoldenImages.Files("png_", ".png");

    [Theory]
    [MemberData(nameof(PngFiles))]
    public void Decodes_every_colour_type_depth_and_interlace_like_the_reference(string file)
    {
        string name = Path.GetFileNameWithoutExtension(file);
        var expected = GoldenImages.Expected(name);

        var actual = ImageFile.Read(GoldenImages.PathOf(file));

        GoldenImages.AssertSame(expected, actual, file);
    }

    [Theory]
    [MemberData(nameof(PngFiles))]
    public void Expands_palettes_to_rgb_when_asked(string file)
    {
        string name = Path.GetFileNameWithoutExtension(file);
        if (!File.Exists(GoldenImages.PathOf(name + ".rgb.expected.npy")))
            return;
        var expected = GoldenImages.Expected(name, ".rgb");

        var actual = ImageFile.Read(GoldenImages.PathOf(file), new ImageReadOptions { Palette = PaletteMode.Rgb });

        GoldenImages.AssertSame(expected, actual, file);
    }

    [Fact]
    public void Bgr_order_swaps_red_and_blue()
    {
        var rgb = (Image<byte>)ImageFile.Read(GoldenImages.PathOf("png_pil_rgba.png"));

        var bgr = (Image<byte>)ImageFile.Read(GoldenImages.PathOf("png_pil_rgba.png"), new ImageReadOptions { ChannelOrder = ChannelOrder.Bgr });

        Assert.Equal(4, bgr.Channels);
        for (int y = 0; y < rgb.Height; y++)
            for (int x = 0; x < rgb.Width; x++)
                Assert.Equal((rgb[y, x, 2], rgb[y, x, 1], rgb[y, x, 0], rgb[y, x, 3]), (bgr[y, x, 0], bgr[y, x, 1], bgr[y, x, 2], bgr[y, x, 3]));
    }

    public static TheoryData<int, int, int, bool> RoundTripCases => new()
    {
        { 1, 256, 8, false }, { 2, 256, 8, false }, { 3, 256, 8, false }, { 4, 256, 8, false },
        { 1, 65536, 16, false }, { 3, 65536, 16, false }, { 1, 21, 8, true },
    };

    [Theory]
    [MemberData(nameof(RoundTripCases))]
    public void Encoded_images_decode_to_the_same_samples(int channels, int range, int bitDepth, bool withPalette)
    {
        Image image = bitDepth == 16
            ? GoldenImages.Random<ushort>(19, 37, channels, range, seed: channels)
            : GoldenImages.Random<byte>(19, 37, channels, range, seed: channels);
        var palette = withPalette ? Enumerable.Range(0, 21 * 3).Select(i => (byte)(i * 7)).ToArray() : null;

        byte[] png = PngEncoder.Encode(image, new PngWriteOptions { Palette = palette });
        var decoded = PngDecoder.Decode(png, "round trip");

        GoldenImages.AssertSame(image, decoded, "round trip");
        Assert.Equal(bitDepth, png[24]);
        Assert.Equal(withPalette ? 3 : channels switch { 1 => 0, 2 => 4, 3 => 2, _ => 6 }, png[25]);
        if (withPalette)
        {
            var rgb = (Image<byte>)PngDecoder.Decode(png, "round trip", new ImageReadOptions { Palette = PaletteMode.Rgb });
            var source = (Image<byte>)image;
            for (int i = 0; i < source.Pixels.Length; i++)
                Assert.Equal(palette![source.Pixels[i] * 3 + 2], rgb.Pixels[i * 3 + 2]);
        }
    }

    [Fact]
    public void Int_labels_in_byte_range_write_as_8_bit_gray()
    {
        var labels = GoldenImages.Random<int>(5, 7, 1, 256, seed: 3);

        byte[] png = PngEncoder.Encode(labels);
        var decoded = PngDecoder.Decode(png, "labels");

        Assert.Equal((8, 0), (png[24], png[25]));
        Assert.Equal(labels.Pixels.Select(v => (byte)v).ToArray(), Assert.IsType<Image<byte>>(decoded).Pixels);
    }

    [Fact]
    public void Int_labels_outside_byte_range_are_rejected_with_their_position()
    {
        var labels = new Image<int>(2, 3, 1);
        labels[1, 2] = 300;

        var error = Assert.Throws<ArgumentException>(() => PngEncoder.Encode(labels));

        Assert.Contains("300", error.Message);
        Assert.Contains("row 1, column 2", error.Message);
    }

    [Fact]
    public void WritePng_replaces_the_file_and_leaves_no_temporary_file()
    {
        string folder = Directory.CreateTempSubdirectory("sharpseg-png").FullName;
        try
        {
            string path = Path.Combine(folder, "mask.png");
            File.WriteAllText(path, "old content");
            var image = GoldenImages.Random<byte>(6, 5, 1, 256, seed: 4);

            ImageFile.WritePng(path, image);

            GoldenImages.AssertSame(image, ImageFile.Read(path), path);
            Assert.Equal(["mask.png"], Directory.GetFiles(folder).Select(Path.GetFileName));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void Crc_mismatch_names_the_file_and_chunk()
    {
        byte[] png = PngEncoder.Encode(GoldenImages.Random<byte>(4, 4, 3, 256, seed: 1));
        png[45] ^= 0x40;

        var error = Assert.Throws<ImageFormatException>(() => ImageFile.Decode(png, "broken.png"));

        Assert.StartsWith("broken.png: ", error.Message);
        Assert.Contains("CRC mismatch in chunk IDAT", error.Message);
    }

    [Theory]
    [InlineData(20)]
    [InlineData(40)]
    [InlineData(60)]
    public void Truncated_files_report_the_offset(int length)
    {
        string path = GoldenImages.PathOf("png_ct2_d8_16x16.png");
        byte[] png = File.ReadAllBytes(path)[..length];

        var error = Assert.Throws<ImageFormatException>(() => ImageFile.Decode(png, "cut.png"));

        Assert.StartsWith("cut.png: truncated at offset", error.Message);
    }

    [Fact]
    public void Reading_a_corrupt_file_names_its_path()
    {
        string path = Path.Combine(Path.GetTempPath(), $"sharpseg-bad-{Guid.NewGuid():N}.png");
        byte[] png = PngEncoder.Encode(GoldenImages.Random<byte>(4, 4, 1, 256, seed: 2));
        png[12] = (byte)'X';
        File.WriteAllBytes(path, png);
        try
        {
            var error = Assert.Throws<ImageFormatException>(() => ImageFile.Read(path));

            Assert.Equal(path, error.FileName);
            Assert.Contains(path, error.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Unknown_formats_and_empty_files_are_rejected()
    {
        Assert.Contains("empty", Assert.Throws<ImageFormatException>(() => ImageFile.Decode([], "a.png")).Message);
        Assert.Contains("unrecognised image format (first bytes 474946", Assert.Throws<ImageFormatException>(
            () => ImageFile.Decode("GIF89a.."u8, "b.gif")).Message);
    }
}
