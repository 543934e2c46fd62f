using SharpSeg.Data;
using SharpSeg.Data.Loading;
using SharpSeg.Detection.Data;

namespace SharpSeg.Detection.Tests.Data;

/// <summary>The synthetic detection set, the box-and-mask transforms, collation and the loader.</summary>
public class SyntheticAndTransformTests
{
    private static readonly SyntheticDetectionOptions Small = new(Count: 12, Height: 40, Width: 56, Seed: 5);

    /// <summary>The tight box around each mask's pixels, <c>[min x, min y, max x + 1, max y + 1]</c>.</summary>
    private static float[] TightBoxes(InstanceMasks masks)
    {
        var boxes = new float[masks.Count * 4];
        for (int n = 0; n < masks.Count; n++)
        {
            int x1 = int.MaxValue, y1 = int.MaxValue, x2 = -1, y2 = -1;
            var mask = masks[n];
            for (int y = 0; y < masks.Height; y++)
                for (int x = 0; x < masks.Width; x++)
                    if (mask[y * masks.Width + x] != 0)
                        (x1, y1, x2, y2) = (Math.Min(x1, x), Math.Min(y1, y), Math.Max(x2, x), Math.Max(y2, y));
            (boxes[4 * n], boxes[4 * n + 1], boxes[4 * n + 2], boxes[4 * n + 3]) = (x1, y1, x2 + 1, y2 + 1);
        }
        return boxes;
    }

    [Fact]
    public void SyntheticSamplesAreDeterministicWithTightBoxesAndDisjointMasks()
    {
        var dataset = new SyntheticDetectionDataset(Small);
        Assert.Equal(["background", "rectangle", "ellipse", "triangle"], dataset.ClassNames);
        int objects = 0;
        for (int i = 0; i < dataset.Count; i++)
        {
            var sample = dataset.Load(i);
            var again = new SyntheticDetectionDataset(Small).Load(i);
            Assert.Equal(sample.Image.Pixels, again.Image.Pixels);
            Assert.Equal(sample.Target.Boxes, again.Target.Boxes);
            var target = sample.Target;
            Assert.InRange(target.Count, 0, Small.MaxObjects);
            Assert.All(target.Labels, l => Assert.InRange(l, 1, 3));
            Assert.Equal(TightBoxes(target.Masks!), target.Boxes);
            var coverage = new int[40 * 56];
            for (int n = 0; n < target.Count; n++)
            {
                Assert.Equal(target.Masks!.Area(n), target.Area[n]);
                Assert.True(target.Area[n] >= Small.MinVisiblePixels);
                var mask = target.Masks[n];
                for (int p = 0; p < coverage.Length; p++)
                    coverage[p] += mask[p];
            }
            Assert.All(coverage, c => Assert.InRange(c, 0, 1));
            objects += target.Count;
        }
        Assert.True(objects >= dataset.Count, $"only {objects} objects in {dataset.Count} images");
        Assert.NotEqual(dataset.Load(0).Image.Pixels, new SyntheticDetectionDataset(Small with { Seed = 6 }).Load(0).Image.Pixels);
    }

    [Fact]
    public void FlipMirrorsBoxesAsTorchvisionAndKeepsThemTightAroundTheMasks()
    {
        var sample = new SyntheticDetectionDataset(Small).Load(2);
        var before = (float[])sample.Target.Boxes.Clone();
        var image = sample.Image.Clone();
        new DetectionRandomHorizontalFlip(1).Apply(sample, new Random(0));
        for (int i = 0; i < sample.Target.Count; i++)
        {
            Assert.Equal(56 - before[4 * i + 2], sample.Target.Boxes[4 * i]);
            Assert.Equal(before[4 * i + 1], sample.Target.Boxes[4 * i + 1]);
            Assert.Equal(56 - before[4 * i], sample.Target.Boxes[4 * i + 2]);
        }
        Assert.Equal(TightBoxes(sample.Target.Masks!), sample.Target.Boxes);
        Assert.Equal(image[3, 0, 1], sample.Image[3, 55, 1]);
        new DetectionRandomHorizontalFlip(0).Apply(sample, new Random(0));
        Assert.Equal(TightBoxes(sample.Target.Masks!), sample.Target.Boxes);
    }

