using SharpSeg.Data;
using SharpSeg.Data.Datasets;
using SharpSeg.Data.Transforms;
using SharpSeg.Training.Metrics;

namespace SharpSeg.Training.Tests.Segmenter;

/// <summary>
/// 16-bit images reach the model with the same values on every path (datasets for train/evaluate, <c>ReadImage</c> for
/// predict), scaled only by the saved <see cref="Normalize"/> range; 8-bit files read exactly as before.
/// </summary>
public sealed class SixteenBitImageTests : IDisposable
{
    private readonly string _root = TestData.TempFolder("sixteen-bit");

    public SixteenBitImageTests() => Directory.CreateDirectory(_root);

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    /// <summary>12-bit data (0–4095) in 16-bit RGB PNGs with random class ids: a dataset of <paramref name="count"/> images.</summary>
    private FileListDataset SixteenBitDataset(int count, ISegTransform transforms)
    {
        var random = new Random(17);
        var lines = new List<string>();
        for (int i = 0; i < count; i++)
        {
            var image = new Image<ushort>(9, 11, 3);
            for (int p = 0; p < image.Pixels.Length; p++) image.Pixels[p] = (ushort)random.Next(4096);
            var label = new Image<byte>(9, 11, 1);
            for (int p = 0; p < label.Pixels.Length; p++) label.Pixels[p] = (byte)random.Next(3);
            ImageFile.WritePng(Path.Combine(_root, $"image{i}.png"), image);
            ImageFile.WritePng(Path.Combine(_root, $"label{i}.png"), label);
            lines.Add($"image{i}.png label{i}.png");
        }
        File.WriteAllLines(Path.Combine(_root, "val.txt"), lines);
        return new FileListDataset(_root, Path.Combine(_root, "val.txt"), numClasses: 3, DatasetMode.Val, transforms);
    }

    [Fact]
    public void Evaluate_and_Predict_feed_the_model_the_same_values_of_a_16_bit_image()
    {
        var normalize = new Normalize(maxValue: [4095f]);
        var dataset = SixteenBitDataset(3, normalize);
        var segmenter = new Training.Segmenter(new TinyConvNet(3, seed: 3), "tiny") { Transforms = normalize };

        var evaluated = segmenter.Evaluate(dataset, returnDetails: true);

        var predicted = new ConfusionMatrix(3);
        for (int i = 0; i < dataset.Count; i++)
        {
            var sample = dataset.Load(i);
            var fromFile = segmenter.Predict(dataset.Files[i].ImagePath);
            Assert.Equal(segmenter.Predict(sample.Image).ScoreMap.Pixels, fromFile.ScoreMap.Pixels);
            predicted.Update(fromFile.LabelMap.Pixels, sample.Label!.Pixels);
        }
        Assert.Equal(evaluated.ConfusionMatrix, predicted.ComputeMetrics(includeConfusionMatrix: true).ConfusionMatrix);
        // Every class is predicted somewhere, so the equality above is not that of two constant maps.
        Assert.All(Enumerable.Range(0, 3), c => Assert.True(Enumerable.Range(0, 3).Sum(label => predicted[label, c]) > 0));
    }

    [Fact]
    public void ReadImage_gives_a_three_channel_model_the_16_bit_samples_and_a_one_channel_model_their_luma()
    {
        string path = Path.Combine(_root, "scene.png");
        ImageFile.WritePng(path, new Image<ushort>(1, 2, 3, [4095, 0, 1000, 300, 600, 900]));

        var rgb = new Training.Segmenter(new TinyConvNet(2), "tiny").ReadImage(path);
        var grey = new Training.Segmenter(new TinyConvNet(2, inChannels: 1), "tiny").ReadImage(path);

        Assert.Equal([4095, 0, 1000, 300, 600, 900], Assert.IsType<Image<ushort>>(rgb).Pixels);
        Assert.Equal([(ushort)MathF.Round(0.299f * 4095 + 0.114f * 1000), (ushort)MathF.Round(0.299f * 300 + 0.587f * 600 + 0.114f * 900)],
            Assert.IsType<Image<ushort>>(grey).Pixels);
    }

    [Fact]
    public void ReadImage_reads_8_bit_grey_palette_and_rgba_files_byte_for_byte_as_before()
    {
        var files = new Dictionary<string, (Image Image, PngWriteOptions Options)>
        {
            ["grey.png"] = (new Image<byte>(2, 2, 1, [0, 70, 140, 255]), PngWriteOptions.Default),
            ["palette.png"] = (new Image<byte>(1, 3, 1, [2, 0, 1]), new PngWriteOptions { Palette = [1, 2, 3, 40, 50, 60, 200, 210, 220] }),
            ["rgba.png"] = (new Image<byte>(1, 2, 4, [9, 8, 7, 0, 250, 251, 252, 128]), PngWriteOptions.Default),
        };
        var segmenter = new Training.Segmenter(new TinyConvNet(2), "tiny");
        foreach (var (name, (image, options)) in files)
        {
            string path = Path.Combine(_root, name);
            ImageFile.WritePng(path, image, options);
            var before = (Image<byte>)ImageFile.Read(path, new ImageReadOptions { ForceRgb = true });

            var read = Assert.IsType<Image<byte>>(segmenter.ReadImage(path));

            Assert.Equal((before.Height, before.Width, before.Channels), (read.Height, read.Width, read.Channels));
            Assert.Equal(before.Pixels, read.Pixels);
        }
    }

    [Fact]
    public void The_value_range_is_saved_with_the_model_and_predicts_identically_after_loading()
    {
        string image = Path.Combine(_root, "scene.png");
        var pixels = new ushort[7 * 9 * 3];
        new Random(4).NextBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(pixels.AsSpan()));
        ImageFile.WritePng(image, new Image<ushort>(7, 9, 3, pixels));
        var segmenter = new Training.Segmenter("unet", 3) { Transforms = new Normalize(minValue: [100f], maxValue: [60000f]) };
        string folder = Path.Combine(_root, "saved");

        segmenter.Save(folder);
        var reloaded = Training.Segmenter.Load(folder);

        Assert.Contains("\"min_val\":[100],\"max_val\":[60000]", File.ReadAllText(Path.Combine(folder, "state.json")));
        var normalize = Assert.IsType<Normalize>(Assert.Single(Assert.IsType<Compose>(reloaded.Transforms).Transforms));
        Assert.Equal([100f], normalize.MinValue);
        Assert.Equal([60000f], normalize.MaxValue);
        Assert.Equal(segmenter.Predict(image).ScoreMap.Pixels, reloaded.Predict(image).ScoreMap.Pixels);
    }
}
