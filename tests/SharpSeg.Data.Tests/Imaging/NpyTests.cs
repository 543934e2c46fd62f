using System.Globalization;
using System.Text;

namespace SharpSeg.Data.Tests.Imaging;

public class NpyTests
{
    public static TheoryData<string> DumpedArrays => GoldenImages.Files("npy_", ".expected.txt");

    [Theory]
    [MemberData(nameof(DumpedArrays))]
    public void Reads_numpy_files_to_the_values_numpy_printed(string dump)
    {
        string name = dump[..^".expected.txt".Length];
        string[] lines = File.ReadAllLines(GoldenImages.PathOf(dump));
        int[] shape = lines[0].Split(' ').Select(int.Parse).ToArray();
        double[] values = lines[1].Split(' ').Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray();

        var image = ImageFile.Read(GoldenImages.PathOf(name + ".npy"));

        Assert.Equal((shape[0], shape[1], shape.Length == 3 ? shape[2] : 1), (image.Height, image.Width, image.Channels));
        var actual = image.SampleType switch
        {
            SampleType.UInt8 => ((Image<byte>)image).Pixels.Select(v => (double)v),
            SampleType.UInt16 => ((Image<ushort>)image).Pixels.Select(v => (double)v),
            SampleType.Int32 => ((Image<int>)image).Pixels.Select(v => (double)v),
            _ => ((Image<float>)image).Pixels.Select(v => (double)v),
        };
        Assert.Equal(values, actual.ToArray());
    }

    [Theory]
    [MemberData(nameof(DumpedArrays))]
    public void Writes_the_same_bytes_as_numpy(string dump)
    {
        string path = GoldenImages.PathOf(dump[..^".expected.txt".Length] + ".npy");
        byte[] written = File.ReadAllBytes(path);

        byte[] rewritten = Npy.Encode(ImageFile.Read(path));

        Assert.Equal(Encoding.ASCII.GetString(written, 10, written[8]), Encoding.ASCII.GetString(rewritten, 10, rewritten[8]));
        Assert.Equal(written, rewritten);
    }

    [Theory]
    [InlineData("npy_int64_hwc")]
    [InlineData("npy_float64_bigendian")]
    [InlineData("npy_uint8_v2")]
    public void Converts_wider_types_and_reads_version_2_headers(string name)
    {
        var expected = GoldenImages.Expected(name);

        var actual = ImageFile.Read(GoldenImages.PathOf(name + ".npy"));

        GoldenImages.AssertSame(expected, actual, name);
    }

    [Fact]
    public void Reads_a_hand_built_uint16_file()
    {
        string header = "{'descr': '<u2', 'fortran_order': False, 'shape': (2, 3), }".PadRight(53) + "\n";
        byte[] file = [0x93, .. "NUMPY"u8, 1, 0, (byte)header.Length, 0, .. Encoding.ASCII.GetBytes(header),
            1, 0, 2, 0, 0, 1, 0xFF, 0xFF, 0x34, 0x12, 0, 0];

        var image = (Image<ushort>)Npy.Decode(file, "hand.npy");

        Assert.Equal((2, 3, 1), (image.Height, image.Width, image.Channels));
        Assert.Equal(new ushort[] { 1, 2, 256, 65535, 0x1234, 0 }, image.Pixels);
    }

    [Fact]
    public void Keeps_a_single_channel_axis_when_asked()
    {
        var image = new Image<float>(2, 2, 1, [1.5f, -2f, 3.25f, 0f]);

        byte[] npy = Npy.Encode(image, dropSingleChannel: false);

        Assert.Contains("'shape': (2, 2, 1), }", Encoding.ASCII.GetString(npy, 10, npy[8]));
        Assert.Equal(0, (npy.Length - 16) % 64);
        GoldenImages.AssertSame(image, Npy.Decode(npy, "c1.npy"), "c1.npy");
    }

    [Theory]
    [InlineData("npy_fortran_order", "NPY array is in Fortran order (fortran_order: True)")]
    [InlineData("npy_int64_overflow", "int64 value 1099511627776 at row 1, column 1 does not fit in int32")]
    [InlineData("npy_1d", "NPY array has shape (5,); an image needs (H, W), (H, W, C) or a batch of one (1, …, C, H, W)")]
    public void Rejects_arrays_that_are_not_images_naming_the_file(string name, string problem)
    {
        string path = GoldenImages.PathOf(name + ".npy");

        var error = Assert.Throws<ImageFormatException>(() => ImageFile.Read(path));

        Assert.StartsWith($"{path}: {problem}", error.Message);
    }

    [Fact]
    public void Truncated_data_is_reported()
    {
        byte[] npy = File.ReadAllBytes(GoldenImages.PathOf("npy_uint16_hwc.npy"));

        var error = Assert.Throws<ImageFormatException>(() => ImageFile.Decode(npy[..^3], "cut.npy"));

        Assert.Equal($"cut.npy: truncated at offset {npy.Length - 3}: NPY data of <u2 shape (5, 7, 4) needs 280 bytes, 277 remain", error.Message);
    }

    [Fact]
    public void WriteNpy_writes_a_file_that_reads_back()
    {
        string path = Path.Combine(Path.GetTempPath(), $"sharpseg-{Guid.NewGuid():N}.npy");
        var labels = GoldenImages.Random<int>(3, 4, 1, 1000, seed: 5);
        try
        {
            ImageFile.WriteNpy(path, labels);

            GoldenImages.AssertSame(labels, ImageFile.Read(path), path);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
