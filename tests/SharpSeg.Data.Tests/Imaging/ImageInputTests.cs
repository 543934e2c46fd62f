namespace SharpSeg.Data.Tests.Imaging;

/// <summary><see cref="ImageInput"/>: the one reading of model inputs shared by datasets and prediction.</summary>
public class ImageInputTests
{
    private static bool IsSixteenBit(string file) => file.Contains("_d16_") || file == "png_pil_gray16.png";

    public static TheoryData<string> EightBitFiles() => Fixtures(file => !IsSixteenBit(file));

    public static TheoryData<string> SixteenBitFiles() => Fixtures(IsSixteenBit);

    private static TheoryData<string> Fixtures(Func<string, bool> wanted)
    {
        var data = new TheoryData<string>();
        foreach (string path in Directory.GetFiles(GoldenImages.Folder).Order(StringComparer.Ordinal))
        {
            string file = Path.GetFileName(path);
            bool image = file.StartsWith("png_") && file.EndsWith(".png") || file.StartsWith("bmp_") && file.EndsWith(".bmp") ||
                         (file.StartsWith("jpg_") || file.StartsWith("exif_")) && file.EndsWith(".jpg");
            if (image && wanted(file)) data.Add(file);
        }
        return data;
    }

    // Segmenter.ReadImage read three-channel inputs with ForceRgb before; 8-bit (and lower) files must stay byte for byte the same.
    [Theory]
    [MemberData(nameof(EightBitFiles))]
    public void Three_channels_of_an_8_bit_file_are_exactly_what_ForceRgb_gives(string file)
    {
        string path = GoldenImages.PathOf(file);
        var expected = (Image<byte>)ImageFile.Read(path, new ImageReadOptions { ForceRgb = true });

        GoldenImages.AssertSame(expected, ImageInput.Read(path, channels: 3), file);
    }

    [Theory]
    [MemberData(nameof(SixteenBitFiles))]
    public void Three_channels_of_a_16_bit_png_keep_every_sample_whose_high_byte_ForceRgb_gives(string file)
    {
        string path = GoldenImages.PathOf(file);
        var stored = (Image<ushort>)ImageFile.Read(path);
        var highBytes = (Image<byte>)ImageFile.Read(path, new ImageReadOptions { ForceRgb = true });

        var input = Assert.IsType<Image<ushort>>(ImageInput.Read(path, channels: 3));

        Assert.Equal((stored.Height, stored.Width, 3), (input.Height, input.Width, input.Channels));
        for (int p = 0; p < stored.Height * stored.Width; p++)
            for (int c = 0; c < 3; c++)
            {
                // Grey (+alpha) is repeated, RGB(A) keeps its first three samples.
                ushort expected = stored.Pixels[p * stored.Channels + (stored.Channels <= 2 ? 0 : c)];
                Assert.Equal(expected, input.Pixels[3 * p + c]);
                Assert.Equal(highBytes.Pixels[3 * p + c], (byte)(expected >> 8));
            }
        Assert.Contains(input.Pixels, sample => sample % 256 != 0);
    }

    [Fact]
    public void One_channel_is_rounded_luma_of_colour_and_grey_without_alpha_in_the_stored_type()
    {
        var rgba = new Image<ushort>(1, 2, 4, [1000, 2000, 3000, 65535, 65535, 65535, 65535, 0]);
        var greyAlpha = new Image<byte>(1, 2, 2, [7, 255, 9, 0]);

        var luma = Assert.IsType<Image<ushort>>(ImageInput.ConvertChannels(rgba, 1, "rgba"));
        var grey = Assert.IsType<Image<byte>>(ImageInput.ConvertChannels(greyAlpha, 1, "grey"));

        Assert.Equal([(ushort)MathF.Round(0.299f * 1000 + 0.587f * 2000 + 0.114f * 3000), (ushort)65535], luma.Pixels);
        Assert.Equal([7, 9], grey.Pixels);
    }

    [Fact]
    public void An_npy_array_gets_the_asked_channels_and_keeps_its_values()
    {
        using var folder = new Datasets.TempTree();
        string path = folder.PathOf("bands.npy");
        ImageFile.WriteNpy(path, new Image<ushort>(1, 2, 1, [4095, 17]));

        var input = Assert.IsType<Image<ushort>>(ImageInput.Read(path, channels: 3));

        Assert.Equal([4095, 4095, 4095, 17, 17, 17], input.Pixels);
        Assert.Same(ImageFile.Read(path).GetType(), ImageInput.Read(path, channels: null).GetType());
    }

    [Fact]
    public void Channels_that_cannot_be_converted_name_the_file()
    {
        var bands = new Image<float>(1, 1, 5);

        var error = Assert.Throws<InvalidDataException>(() => ImageInput.ConvertChannels(bands, 3, "scene.npy"));

        Assert.Equal("Image scene.npy has 5 channels, which cannot be converted to 3.", error.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => ImageInput.ConvertChannels(bands, 2, "scene.npy"));
    }
}
