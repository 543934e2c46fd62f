namespace SharpSeg.Data.Loading;

/// <summary>
/// The share of each epoch's sample order that one rank of a data-parallel job loads: PyTorch's
/// <c>torch.utils.data.distributed.DistributedSampler</c> (PaddlePaddle's <c>DistributedBatchSampler</c>). The order is the
/// one a single-process <see cref="DataLoader"/> with the same seed uses (one shuffle per epoch from the shared seed);
/// rank r of N takes positions r, r + N, r + 2N, … of it. With even shards the order is first padded by repeating its start
/// until its length is a multiple of N (<see cref="DropLast"/> false) or cut to the largest multiple of N
/// (<see cref="DropLast"/> true), so every rank gets the same number of samples; uneven shards (evaluation) take the order as
/// it is, and the shards' union is then the dataset exactly once.
/// <para>
/// The mapping to a single process: local position p of rank r is global position N·p + r, so batch k of batch size B on
/// every rank together holds global positions N·B·k … N·B·(k + 1) − 1 — exactly batch k of one process with batch size
/// N·B. Each sample is still transformed with its own random stream from (seed, epoch, dataset index), so it is augmented
/// exactly as in that single process.
/// </para>
/// </summary>
/// <param name="NumReplicas">Ranks of the job (<c>num_replicas</c>).</param>
/// <param name="Rank">This rank, 0 … <paramref name="NumReplicas"/> − 1.</param>
/// <param name="DropLast">With even shards, cut the order instead of padding it (<c>drop_last</c>).</param>
/// <param name="EvenShards">Give every rank the same number of samples (padding or cutting); false leaves the last shards one shorter, for evaluation.</param>
public sealed record DistributedSampler(int NumReplicas, int Rank, bool DropLast = false, bool EvenShards = true)
{
    /// <summary>Ranks of the job (at least 1).</summary>
    public int NumReplicas { get; } = NumReplicas >= 1 ? NumReplicas
        : throw new ArgumentOutOfRangeException(nameof(NumReplicas), NumReplicas, "DistributedSampler: there must be at least one replica.");

    /// <summary>This rank, 0 … <see cref="NumReplicas"/> − 1.</summary>
    public int Rank { get; } = Rank >= 0 && Rank < NumReplicas ? Rank
        : throw new ArgumentOutOfRangeException(nameof(Rank), Rank, $"DistributedSampler: the rank must be 0 … {NumReplicas - 1}.");

    /// <summary>How many samples this rank gets from an order of <paramref name="count"/> samples (<c>len(sampler)</c>).</summary>
    public int ShardSize(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (!EvenShards) return (count - Rank + NumReplicas - 1) / NumReplicas;
        return DropLast ? count / NumReplicas : (count + NumReplicas - 1) / NumReplicas;
    }

    /// <summary>This rank's samples of <paramref name="order"/>: positions Rank, Rank + N, … after padding or cutting.</summary>
    /// <exception cref="ArgumentException">Padding is needed but the order is empty.</exception>
    public int[] Shard(ReadOnlySpan<int> order)
    {
        int size = ShardSize(order.Length);
        if (size > 0 && order.Length == 0) throw new ArgumentException("DistributedSampler: cannot pad an empty order.", nameof(order));
        var shard = new int[size];
        for (int p = 0; p < size; p++)
        {
            // Padding repeats the order from its start (wrapping again if it is shorter than the padding).
            shard[p] = order[(NumReplicas * p + Rank) % order.Length];
        }
        return shard;
    }
}