    [Fact]
    public void ResizeScalesBoxesPerAxisAndMasksByNearest()
    {
        var sample = new SyntheticDetectionDataset(Small).Load(4);
        var before = (float[])sample.Target.Boxes.Clone();
        var masksBefore = sample.Target.Masks!;
        new DetectionResize(80, 168).Apply(sample, new Random(0));
        Assert.Equal((80, 168), (sample.Image.Height, sample.Image.Width));
        for (int i = 0; i < before.Length; i++)
            Assert.Equal(before[i] * (i % 2 == 0 ? 3f : 2f), sample.Target.Boxes[i]);
        // An integer upscale repeats each pixel, so boxes stay tight and areas grow by 2 × 3.
        Assert.Equal(TightBoxes(sample.Target.Masks!), sample.Target.Boxes);
        for (int n = 0; n < masksBefore.Count; n++)
            Assert.Equal(6 * masksBefore.Area(n), sample.Target.Area[n]);

        // Downscaling 5 → 3 picks source rows floor(i · 5/3) = 0, 1, 3, as torch's nearest interpolation.
        var rows = new InstanceMasks(1, 5, 1, [1, 0, 0, 1, 0]);
        Assert.Equal([1, 0, 1], DetectionGeometry.ResizeMasksNearest(rows, 3, 1).Data);
    }

    [Fact]
    public void CropClipsBoxesAndRemovesObjectsLeftOutside()
    {
        // Three rectangles in a 20×30 image: one inside the window, one cut by it, one outside.
        var masks = new InstanceMasks(3, 20, 30);
        float[] boxes = [2, 2, 6, 5, 8, 10, 16, 18, 24, 1, 29, 4];
        for (int n = 0; n < 3; n++)
            for (int y = (int)boxes[4 * n + 1]; y < boxes[4 * n + 3]; y++)
                for (int x = (int)boxes[4 * n]; x < boxes[4 * n + 2]; x++)
                    masks[n][y * 30 + x] = 1;
        var target = new DetectionTarget(boxes, [1, 2, 3], masks, imageId: 7);
        var sample = new DetectionSample(new Image<float>(20, 30, 3), target);
        DetectionGeometry.Crop(sample, top: 1, left: 1, height: 12, width: 12);
        Assert.Equal([1, 2], sample.Target.Labels);
        Assert.Equal([1f, 1, 5, 4, 7, 9, 12, 12], sample.Target.Boxes);
        Assert.Equal([12f, 15], sample.Target.Area);
        Assert.Equal(TightBoxes(sample.Target.Masks!), sample.Target.Boxes);
        Assert.Equal(7, sample.Target.ImageId);

        var boxOnly = new DetectionSample(new Image<float>(20, 30, 3), new DetectionTarget(boxes, [1, 2, 3]));
        new DetectionRandomCrop(12, 12).Apply(boxOnly, new Random(1));
        Assert.Equal((12, 12), (boxOnly.Image.Height, boxOnly.Image.Width));
        Assert.All(boxOnly.Target.Boxes, v => Assert.InRange(v, 0, 12));
    }

    [Fact]
    public void ScaleJitterKeepsTheAspectRatioAndAlignment()
    {
        var sample = new SyntheticDetectionDataset(Small).Load(1);
        var jitter = new ScaleJitter(80, 80, 0.5, 1.5);
        var random = new Random(3);
        double scale = 0.5 + new Random(3).NextDouble();
        double r = Math.Min(80.0 / 40, 80.0 / 56) * scale;
        jitter.Apply(sample, random);
        Assert.Equal(((int)(40 * r), (int)(56 * r)), (sample.Image.Height, sample.Image.Width));
        Assert.Equal(sample.Image.Height, sample.Target.Masks!.Height);
    }

