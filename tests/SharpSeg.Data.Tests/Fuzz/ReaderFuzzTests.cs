using SharpSeg.Data.Tests.Imaging;
using SharpSeg.Tests.Fuzz;
using Xunit.Abstractions;

namespace SharpSeg.Data.Tests.Fuzz;

/// <summary>
/// Seeded mutation fuzzing of every image reader: a few thousand deterministic mutations of the small fixtures per
/// format, each of which must decode or fail with <see cref="ImageFormatException"/> — never another exception.
/// The pixel limit is cut to 65,536 so that no mutated size can make a case allocate more than a few megabytes.
/// </summary>
public class ReaderFuzzTests(ITestOutputHelper output)
{
    private static readonly int CasesPerFormat = FuzzReport.CasesPerFormat(3000);

    private static readonly ReadLimits Limits = new(MaxPixels: 1 << 16, MaxJpegScans: ImageLimits.DefaultMaxJpegScans);

    private static readonly ImageReadOptions[] Options =
    [
        ImageReadOptions.Default,
        new() { ForceRgb = true },
        new() { Palette = PaletteMode.Rgb, ChannelOrder = ChannelOrder.Bgr },
        new() { Palette = PaletteMode.Index },
        new() { ApplyExifOrientation = true },
    ];

    private static List<(string, byte[])> Seeds(Func<string, bool> select) =>
        [.. Directory.GetFiles(GoldenImages.Folder).Select(Path.GetFileName).Where(f => select(f!)).Order(StringComparer.Ordinal)
            .Select(f => (f!, File.ReadAllBytes(GoldenImages.PathOf(f!))))];

    private void Fuzz(string format, List<(string, byte[])> seeds, Mutator mutator, int seed, int? cases = null)
    {
        int count = cases ?? CasesPerFormat;
        Assert.NotEmpty(seeds);

        var report = FuzzReport.Run<ImageFormatException>(format, seeds, count, seed, mutator,
            (data, random) => ImageFile.Decode(data, "fuzz", Options[random.Next(Options.Length)], Limits));

        output.WriteLine(report.ToString());
        Assert.True(report.Failures.Count == 0, report.ToString());
        // Both outcomes must be common, or the mutations are too mild (all decode) or too wild (none get past the header).
        Assert.InRange(report.Decoded, count / 20, count);
        Assert.InRange(report.Refused, count / 20, count);
    }

    [Fact]
    public void Png_mutations_decode_or_fail_with_ImageFormatException() =>
        Fuzz("PNG", Seeds(f => f.StartsWith("png_", StringComparison.Ordinal) && (f.EndsWith("_16x16.png", StringComparison.Ordinal) || f.EndsWith("_adam7.png", StringComparison.Ordinal))),
            new Mutator(ImageFuzzFormats.PngEdits, ImageFuzzFormats.RepairPngCrcs), seed: 1);

    [Fact]
    public void Baseline_jpeg_mutations_decode_or_fail_with_ImageFormatException() =>
        Fuzz("JPEG baseline", Seeds(f => f is "jpg_444_16x16.jpg" or "jpg_422_16x16.jpg" or "jpg_420_16x16.jpg" or "jpg_gray_16x16.jpg"
                or "jpg_420_restart3.jpg" or "jpg_444_sequential_scans.jpg" or "jpg_420_16bit_quant.jpg" or "exif_orientation6.jpg"),
            new Mutator(ImageFuzzFormats.JpegEdits), seed: 2);

    [Fact]
    public void Progressive_jpeg_mutations_decode_or_fail_with_ImageFormatException() =>
        Fuzz("JPEG progressive", Seeds(f => f.EndsWith("_16x16_progressive.jpg", StringComparison.Ordinal)
                || f is "jpg_gray_progressive_restart.jpg" or "jpg_420_progressive_restart2.jpg"),
            new Mutator(ImageFuzzFormats.JpegEdits), seed: 3);

    [Fact]
    public void Bmp_mutations_decode_or_fail_with_ImageFormatException() =>
        Fuzz("BMP", Seeds(f => f.StartsWith("bmp_", StringComparison.Ordinal) && f.EndsWith(".bmp", StringComparison.Ordinal)),
            new Mutator(ImageFuzzFormats.BmpEdits), seed: 4);

    [Fact]
    public void Npy_mutations_decode_or_fail_with_ImageFormatException()
    {
        var seeds = Seeds(f => f.StartsWith("npy_", StringComparison.Ordinal) && f.EndsWith(".npy", StringComparison.Ordinal) && !f.Contains(".expected", StringComparison.Ordinal));
        seeds.Add(("uint8 4x4x3", Npy.Encode(GoldenImages.Random<byte>(4, 4, 3, 256, seed: 5))));
        seeds.Add(("float 3x5", Npy.Encode(GoldenImages.Random<float>(3, 5, 1, 100, seed: 6))));
        Fuzz("NPY", seeds, new Mutator(ImageFuzzFormats.NpyEdits, ImageFuzzFormats.RepairNpyLength), seed: 5);
    }

    [Fact]
    public void Tiff_mutations_decode_or_fail_with_ImageFormatException()
    {
        string folder = Path.Combine(AppContext.BaseDirectory, "Golden", "Tiff");
        var seeds = Directory.GetFiles(folder, "*.tif").Order(StringComparer.Ordinal)
            .Select(path => (Path.GetFileName(path), File.ReadAllBytes(path))).ToList();
        Fuzz("TIFF", seeds, new Mutator(ImageFuzzFormats.TiffEdits), seed: 6, cases: CasesPerFormat / 3);
    }
}
