using SharpSeg.Data.Loading;

namespace SharpSeg.Detection.Data;

/// <summary>
/// Iterates a <see cref="DetectionDataset"/> in <see cref="DetectionBatch"/>es with the segmentation loader's settings
/// and guarantees: per-epoch shuffling, <c>drop_last</c>, and results that depend only on the seed — sample <c>i</c> of
/// epoch <c>e</c> is transformed with its own <see cref="Random"/> seeded from (seed, e, i), whatever the worker count.
/// With <see cref="DataLoaderOptions.NumWorkers"/> &gt; 0 the samples of a batch load in parallel and the next batch is
/// built while the caller uses the current one. Equivalent to <c>torch.utils.data.DataLoader(dataset, batch_size,
/// shuffle, collate_fn=lambda b: tuple(zip(*b)))</c> as torchvision's detection references use it.
/// </summary>
public sealed class DetectionDataLoader
{
    /// <summary>Creates the loader.</summary>
    public DetectionDataLoader(DetectionDataset dataset, DataLoaderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        Dataset = dataset;
        Options = options ?? new DataLoaderOptions();
        if (Options.BatchSize <= 0 || Options.NumWorkers < 0)
            throw new ArgumentException($"DetectionDataLoader needs BatchSize > 0 and NumWorkers ≥ 0, got {Options}.");
    }

    /// <summary>The dataset read.</summary>
    public DetectionDataset Dataset { get; }

    /// <summary>The settings (<see cref="DataLoaderOptions.PrefetchFactor"/> is not used: one batch is built ahead).</summary>
    public DataLoaderOptions Options { get; }

    /// <summary>Batches one epoch yields.</summary>
    public int BatchesPerEpoch => Options.DropLast
        ? Dataset.Count / Options.BatchSize
        : (Dataset.Count + Options.BatchSize - 1) / Options.BatchSize;

    /// <summary>The dataset indices in the order epoch <paramref name="epoch"/> visits them.</summary>
    public int[] Order(int epoch)
    {
        var order = Enumerable.Range(0, Dataset.Count).ToArray();
        if (Options.Shuffle)
            new Random(SeedMixer.Mix(Options.Seed, epoch, -1)).Shuffle(order);
        return order;
    }

    /// <summary>
    /// The batches of epoch <paramref name="epoch"/> from batch <paramref name="firstBatch"/> on. A failing sample is
    /// rethrown as a <see cref="SampleLoadException"/> naming its index and source.
    /// </summary>
    public IEnumerable<DetectionBatch> Epoch(int epoch, int firstBatch = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(firstBatch);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(firstBatch, BatchesPerEpoch);
        return Batches(epoch, firstBatch);
    }

    private IEnumerable<DetectionBatch> Batches(int epoch, int firstBatch)
    {
        var order = Order(epoch);
        int batches = BatchesPerEpoch;
        if (Options.NumWorkers == 0)
        {
            for (int b = firstBatch; b < batches; b++)
                yield return Build(epoch, order, b);
            yield break;
        }
        Task<DetectionBatch>? next = firstBatch < batches ? Task.Run(() => Build(epoch, order, firstBatch)) : null;
        for (int b = firstBatch; b < batches; b++)
        {
            var current = next!.GetAwaiter().GetResult();
            int following = b + 1;
            next = following < batches ? Task.Run(() => Build(epoch, order, following)) : null;
            yield return current;
        }
    }

    private DetectionBatch Build(int epoch, int[] order, int batchIndex)
    {
        int start = batchIndex * Options.BatchSize, count = Math.Min(Options.BatchSize, order.Length - start);
        var samples = new DetectionSample[count];
        void LoadOne(int k)
        {
            int index = order[start + k];
            try
            {
                samples[k] = Dataset.Get(index, new Random(SeedMixer.Mix(Options.Seed, epoch, index)));
            }
            catch (Exception error)
            {
                throw new SampleLoadException(index, Dataset.SourceName(index), error);
            }
        }
        if (Options.NumWorkers > 0)
        {
            try
            {
                Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = Options.NumWorkers }, LoadOne);
            }
            catch (AggregateException error) when (error.InnerExceptions.FirstOrDefault() is SampleLoadException first)
            {
                throw first;
            }
        }
        else
            for (int k = 0; k < count; k++)
                LoadOne(k);
        return DetectionBatch.Collate(samples, order.AsSpan(start, count).ToArray());
    }
}