    [Fact]
    public void CollateKeepsVariableTargetsAndPadsImagesLikeBatchImages()
    {
        var dataset = new SyntheticDetectionDataset(Small);
        var a = dataset.Load(0);
        var b = dataset.Load(1);
        new DetectionResize(33, 40).Apply(b, new Random(0));
        var batch = DetectionBatch.Collate([a, b], [0, 1]);
        Assert.Equal([a.Target, b.Target], batch.Targets);
        Assert.Equal([(40, 56), (33, 40)], batch.ImageSizes);
        Assert.Equal([(40, 56), (40, 56)], batch.OriginalSizes);
        var padded = batch.PaddedImages();
        Assert.Equal([2, 3, 64, 64], padded.Shape.ToArray());
        var values = padded.ToArray<float>();
        Assert.Equal(b.Image[32, 39, 2], values[((1 * 3 + 2) * 64 + 32) * 64 + 39]);
        Assert.Equal(0, values[((1 * 3 + 2) * 64 + 33) * 64 + 39]);
        Assert.Equal(0, values[((1 * 3 + 0) * 64 + 0) * 64 + 40]);
    }

    [Fact]
    public void LoaderResultsDependOnTheSeedNotTheWorkers()
    {
        var transforms = new DetectionCompose([new DetectionRandomHorizontalFlip(), new DetectionRandomCrop(32, 32)]);
        var dataset = new SyntheticDetectionDataset(Small with { Count = 7 }, transforms);
        var serial = new DetectionDataLoader(dataset, new DataLoaderOptions(BatchSize: 3, Shuffle: true, Seed: 9)).Epoch(1).ToList();
        var parallel = new DetectionDataLoader(dataset, new DataLoaderOptions(BatchSize: 3, Shuffle: true, Seed: 9, NumWorkers: 2)).Epoch(1).ToList();
        Assert.Equal(3, serial.Count);
        Assert.Equal(serial.SelectMany(b => b.Indices), parallel.SelectMany(b => b.Indices));
        Assert.Equal(7, serial.SelectMany(b => b.Indices).Distinct().Count());
        for (int i = 0; i < serial.Count; i++)
            for (int n = 0; n < serial[i].Count; n++)
            {
                Assert.Equal(serial[i].Images[n].Pixels, parallel[i].Images[n].Pixels);
                Assert.Equal(serial[i].Targets[n].Boxes, parallel[i].Targets[n].Boxes);
            }
    }

    [Fact]
    public void ModelInputIsChannelsFirstScaledToOne()
    {
        // A 2×3 RGB image whose value at (y, x, c) is 100·c + 10·y + x: the tensor must be [3, 2, 3] with (c, y, x) = that / 255.
        var image = new Image<float>(2, 3, 3);
        for (int y = 0; y < 2; y++)
            for (int x = 0; x < 3; x++)
                for (int c = 0; c < 3; c++)
                    image.Pixels[(y * 3 + x) * 3 + c] = 100 * c + 10 * y + x;
        var sample = new DetectionSample(image, new DetectionTarget([], []));
        var input = sample.ModelInput();
        Assert.Equal(new Shape(3, 2, 3), input.Shape);
        var values = input.ToArray();
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < 2; y++)
                for (int x = 0; x < 3; x++)
                    Assert.Equal((100 * c + 10 * y + x) / 255f, values[(c * 2 + y) * 3 + x], 6);
        Assert.Equal(212f / 65535f, sample.ModelInput(65535f).ToArray()[(2 * 2 + 1) * 3 + 2], 9);
        Assert.Throws<ArgumentOutOfRangeException>(() => sample.ModelInput(0));
    }
}
