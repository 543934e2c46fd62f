namespace SharpSeg.Data.Tests.Imaging;

/// <summary>
/// Fixtures under Golden/Imaging, written by tools/gen_image_fixtures.py with Pillow, numpy and libjpeg-turbo:
/// NAME.ext is the encoded file, NAME.expected.npy the pixels the independent decoder (or the source array) gives.
/// </summary>
internal static class GoldenImages
{
    public static string Folder => Path.Combine(AppContext.BaseDirectory, "Golden", "Imaging");

    public static string PathOf(string fileName) => Path.Combine(Folder, fileName);

    public static Image Expected(string fixtureName, string suffix = "") =>
        ImageFile.Read(PathOf($"{fixtureName}{suffix}.expected.npy"));

    public static TheoryData<string> Files(string prefix, string extension)
    {
        var data = new TheoryData<string>();
        foreach (string path in Directory.GetFiles(Folder, $"{prefix}*{extension}").Order(StringComparer.Ordinal))
            data.Add(Path.GetFileName(path));
        return data;
    }

    public static void AssertSame<T>(Image<T> expected, Image actual, string context)
        where T : unmanaged, System.Numerics.INumber<T>
    {
        Assert.Equal((expected.Height, expected.Width, expected.Channels), (actual.Height, actual.Width, actual.Channels));
        var typed = Assert.IsType<Image<T>>(actual);
        for (int i = 0; i < expected.Pixels.Length; i++)
            if (expected.Pixels[i] != typed.Pixels[i])
                Assert.Fail($"{context}: sample {i} (row {i / expected.Channels / expected.Width}, column " +
                            $"{i / expected.Channels % expected.Width}, channel {i % expected.Channels}) is {typed.Pixels[i]}, expected {expected.Pixels[i]}");
    }

    public static void AssertSame(Image expected, Image actual, string context)
    {
        switch (expected)
        {
            case Image<byte> b: AssertSame(b, actual, context); break;
            case Image<ushort> u: AssertSame(u, actual, context); break;
            case Image<int> i: AssertSame(i, actual, context); break;
            case Image<float> f: AssertSame(f, actual, context); break;
        }
    }

    public static Image<T> Random<T>(int height, int width, int channels, int maxExclusive, int seed)
        where T : unmanaged, System.Numerics.INumber<T>
    {
        var random = new Random(seed);
        var image = new Image<T>(height, width, channels);
        for (int i = 0; i < image.Pixels.Length; i++)
            image.Pixels[i] = T.CreateTruncating(random.Next(maxExclusive));
        return image;
    }
}
