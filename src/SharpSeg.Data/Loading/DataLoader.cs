using SharpSeg.Data.Datasets;
using SharpSeg.Data.Transforms;

namespace SharpSeg.Data.Loading;

/// <summary>Settings of a <see cref="DataLoader"/>.</summary>
/// <param name="BatchSize">Samples per batch.</param>
/// <param name="Shuffle">Draw a new sample order every epoch (from <paramref name="Seed"/> and the epoch).</param>
/// <param name="DropLast">Leave out a final batch smaller than <paramref name="BatchSize"/>.</param>
/// <param name="Seed">Fixes the order and every sample's augmentation.</param>
/// <param name="NumWorkers">Background threads building batches; 0 builds them on the caller's thread.</param>
/// <param name="PrefetchFactor">Batches each worker may build ahead of the consumer (the queue bound is this × workers).</param>
/// <param name="Sampler">
/// This rank's share of every epoch's order in a data-parallel job (<c>DataLoader(sampler=DistributedSampler(…))</c>); null
/// loads the whole order. Batching, <paramref name="DropLast"/> and augmentation seeds then apply to the shard.
/// </param>
public sealed record DataLoaderOptions(int BatchSize = 1, bool Shuffle = false, bool DropLast = false, int Seed = 0,
    int NumWorkers = 0, int PrefetchFactor = 2, DistributedSampler? Sampler = null);

/// <summary>
/// Loading sample <see cref="Index"/> failed; the message names its source file and what went wrong, and
/// <see cref="Exception.InnerException"/> holds the original error.
/// </summary>
public sealed class SampleLoadException(int index, string source, Exception inner)
    : Exception($"Loading sample {index} ({source}) failed: {inner.Message}", inner)
{
    /// <summary>The dataset index of the failing sample.</summary>
    public int Index { get; } = index;

    /// <summary>The sample's source (its image file, for file datasets).</summary>
    public string SampleSource { get; } = source;
}

/// <summary>
/// Iterates a <see cref="SegDataset"/> in batches: per-epoch shuffling, <c>drop_last</c>, background workers
/// with a bounded prefetch queue, and results that depend only on the seed, never on the worker count — sample
/// <c>i</c> of epoch <c>e</c> is transformed with its own <see cref="Random"/> seeded from (seed, e, i).
/// Equivalent to <c>paddle.io.DataLoader(dataset, batch_size, shuffle, drop_last, num_workers)</c> /
/// <c>torch.utils.data.DataLoader</c> with a seeded worker init.
/// </summary>
public sealed class DataLoader
{
    /// <summary>Creates the loader.</summary>
    public DataLoader(SegDataset dataset, DataLoaderOptions? options = null)
    {
        Dataset = dataset;
        Options = options ?? new DataLoaderOptions();
        if (Options.BatchSize <= 0 || Options.NumWorkers < 0 || Options.PrefetchFactor <= 0)
            throw new ArgumentException(
                $"DataLoader needs BatchSize > 0, NumWorkers ≥ 0 and PrefetchFactor > 0, got {Options}.");
    }

    /// <summary>The dataset read.</summary>
    public SegDataset Dataset { get; }

    /// <summary>The settings.</summary>
    public DataLoaderOptions Options { get; }

    /// <summary>Batches one epoch yields (<c>len(loader)</c>).</summary>
    public int BatchesPerEpoch => Options.DropLast
        ? SamplesPerEpoch / Options.BatchSize
        : (SamplesPerEpoch + Options.BatchSize - 1) / Options.BatchSize;

    /// <summary>Samples one epoch visits: the dataset, or this rank's shard of it.</summary>
    public int SamplesPerEpoch => Options.Sampler?.ShardSize(Dataset.Count) ?? Dataset.Count;

    /// <summary>
    /// The dataset indices in the order epoch <paramref name="epoch"/> visits them; with a <see cref="DataLoaderOptions.Sampler"/>
    /// this rank's shard of the order a loader without one visits.
    /// </summary>
    public int[] Order(int epoch)
    {
        var order = Enumerable.Range(0, Dataset.Count).ToArray();
        if (Options.Shuffle)
            new Random(SeedMixer.Mix(Options.Seed, epoch, -1)).Shuffle(order);
        return Options.Sampler is { } sampler ? sampler.Shard(order) : order;
    }

    /// <summary>The seed of the <see cref="Random"/> that transforms sample <paramref name="index"/> in epoch <paramref name="epoch"/>.</summary>
    public int SampleSeed(int epoch, int index) => SeedMixer.Mix(Options.Seed, epoch, index);

    /// <summary>
    /// The batches of epoch <paramref name="epoch"/>, in order, from batch <paramref name="firstBatch"/> on (the earlier
    /// ones are neither loaded nor returned: a training run resumed in the middle of an epoch continues there). With
    /// workers, batches are built ahead on background threads (at most <c>PrefetchFactor × NumWorkers</c> at a time); an
    /// error in a worker is rethrown here as a <see cref="SampleLoadException"/> when its batch is reached. Stopping the
    /// enumeration early stops the workers.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="firstBatch"/> is negative or past the epoch's last batch.</exception>
    public IEnumerable<Batch> Epoch(int epoch, int firstBatch = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(firstBatch);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(firstBatch, BatchesPerEpoch);
        return Batches(epoch, firstBatch);
    }

    private IEnumerable<Batch> Batches(int epoch, int firstBatch)
    {
        var order = Order(epoch);
        int batches = BatchesPerEpoch;
        if (Options.NumWorkers == 0)
        {
            for (int b = firstBatch; b < batches; b++)
                yield return BuildBatch(epoch, order, b);
            yield break;
        }

        var results = new TaskCompletionSource<Batch>[batches];
        for (int b = 0; b < batches; b++)
            results[b] = new TaskCompletionSource<Batch>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var window = new SemaphoreSlim(Options.PrefetchFactor * Options.NumWorkers);
        using var stop = new CancellationTokenSource();
        int next = firstBatch - 1;
        void Work()
        {
            while (true)
            {
                try
                {
                    window.Wait(stop.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                int b = Interlocked.Increment(ref next);
                if (b >= batches)
                {
                    window.Release();   // lets the next waiting worker see the end too
                    return;
                }
                try
                {
                    results[b].SetResult(BuildBatch(epoch, order, b));
                }
                catch (Exception error)
                {
                    results[b].SetException(error);
                }
            }
        }
        var workers = Enumerable.Range(0, Options.NumWorkers)
            .Select(_ => Task.Factory.StartNew(Work, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default))
            .ToArray();
        try
        {
            for (int b = firstBatch; b < batches; b++)
            {
                var batch = results[b].Task.GetAwaiter().GetResult();
                window.Release();
                yield return batch;
            }
        }
        finally
        {
            stop.Cancel();
            Task.WaitAll(workers);
        }
    }

    private Batch BuildBatch(int epoch, int[] order, int batchIndex)
    {
        int start = batchIndex * Options.BatchSize, count = Math.Min(Options.BatchSize, order.Length - start);
        var samples = new SegSample[count];
        for (int k = 0; k < count; k++)
        {
            int index = order[start + k];
            try
            {
                samples[k] = Dataset.Get(index, new Random(SampleSeed(epoch, index)));
            }
            catch (Exception error)
            {
                throw new SampleLoadException(index, Dataset.SourceName(index), error);
            }
        }
        return Batch.Collate(samples, order.AsSpan(start, count).ToArray());
    }
}
