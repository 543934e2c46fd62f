using SharpSeg.Data.Datasets;
using SharpSeg.Data.Loading;
using SharpSeg.Data.Synthetic;
using SharpSeg.Data.Tests.Datasets;
using SharpSeg.Data.Transforms;

namespace SharpSeg.Data.Tests.Loading;

public class DataLoaderTests
{
    private static SyntheticDataset Augmented(int count = 10) => new(
        new SyntheticOptions(Count: count, Height: 24, Width: 32, NumClasses: 4, Seed: 1),
        transforms: new Compose(
            new ResizeStepScaling(0.75, 1.5, 0.25),
            new RandomPaddingCrop(width: 16, height: 16),
            new RandomHorizontalFlip(),
            new RandomDistort(),
            new Normalize()));

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    public void AnEpochStartedAtALaterBatchYieldsTheRemainingBatchesUnchanged(int workers)
    {
        var loader = new DataLoader(Augmented(), new DataLoaderOptions(BatchSize: 3, Shuffle: true, Seed: 42, NumWorkers: workers));
        var whole = loader.Epoch(1).ToList();

        var rest = loader.Epoch(1, firstBatch: 2).ToList();

        Assert.Equal(whole.Skip(2).Select(b => b.Indices), rest.Select(b => b.Indices));
        Assert.Equal(whole.Skip(2).Select(b => b.Images), rest.Select(b => b.Images));
        Assert.Empty(loader.Epoch(1, firstBatch: loader.BatchesPerEpoch));
        Assert.Throws<ArgumentOutOfRangeException>(() => loader.Epoch(1, firstBatch: loader.BatchesPerEpoch + 1));
    }

    [Fact]
    public void BatchesAreIdenticalForAnyWorkerCount()
    {
        var dataset = Augmented();
        List<Batch> Run(int workers) =>
            [.. Enumerable.Range(0, 2).SelectMany(epoch =>
                new DataLoader(dataset, new DataLoaderOptions(BatchSize: 3, Shuffle: true, Seed: 42, NumWorkers: workers)).Epoch(epoch))];
        var inline = Run(0);
        Assert.Equal(8, inline.Count);
        foreach (int workers in new[] { 1, 3 })
        {
            var threaded = Run(workers);
            Assert.Equal(inline.Count, threaded.Count);
            for (int b = 0; b < inline.Count; b++)
            {
                Assert.Equal(inline[b].Indices, threaded[b].Indices);
                Assert.Equal(inline[b].Images, threaded[b].Images);
                Assert.Equal(inline[b].Labels, threaded[b].Labels);
            }
        }
    }

    [Fact]
    public void AugmentationDiffersBetweenEpochsAndSeeds()
    {
        var dataset = Augmented();
        var loader = new DataLoader(dataset, new DataLoaderOptions(BatchSize: 10, Seed: 42));
        var epoch0 = loader.Epoch(0).Single();
        Assert.Equal(Enumerable.Range(0, 10), epoch0.Indices);
        Assert.NotEqual(epoch0.Images, loader.Epoch(1).Single().Images);
        Assert.NotEqual(epoch0.Images, new DataLoader(dataset, new DataLoaderOptions(BatchSize: 10, Seed: 43)).Epoch(0).Single().Images);
        Assert.Equal(epoch0.Images, loader.Epoch(0).Single().Images);
    }

    [Fact]
    public void ShuffleGivesADifferentPermutationEachEpoch()
    {
        var loader = new DataLoader(Augmented(20), new DataLoaderOptions(Shuffle: true, Seed: 5));
        var first = loader.Order(0);
        var second = loader.Order(1);
        Assert.Equal(Enumerable.Range(0, 20), first.Order());
        Assert.Equal(Enumerable.Range(0, 20), second.Order());
        Assert.NotEqual(first, second);
        Assert.NotEqual(Enumerable.Range(0, 20), first);
        Assert.Equal(first, new DataLoader(Augmented(20), new DataLoaderOptions(Shuffle: true, Seed: 5)).Order(0));
    }

    [Theory]
    [InlineData(false, new[] { 4, 4, 2 })]
    [InlineData(true, new[] { 4, 4 })]
    public void DropLastControlsTheShortFinalBatch(bool dropLast, int[] sizes)
    {
        var loader = new DataLoader(Augmented(), new DataLoaderOptions(BatchSize: 4, DropLast: dropLast, NumWorkers: 2));
        Assert.Equal(sizes.Length, loader.BatchesPerEpoch);
        Assert.Equal(sizes, loader.Epoch(0).Select(b => b.Count));
    }

    [Fact]
    public void BatchIsNchwImagesAndNhwLabels()
    {
        var dataset = new SyntheticDataset(new SyntheticOptions(Count: 2, Height: 5, Width: 7, NumClasses: 3));
        var batch = new DataLoader(dataset, new DataLoaderOptions(BatchSize: 2)).Epoch(0).Single();
        Assert.Equal([2, 3, 5, 7], batch.ImageShape);
        Assert.Equal([2, 5, 7], batch.LabelShape);
        for (int n = 0; n < 2; n++)
        {
            var sample = dataset.Load(n);
            for (int c = 0; c < 3; c++)
                for (int y = 0; y < 5; y++)
                    for (int x = 0; x < 7; x++)
                        Assert.Equal(sample.Image[y, x, c], batch.Images[((n * 3 + c) * 5 + y) * 7 + x]);
            Assert.Equal(sample.Label!.Pixels, batch.Labels!.AsSpan(n * 35, 35).ToArray());
        }
        Assert.Equal("synthetic sample 1 (seed 0)", batch.Sources[1]);
    }

