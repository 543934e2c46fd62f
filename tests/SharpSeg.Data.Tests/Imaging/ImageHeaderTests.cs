namespace SharpSeg.Data.Tests.Imaging;

/// <summary><see cref="ImageHeader"/> agrees with the decoders on every fixture, and finds missing data without decoding.</summary>
public class ImageHeaderTests
{
    private static readonly (string Name, ImageReadOptions Options)[] OptionSets =
    [
        ("default", ImageReadOptions.Default),
        ("palette index", new ImageReadOptions { Palette = PaletteMode.Index }),
        ("palette rgb", new ImageReadOptions { Palette = PaletteMode.Rgb }),
        ("force rgb", new ImageReadOptions { ForceRgb = true }),
        ("exif", new ImageReadOptions { ApplyExifOrientation = true }),
    ];

    public static TheoryData<string> Fixtures()
    {
        var data = new TheoryData<string>();
        foreach (string path in Directory.GetFiles(GoldenImages.Folder).Order(StringComparer.Ordinal))
            if (Path.GetExtension(path) is ".png" or ".jpg" or ".bmp" or ".npy" && !path.Contains(".expected"))
                data.Add(Path.GetFileName(path));
        return data;
    }

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void Size_and_channels_are_what_the_decoder_returns(string file)
    {
        string path = GoldenImages.PathOf(file);
        foreach (var (name, options) in OptionSets)
        {
            Image decoded;
            try
            {
                decoded = ImageFile.Read(path, options);
            }
            catch (ImageFormatException)
            {
                // The probe reads headers only, so it may pass a file whose pixel data is corrupt; it may never throw anything else.
                var error = Record.Exception(() => ImageHeader.Read(path, options));
                Assert.True(error is null or ImageFormatException, $"{file} ({name}): {error}");
                continue;
            }
            var info = ImageHeader.Read(path, options);
            Assert.True((decoded.Width, decoded.Height, decoded.Channels) == (info.Width, info.Height, info.Channels),
                $"{file} ({name}): decoded {decoded.Width}×{decoded.Height}×{decoded.Channels}, header says {info.Width}×{info.Height}×{info.Channels}");
        }
    }

    [Theory]
    [InlineData("png_ct2_d8_13x11.png", "truncated at offset")]
    [InlineData("bmp_24_pil.bmp", "truncated at offset")]
    [InlineData("npy_uint8_hw.npy", "truncated at offset")]
    public void A_file_cut_short_is_refused_from_its_headers(string file, string problem)
    {
        string path = Path.Combine(Path.GetTempPath(), $"sharpseg-header-{Guid.NewGuid():N}{Path.GetExtension(file)}");
        byte[] bytes = File.ReadAllBytes(GoldenImages.PathOf(file));
        File.WriteAllBytes(path, bytes[..(bytes.Length * 2 / 3)]);
        try
        {
            var error = Assert.Throws<ImageFormatException>(() => ImageHeader.Read(path));
            Assert.Equal(path, error.FileName);
            Assert.StartsWith(problem, error.Problem);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Empty_and_unknown_files_are_refused()
    {
        string path = Path.Combine(Path.GetTempPath(), $"sharpseg-header-{Guid.NewGuid():N}.png");
        try
        {
            File.WriteAllBytes(path, []);
            Assert.Equal("file is empty", Assert.Throws<ImageFormatException>(() => ImageHeader.Read(path)).Problem);
            File.WriteAllBytes(path, "GIF89a.."u8.ToArray());
            Assert.StartsWith("unrecognised image format (first bytes 474946383961", Assert.Throws<ImageFormatException>(() => ImageHeader.Read(path)).Problem);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
