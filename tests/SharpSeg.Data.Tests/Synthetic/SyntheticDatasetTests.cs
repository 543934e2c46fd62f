using SharpSeg.Data.Datasets;
using SharpSeg.Data.Synthetic;
using SharpSeg.Data.Tests.Datasets;

namespace SharpSeg.Data.Tests.Synthetic;

public class SyntheticDatasetTests
{
    private static readonly SyntheticOptions Small = new(Count: 12, Height: 48, Width: 64, NumClasses: 5, Seed: 3);

    [Fact]
    public void SameSeedAndIndexGiveIdenticalSamplesInAnyOrder()
    {
        var a = new SyntheticDataset(Small);
        var b = new SyntheticDataset(Small);
        var late = b.Load(7);
        var early = b.Load(2);
        Assert.Equal(a.Load(2).Image.Pixels, early.Image.Pixels);
        Assert.Equal(a.Load(7).Label!.Pixels, late.Label!.Pixels);
        Assert.NotEqual(a.Load(2).Image.Pixels, a.Load(3).Image.Pixels);
        Assert.NotEqual(a.Load(2).Image.Pixels, new SyntheticDataset(Small with { Seed = 4 }).Load(2).Image.Pixels);
    }

    [Fact]
    public void SamplesAreWholeBytesWithValidLabelsCoveringEveryClass()
    {
        var dataset = new SyntheticDataset(Small);
        var seen = new HashSet<int>();
        for (int i = 0; i < dataset.Count; i++)
        {
            var sample = dataset.Load(i);
            Assert.Equal((48, 64, 3), (sample.Image.Height, sample.Image.Width, sample.Image.Channels));
            Assert.All(sample.Image.Pixels, v => Assert.True(v >= 0 && v <= 255 && v == MathF.Round(v)));
            seen.UnionWith(sample.Label!.Pixels);
        }
        Assert.Equal([0, 1, 2, 3, 4], seen.Order());
        Assert.Empty(dataset.Describe().BadLabels);
        Assert.Equal(["background", "disk", "rectangle", "triangle", "ring"], dataset.ClassNames);
    }

    [Fact]
    public void ShapesAreTexturedAndBackgroundIsNotFlat()
    {
        var sample = new SyntheticDataset(Small with { NoiseStd = 0 }).Load(0);
        var background = Enumerable.Range(0, 48 * 64).Where(p => sample.Label!.Pixels[p] == 0).Select(p => sample.Image.Pixels[3 * p]).ToList();
        Assert.True(background.Distinct().Count() > 10, "the background should be textured");
    }

    [Fact]
    public void ClassesHaveDistinctMeanColours()
    {
        // Class decides the hue band, so per-class mean colours separate (the data is learnable).
        var dataset = new SyntheticDataset(Small with { Count = 30, NumClasses = 4, NoiseStd = 0 });
        var sums = new double[4, 3];
        var counts = new long[4];
        for (int i = 0; i < dataset.Count; i++)
        {
            var sample = dataset.Load(i);
            for (int p = 0; p < sample.Label!.Pixels.Length; p++)
            {
                int c = sample.Label.Pixels[p];
                counts[c]++;
                for (int ch = 0; ch < 3; ch++)
                    sums[c, ch] += sample.Image.Pixels[3 * p + ch];
            }
        }
        for (int a = 1; a < 4; a++)
            for (int b = a + 1; b < 4; b++)
            {
                double distance = Math.Sqrt(Enumerable.Range(0, 3).Sum(ch => Math.Pow(sums[a, ch] / counts[a] - sums[b, ch] / counts[b], 2)));
                Assert.True(distance > 20, $"classes {a} and {b} mean colours differ by only {distance:F1}");
            }
    }

    [Fact]
    public void AnySizeWorks()
    {
        var sample = new SyntheticDataset(new SyntheticOptions(Count: 1, Height: 7, Width: 301)).Load(0);
        Assert.Equal((7, 301), (sample.Label!.Height, sample.Label.Width));
    }

    [Fact]
    public void RejectsBadOptions()
    {
        Assert.Throws<ArgumentException>(() => new SyntheticDataset(new SyntheticOptions(NumClasses: 1)));
        Assert.Throws<ArgumentException>(() => new SyntheticDataset(new SyntheticOptions(MinShapes: 5, MaxShapes: 2)));
    }

    [Fact]
    public void WritesPaddleSegFileListThatReadsBackExactly()
    {
        using var tree = new TempTree();
        var options = Small with { Height = 20, Width = 24 };
        SyntheticDataset.WriteFileList(tree.Root, options, trainCount: 3, valCount: 2);

        Assert.Equal(["images/000000.png labels/000000.png", "images/000001.png labels/000001.png", "images/000002.png labels/000002.png"],
            File.ReadAllLines(tree.PathOf("train.txt")));
        Assert.Equal(5, File.ReadAllLines(tree.PathOf("labels.txt")).Length);

        var generator = new SyntheticDataset(options with { Count = 5 });
        var val = new FileListDataset(tree.Root, tree.PathOf("val.txt"), options.NumClasses, DatasetMode.Val);
        Assert.Equal(2, val.Count);
        for (int i = 0; i < 2; i++)
        {
            var expected = generator.Load(3 + i);
            var read = val.Load(i);
            Assert.Equal(expected.Image.Pixels, read.Image.Pixels);
            Assert.Equal(expected.Label!.Pixels, read.Label!.Pixels);
        }
        Assert.Empty(Directory.GetFiles(tree.Root, "*.tmp", SearchOption.AllDirectories));
    }
}