    [Fact]
    public void WorkerErrorSurfacesWithTheSampleFile()
    {
        using var tree = new TempTree();
        var lines = new List<string>();
        for (int i = 0; i < 6; i++)
        {
            tree.WriteImage($"img/{i}.png", TempTree.Rgb(2, 2));
            tree.WriteImage($"ann/{i}.png", TempTree.Label(2, 2, 0, 1, 0, 1));
            lines.Add($"img/{i}.png ann/{i}.png");
        }
        File.WriteAllBytes(tree.PathOf("img/4.png"), [0x89, 0x50, 0x4E, 0x47, 1, 2, 3]);
        tree.WriteText("train.txt", string.Join("\n", lines));
        var dataset = new FileListDataset(tree.Root, tree.PathOf("train.txt"), numClasses: 2);

        foreach (int workers in new[] { 0, 3 })
        {
            var loader = new DataLoader(dataset, new DataLoaderOptions(BatchSize: 2, NumWorkers: workers));
            var seen = new List<Batch>();
            var error = Assert.Throws<SampleLoadException>(() =>
            {
                foreach (var batch in loader.Epoch(0))
                    seen.Add(batch);
            });
            Assert.Equal(2, seen.Count);
            Assert.Equal(4, error.Index);
            Assert.Contains(tree.PathOf("img/4.png"), error.Message);
        }
    }

    [Fact]
    public void StoppingEarlyReleasesTheWorkers()
    {
        var loader = new DataLoader(Augmented(30), new DataLoaderOptions(BatchSize: 1, NumWorkers: 3, PrefetchFactor: 1));
        var firstTwo = loader.Epoch(0).Take(2).ToList();
        Assert.Equal([0, 1], firstTwo.Select(b => b.Indices[0]));
        Assert.Equal(loader.Epoch(0).First().Images, firstTwo[0].Images);
    }

    [Fact]
    public void WorkersNeverRunMoreThanThePrefetchWindowAhead()
    {
        var dataset = new WatchedDataset(count: 40);
        var loader = new DataLoader(dataset, new DataLoaderOptions(BatchSize: 1, NumWorkers: 2, PrefetchFactor: 1));
        foreach (var batch in loader.Epoch(0))
            Interlocked.Increment(ref dataset.Consumed);
        Assert.Equal(40, dataset.Consumed);
        Assert.Empty(dataset.Violations);
    }

    /// <summary>Records any sample started more than the prefetch window (2 batches) ahead of the consumer.</summary>
    private sealed class WatchedDataset(int count) : SegDataset(2, DatasetMode.Train, null, SegSample.IgnoreIndex)
    {
        public int Consumed;
        public readonly System.Collections.Concurrent.ConcurrentBag<string> Violations = [];

        public override int Count => count;

        public override string SourceName(int index) => $"watched {index}";

        protected override SegSample LoadUnchecked(int index)
        {
            int consumed = Volatile.Read(ref Consumed);
            if (index > consumed + 2)
                Violations.Add($"sample {index} started with {consumed} consumed");
            return new SegSample(new Image<float>(1, 1, 1), new Image<int>(1, 1, 1));
        }
    }

    [Fact]
    public void SamplesOfDifferentSizesCannotBeBatched()
    {
        var a = new SegSample(new Image<float>(2, 2, 3), null, "a.png");
        var b = new SegSample(new Image<float>(2, 3, 3), null, "b.png");
        var error = Assert.Throws<InvalidDataException>(() => Batch.Collate([a, b], [0, 1]));
        Assert.Contains("b.png (2×3×3)", error.Message);
        Assert.Contains("a.png (2×2×3)", error.Message);
    }

    [Fact]
    public void BatchesConvertToNchwImageAndInt64LabelTensors()
    {
        var image = new Image<float>(2, 3, 2, [.. Enumerable.Range(0, 12).Select(v => (float)v)]);
        var label = new Image<int>(2, 3, 1, [0, 1, 255, 2, 1, 0]);
        var batch = Batch.Collate([new SegSample(image, label, "a.png"), new SegSample(image, label, "b.png")], [0, 1]);

        var images = batch.ImageTensor();
        Assert.Equal(new Shape(2, 2, 2, 3), images.Shape);
        // CHW: channel 0 holds the even HWC samples, channel 1 the odd ones.
        Assert.Equal(new[] { 0f, 2f, 4f, 6f, 8f, 10f, 1f, 3f, 5f, 7f, 9f, 11f }, images.Select(0, 0).ToArray());
        var labels = batch.LabelTensor();
        Assert.Equal(DType.Int64, labels.DType);
        Assert.Equal(new long[] { 0, 1, 255, 2, 1, 0 }, labels.Select(0, 1).ToArray<long>());

        var unlabeled = Batch.Collate([new SegSample(image, null, "c.png")], [0]);
        Assert.Throws<InvalidOperationException>(() => unlabeled.LabelTensor());
    }
}
