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
    public void Stream_reads_use_the_given_name()
    {
        using var stream = File.OpenRead(GoldenImages.PathOf("corrupt_png_bad_filter.png"));

        var error = Assert.Throws<ImageFormatException>(() => ImageFile.Read(stream, "archive.zip:masks/0001.png"));

        Assert.StartsWith("archive.zip:masks/0001.png: invalid filter type 7", error.Message);
    }
}
