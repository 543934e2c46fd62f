using SharpSeg.Data.Loading;
using SharpSeg.Data.Synthetic;
using SharpSeg.Data.Transforms;

namespace SharpSeg.Data.Tests.Loading;

public class DistributedSamplerTests
{
    // An order as one epoch's shuffle might give it.
    private static readonly int[] Order = [7, 2, 9, 0, 4, 1, 8, 3, 6, 5];

    [Fact]
    public void PaddedShardsAreEqualStridedAndRepeatTheOrdersStart()
    {
        // 10 samples on 3 ranks: padded to 12 with the first two, rank r takes positions r, r + 3, … (PyTorch's sampler).
        var shards = Enumerable.Range(0, 3).Select(r => new DistributedSampler(3, r).Shard(Order)).ToArray();
        Assert.Equal([7, 0, 8, 5], shards[0]);
        Assert.Equal([2, 4, 3, 7], shards[1]);
        Assert.Equal([9, 1, 6, 2], shards[2]);
        Assert.All(Enumerable.Range(0, 3), r => Assert.Equal(4, new DistributedSampler(3, r).ShardSize(10)));
        Assert.Equal(Order.Concat(Order.Take(2)).Order(), shards.SelectMany(s => s).Order());
    }

    [Fact]
    public void DropLastCutsTheOrderToAMultipleOfTheRanks()
    {
        var shards = Enumerable.Range(0, 3).Select(r => new DistributedSampler(3, r, DropLast: true).Shard(Order)).ToArray();
        Assert.Equal([[7, 0, 8], [2, 4, 3], [9, 1, 6]], shards);
        Assert.Equal(Order.Take(9).Order(), shards.SelectMany(s => s).Order());
    }

    [Fact]
    public void UnevenShardsCoverTheOrderExactlyOnce()
    {
        var shards = Enumerable.Range(0, 3).Select(r => new DistributedSampler(3, r, EvenShards: false).Shard(Order)).ToArray();
        Assert.Equal([4, 3, 3], shards.Select(s => s.Length));
        Assert.Equal(Order.Order(), shards.SelectMany(s => s).Order());
        // One sample on two ranks: rank 1 evaluates nothing rather than a duplicate.
        Assert.Equal(1, new DistributedSampler(2, 0, EvenShards: false).ShardSize(1));
        Assert.Empty(new DistributedSampler(2, 1, EvenShards: false).Shard([5]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new DistributedSampler(2, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => new DistributedSampler(0, 0));
    }

    [Fact]
    public void TwoRanksWithBatchBLoadStepByStepTheSamplesOfOneProcessWithBatch2BIdenticallyAugmented()
    {
        var dataset = new SyntheticDataset(new SyntheticOptions(Count: 11, Height: 16, Width: 16, NumClasses: 3, Seed: 4),
            transforms: new Compose(new RandomHorizontalFlip(), new RandomDistort(), new Normalize()));
        var single = new DataLoader(dataset, new DataLoaderOptions(BatchSize: 4, Shuffle: true, DropLast: true, Seed: 9));
        var ranks = Enumerable.Range(0, 2).Select(r => new DataLoader(dataset,
            new DataLoaderOptions(BatchSize: 2, Shuffle: true, DropLast: true, Seed: 9, Sampler: new DistributedSampler(2, r, DropLast: true)))).ToArray();

        for (int epoch = 1; epoch <= 2; epoch++)
        {
            var expected = single.Epoch(epoch).ToList();
            var perRank = ranks.Select(l => l.Epoch(epoch).ToList()).ToArray();
            Assert.Equal(2, expected.Count);   // 11 samples: floor(11 / 4) steps either way
            Assert.All(perRank, batches => Assert.Equal(expected.Count, batches.Count));
            for (int step = 0; step < expected.Count; step++)
            {
                var batch = expected[step];
                int plane = batch.Channels * batch.Height * batch.Width;
                for (int rank = 0; rank < 2; rank++)
                    for (int j = 0; j < 2; j++)
                    {
                        // Local position p = 2·step + j of rank r is global position 2p + r, i.e. entry 2j + r of the single batch.
                        int k = 2 * j + rank;
                        Assert.Equal(batch.Indices[k], perRank[rank][step].Indices[j]);
                        Assert.Equal(batch.Images.AsSpan(k * plane, plane).ToArray(), perRank[rank][step].Images.AsSpan(j * plane, plane).ToArray());
                    }
            }
        }
    }
}
