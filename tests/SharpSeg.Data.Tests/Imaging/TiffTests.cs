namespace SharpSeg.Data.Tests.Imaging;

/// <summary>
/// TIFF reading checked against fixtures written by tools/gen_tiff_fixtures.py (tifffile and Pillow): NAME.tif is the file,
/// NAME.npy its H×W×C pixels, so every layout (strips/tiles, chunky/planar, none/LZW/Deflate/PackBits, predictor, both byte
/// orders, 8/16-bit and float) must decode to exactly those values.
/// </summary>
public class TiffTests
{
    private static string Folder => Path.Combine(AppContext.BaseDirectory, "Golden", "Tiff");

    public static TheoryData<string> Fixtures()
    {
        var data = new TheoryData<string>();
        foreach (string path in Directory.GetFiles(Folder, "*.tif").Order(StringComparer.Ordinal))
            data.Add(Path.GetFileNameWithoutExtension(path));
        return data;
    }

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void DecodesEveryLayoutExactly(string name)
    {
        var expected = ImageFile.Read(Path.Combine(Folder, name + ".npy"));
        var actual = ImageFile.Read(Path.Combine(Folder, name + ".tif"));
        Assert.Equal(expected.SampleType, actual.SampleType);
        GoldenImages.AssertSame(expected, actual, name);
    }

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void HeaderProbeGivesTheDecodedSizeAndBands(string name)
    {
        string path = Path.Combine(Folder, name + ".tif");
        var image = ImageFile.Read(path);
        Assert.Equal(new ImageInfo("TIFF", image.Width, image.Height, image.Channels), ImageHeader.Read(path));
    }

    [Fact]
    public void FixturesCoverTheLayouts()
    {
        // The names state the layouts; the theory above is only as good as this list.
        var names = Directory.GetFiles(Folder, "*.tif").Select(Path.GetFileNameWithoutExtension).ToArray();
        foreach (string part in new[] { "strip", "tiled", "planar", "chunky", "none", "lzw", "deflate", "packbits", "predictor", "bigendian", "u8", "u16", "f32", "b4", "b5", "b6" })
            Assert.Contains(names, name => name!.Contains(part, StringComparison.Ordinal));
    }

    [Fact]
    public void FourBandImageKeepsFourBandsThroughImageInput()
    {
        var image = ImageInput.Read(Path.Combine(Folder, "b4_u16_tiled_none_bigendian.tif"), null);
        Assert.Equal(4, image.Channels);
        Assert.IsType<Image<ushort>>(image);
    }

    [Fact]
    public void ImageLargerThanThePixelLimitIsRefusedBeforeDecoding()
    {
        var data = File.ReadAllBytes(Path.Combine(Folder, "b5_f32_tiled_deflate.tif"));
        var error = Assert.Throws<ImageFormatException>(() => ImageFile.Decode(data, "big.tif", ImageReadOptions.Default, new ReadLimits(100, 32)));
        Assert.Contains("big.tif", error.Message);
        Assert.Contains("MaxPixels", error.Message);
    }

    [Theory]
    [InlineData("b4_u16_tiled_none_bigendian")]
    [InlineData("b5_f32_tiled_deflate")]
    [InlineData("rgb_u8_chunky_deflate")]
    [InlineData("label_u16_strip_lzw")]
    public void TruncatedFileIsRefusedNamingIt(string name)
    {
        var data = File.ReadAllBytes(Path.Combine(Folder, name + ".tif"));
        // tifffile and Pillow put the directory after or before the pixel data; cutting the middle out damages the pixels either way.
        foreach (int keep in new[] { 8, data.Length / 2, data.Length - 7 })
        {
            var cut = data[..keep];
            var error = Assert.Throws<ImageFormatException>(() => ImageFile.Decode(cut, "cut.tif"));
            Assert.StartsWith("cut.tif: ", error.Message);
        }
    }

    [Fact]
    public void GarbageAfterTheMagicIsRefused()
    {
        byte[] data = [(byte)'I', (byte)'I', 42, 0, 0xFF, 0xFF, 0xFF, 0x7F, 1, 2, 3, 4];
        var error = Assert.Throws<ImageFormatException>(() => ImageFile.Decode(data, "bad.tif"));
        Assert.StartsWith("bad.tif: ", error.Message);
    }

    [Fact]
    public void UnsupportedSampleTypeIsNamed()
    {
        // BitsPerSample (tag 258) of the uncompressed 8-bit label patched to 1: a layout the reader does not take.
        var data = File.ReadAllBytes(Path.Combine(Folder, "label_u8_strip_none.tif"));
        int entry = FindEntry(data, 258);
        data[entry + 8] = 1;
        var error = Assert.Throws<ImageFormatException>(() => ImageFile.Decode(data, "onebit.tif"));
        Assert.Contains("1-bit", error.Message);
    }

    /// <summary>The offset of the little-endian first directory's entry for <paramref name="tag"/>.</summary>
    internal static int FindEntry(byte[] data, int tag)
    {
        Assert.Equal((byte)'I', data[0]);
        int directory = BitConverter.ToInt32(data, 4);
        int count = BitConverter.ToUInt16(data, directory);
        for (int i = 0; i < count; i++)
        {
            int entry = directory + 2 + 12 * i;
            if (BitConverter.ToUInt16(data, entry) == tag)
                return entry;
        }
        throw new InvalidOperationException($"tag {tag} not found");
    }
}
