namespace SharpSeg.Data.Tests.Imaging;

/// <summary>Hand-made broken files (tools/gen_image_fixtures.py, corrupt_fixtures) and what the error must say.</summary>
public class CorruptFileTests
{
    [Theory]
    [InlineData("corrupt_png_bad_filter.png", "invalid filter type 7 in row 1 of the image")]
    [InlineData("corrupt_png_short_idat.png", "IDAT data truncated: inflated 10 of 15 pixel-data bytes")]
    [InlineData("corrupt_png_bad_zlib.png", "corrupt zlib data in IDAT")]
    [InlineData("corrupt_png_unknown_critical.png", "unknown critical chunk ABCD at offset 33")]
    [InlineData("corrupt_png_missing_plte.png", "palette PNG has no PLTE chunk")]
    [InlineData("corrupt_png_bad_depth.png", "bit depth 4 is not allowed for PNG colour type 2")]
    [InlineData("corrupt_png_huge_header.png", "PNG is 20000×20000 = 400000000 pixels, more than the limit of 178956970 (ImageLimits.MaxPixels")]
    [InlineData("corrupt_jpg_bad_huffman.jpg", "corrupt JPEG data: invalid DC Huffman code in component 1")]
    public void Errors_name_the_file_and_the_problem(string file, string problem)
    {
        string path = GoldenImages.PathOf(file);

        var error = Assert.Throws<ImageFormatException>(() => ImageFile.Read(path));

        Assert.StartsWith($"{path}: {problem}", error.Message);
        Assert.Equal(path, error.FileName);
    }

    [Fact]
    public void Out_of_range_palette_indices_fail_only_when_expanding()
    {
        string path = GoldenImages.PathOf("corrupt_png_palette_index.png");

        var indices = (Image<byte>)ImageFile.Read(path);
        var error = Assert.Throws<ImageFormatException>(() => ImageFile.Read(path, new ImageReadOptions { Palette = PaletteMode.Rgb }));

        Assert.Equal(5, indices[1, 2]);
        Assert.Equal($"{path}: palette index 5 at row 1, column 2 is outside the 3-entry PLTE", error.Message);
    }

    [Fact]
    public void A_jpeg_header_claiming_more_blocks_than_the_file_can_hold_is_rejected_before_allocating()
    {
        byte[] jpeg = File.ReadAllBytes(GoldenImages.PathOf("jpg_444_16x16.jpg"));
        int sof = Array.FindIndex(jpeg, 2, i => i == 0xC0) - 1;
        jpeg[sof + 5] = jpeg[sof + 6] = jpeg[sof + 7] = jpeg[sof + 8] = 0xEA;

        var error = Assert.Throws<ImageFormatException>(() => ImageFile.Decode(jpeg, "huge.jpg"));

        Assert.StartsWith("huge.jpg: truncated: a 60138×60138 JPEG needs at least one bit per 8×8 block", error.Message);
    }

    // Random truncations and byte flips of every fixture: decoding either succeeds or fails with an
    // ImageFormatException, never with an index, overflow or argument exception from inside a codec.
    [Fact]
    public void Mangled_files_fail_only_with_format_exceptions()
    {
        var files = Directory.GetFiles(GoldenImages.Folder)
            .Where(f => !f.EndsWith(".expected.npy", StringComparison.Ordinal) && !f.EndsWith(".txt", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal).ToArray();
        var random = new Random(1234);
        foreach (string file in files)
        {
            byte[] original = File.ReadAllBytes(file);
            for (int trial = 0; trial < 3; trial++)
            {
                byte[] data = trial == 0 ? original[..random.Next(original.Length)] : (byte[])original.Clone();
                if (trial > 0)
                    for (int flips = random.Next(1, 4); flips > 0; flips--)
                        data[random.Next(data.Length)] ^= (byte)random.Next(1, 256);
                try
                {
                    ImageFile.Decode(data, "mangled");
                }
                catch (ImageFormatException)
                {
                }
                catch (Exception e)
                {
                    Assert.Fail($"{Path.GetFileName(file)} trial {trial}: {e.GetType().Name}: {e.Message}");
                }
            }
        }
    }

    [Fact]
    public void Stream_reads_use_the_given_name()
    {
        using var stream = File.OpenRead(GoldenImages.PathOf("corrupt_png_bad_filter.png"));

        var error = Assert.Throws<ImageFormatException>(() => ImageFile.Read(stream, "archive.zip:masks/0001.png"));

        Assert.StartsWith("archive.zip:masks/0001.png: invalid filter type 7", error.Message);
    }
}
