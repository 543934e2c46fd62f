using System.Buffers.Binary;
using System.Text;
using System.Text.RegularExpressions;

namespace SharpSeg.Models.Tests.Support;

/// <summary>Reads the committed fixtures under <c>Golden/</c> (copied next to the test assembly).</summary>
public static partial class GoldenFiles
{
    /// <summary>The full path of <paramref name="relative"/> under <c>Golden/</c>.</summary>
    public static string PathOf(string relative) => Path.Combine(AppContext.BaseDirectory, "Golden", relative);

    /// <summary>A little-endian float32 C-order <c>.npy</c> (format 1.0, as <c>numpy.save</c> writes it) as a tensor.</summary>
    public static Tensor ReadNpy(string relative)
    {
        var bytes = File.ReadAllBytes(PathOf(relative));
        if (bytes.Length < 10 || bytes[0] != 0x93 || Encoding.ASCII.GetString(bytes, 1, 5) != "NUMPY")
            throw new InvalidDataException($"{relative}: not an .npy file.");
        int headerLength = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8));
        string header = Encoding.ASCII.GetString(bytes, 10, headerLength);
        if (!header.Contains("'descr': '<f4'") || !header.Contains("'fortran_order': False"))
            throw new InvalidDataException($"{relative}: expected little-endian float32 in C order, header {header}.");
        var dims = ShapePattern().Match(header).Groups[1].Value
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(int.Parse).ToArray();
        var data = new float[dims.Aggregate(1L, (a, d) => a * d)];
        Buffer.BlockCopy(bytes, 10 + headerLength, data, 0, data.Length * sizeof(float));
        return Tensor.FromArray(data, dims);
    }

    [GeneratedRegex(@"'shape': \(([^)]*)\)")]
    private static partial Regex ShapePattern();
}
