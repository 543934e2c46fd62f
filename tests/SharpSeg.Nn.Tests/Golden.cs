using SharpSeg.Nn;

namespace SharpSeg.Nn.Tests;

/// <summary>Fixtures written by tools/gen_nn_golden_modules.py (PyTorch 1.13) and comparison helpers.</summary>
internal static class Golden
{
    public static string PathOf(string file) => Path.Combine(AppContext.BaseDirectory, "Golden", file);

    public static OrderedDictionary<string, Tensor> Load(string file) => Safetensors.Load(PathOf(file));

    /// <summary>(key, shape) lines of a torch state_dict, in torch's order.</summary>
    public static List<(string Key, int[] Shape)> Keys(string file) =>
        [.. File.ReadAllLines(PathOf(file)).Where(l => l.Length > 0).Select(line =>
        {
            int space = line.IndexOf(' ');
            string dims = line[(space + 1)..];
            return (line[..space], dims.Length == 0 ? Array.Empty<int>() : dims.Split(',').Select(int.Parse).ToArray());
        })];

    public static void AssertClose(Tensor expected, Tensor actual, double atol = 1e-5, double rtol = 1e-5, string what = "")
    {
        Assert.True(expected.Shape == actual.Shape, $"{what}: shape {actual.Shape}, expected {expected.Shape}");
        var e = expected.ToArray();
        var a = actual.ToArray();
        for (int i = 0; i < e.Length; i++)
        {
            double tolerance = atol + rtol * Math.Abs(e[i]);
            Assert.True(Math.Abs(e[i] - a[i]) <= tolerance, $"{what}[{i}]: got {a[i]}, expected {e[i]} (tolerance {tolerance})");
        }
    }
}
