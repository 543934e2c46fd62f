namespace SharpSeg.Data.Tests.Datasets;

/// <summary>A scratch folder for a dataset layout, deleted after the test.</summary>
internal sealed class TempTree : IDisposable
{
    public TempTree() => Directory.CreateDirectory(Root);

    public string Root { get; } = Path.Combine(Path.GetTempPath(), "sharpseg-data-" + Guid.NewGuid().ToString("N"));

    public string PathOf(string relative) => Path.Combine(Root, relative);

    public string WriteText(string relative, string text)
    {
        string path = PathOf(relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    public string WriteImage(string relative, Image image, PngWriteOptions? options = null)
    {
        string path = PathOf(relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        ImageFile.WritePng(path, image, options ?? PngWriteOptions.Default);
        return path;
    }

    /// <summary>An RGB byte image whose pixel (y, x) is (seed + y, seed + x, seed).</summary>
    public static Image<byte> Rgb(int height, int width, int seed = 10)
    {
        var image = new Image<byte>(height, width, 3);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                image[y, x, 0] = (byte)(seed + y);
                image[y, x, 1] = (byte)(seed + x);
                image[y, x, 2] = (byte)seed;
            }
        return image;
    }

    public static Image<byte> Label(int height, int width, params byte[] values) => new(height, width, 1, values);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // A scratch folder left in the temp directory is harmless.
        }
    }
}
