namespace SharpSeg.Data.Tests.Imaging;

public class JpegTests
{
    public static TheoryData<string> JpegFiles => GoldenImages.Files("jpg_", ".jpg");

    // libjpeg-turbo (through Pillow) decoded the fixtures; with the same IDCT, upsampling and colour
    // conversion the managed decoder reproduces every sample exactly, for every sampling layout.
    [Theory]
    [MemberData(nameof(JpegFiles))]
    public void Decodes_exactly_like_libjpeg_turbo(string file)
    {
        var expected = GoldenImages.Expected(Path.GetFileNameWithoutExtension(file));

        var actual = ImageFile.Read(GoldenImages.PathOf(file));

        GoldenImages.AssertSame(expected, actual, file);
    }

    [Fact]
    public void Bgr_order_swaps_red_and_blue()
    {
        string path = GoldenImages.PathOf("jpg_420_33x17.jpg");
        var rgb = (Image<byte>)ImageFile.Read(path);

        var bgr = (Image<byte>)ImageFile.Read(path, new ImageReadOptions { ChannelOrder = ChannelOrder.Bgr });

        for (int i = 0; i < rgb.Pixels.Length; i += 3)
            Assert.Equal((rgb.Pixels[i], rgb.Pixels[i + 1], rgb.Pixels[i + 2]), (bgr.Pixels[i + 2], bgr.Pixels[i + 1], bgr.Pixels[i]));
    }

    [Theory]
    [InlineData("jpg_420_67x45.jpg")]
    [InlineData("jpg_444_67x45_progressive.jpg")]
    [InlineData("jpg_420_restart3.jpg")]
    public void Truncated_files_report_truncation_and_name_the_file(string file)
    {
        byte[] jpeg = File.ReadAllBytes(GoldenImages.PathOf(file));
        byte[] cut = jpeg[..(jpeg.Length * 2 / 3)];

        var error = Assert.Throws<ImageFormatException>(() => ImageFile.Decode(cut, "cut.jpg"));

        Assert.StartsWith("cut.jpg: truncated at offset", error.Message);
    }

    [Fact]
    public void Arithmetic_coding_is_reported_as_an_unsupported_process()
    {
        byte[] jpeg = File.ReadAllBytes(GoldenImages.PathOf("jpg_444_16x16.jpg"));
        int sof = IndexOfMarker(jpeg, 0xC0);
        jpeg[sof + 1] = 0xC9;

        var error = Assert.Throws<ImageFormatException>(() => ImageFile.Decode(jpeg, "arith.jpg"));

        Assert.Equal($"arith.jpg: unsupported JPEG process: extended sequential arithmetic (SOF9 at offset {sof})", error.Message);
    }

    [Fact]
    public void A_wrong_restart_marker_is_reported_with_its_offset()
    {
        byte[] jpeg = File.ReadAllBytes(GoldenImages.PathOf("jpg_420_restart3.jpg"));
        int rst0 = IndexOfMarker(jpeg, 0xD0, start: IndexOfMarker(jpeg, 0xDA));
        jpeg[rst0 + 1] = 0xD5;

        var error = Assert.Throws<ImageFormatException>(() => ImageFile.Decode(jpeg, "rst.jpg"));

        Assert.Contains($"rst.jpg: expected restart marker RST0 at offset {rst0}, found FFD5", error.Message);
    }

    [Fact]
    public void Missing_tables_are_reported()
    {
        byte[] jpeg = File.ReadAllBytes(GoldenImages.PathOf("jpg_gray_16x16.jpg"));
        int dqt = IndexOfMarker(jpeg, 0xDB);
        jpeg[dqt + 1] = 0xFE;

        var error = Assert.Throws<ImageFormatException>(() => ImageFile.Decode(jpeg, "noq.jpg"));

        Assert.Contains("quantization table 0, which no DQT defines", error.Message);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(7)]
    [InlineData(8)]
    public void Applies_exif_orientation_like_pillow_exif_transpose_when_asked(int orientation)
    {
        string name = $"exif_orientation{orientation}";
        var expected = GoldenImages.Expected(name);

        var actual = ImageFile.Read(GoldenImages.PathOf(name + ".jpg"), new ImageReadOptions { ApplyExifOrientation = true });

        GoldenImages.AssertSame(expected, actual, name);
    }

    [Fact]
    public void Malformed_exif_counts_as_upright()
    {
        Assert.Equal(1, ExifOrientation.Read("Exif\0\0II*\0\xFF\0\0\0"u8));
        Assert.Equal(1, ExifOrientation.Read("XMP data"u8));
    }

    [Fact]
    public void A_real_arithmetic_coded_file_is_rejected_by_name()
    {
        string path = GoldenImages.PathOf("unsupported_arithmetic.jpg");

        var error = Assert.Throws<ImageFormatException>(() => ImageFile.Read(path));

        Assert.StartsWith($"{path}: unsupported JPEG process: extended sequential arithmetic (SOF9 at offset", error.Message);
    }

    private static int IndexOfMarker(byte[] data, byte marker, int start = 2)
    {
        for (int i = start; i + 1 < data.Length; i++)
            if (data[i] == 0xFF && data[i + 1] == marker)
                return i;
        throw new InvalidOperationException($"marker FF{marker:X2} not found");
    }
}
