using SharpSeg.Nn.Distributed;

namespace SharpSeg.Nn.Tests.Distributed;

public sealed class ThreadProcessGroupTests
{
    [Fact]
    public void Sums_are_taken_in_rank_order_and_equal_on_every_rank()
    {
        // Rank order fixes float rounding: ((1e8 + 1) + (−1e8)) = 0 in float32, while (1e8 + (−1e8)) + 1 = 1.
        float[] contributions = [1e8f, 1f, -1e8f];
        var results = ThreadProcessGroup.Run(3, group =>
        {
            Span<float> values = [contributions[group.Rank], group.Rank];
            group.AllReduceSum(values);
            Span<long> counts = [group.Rank + 1L];
            group.AllReduceSum(counts);
            var buffer = new float[] { 0f, group.Rank * 10f, 7f };
            var pending = group.StartAllReduceSum(buffer, 1, 2);
            pending.Wait();
            return (values[0], values[1], counts[0], buffer);
        });
        foreach (var (sum, ranks, count, buffer) in results)
        {
            Assert.Equal(1e8f + 1f + -1e8f, sum);
            Assert.Equal(0f, sum);
            Assert.Equal(3f, ranks);
            Assert.Equal(6L, count);
            Assert.Equal([0f, 30f, 21f], buffer);
        }
    }

    [Fact]
    public void Broadcast_and_all_gather_move_each_ranks_data()
    {
        var results = ThreadProcessGroup.Run(3, group =>
        {
            float[] floats = [group.Rank, group.Rank * 2];
            group.Broadcast(floats.AsSpan(), root: 2);
            byte[] bytes = [(byte)(group.Rank + 1)];
            group.Broadcast(bytes.AsSpan(), root: 1);
            var gathered = group.AllGather(Enumerable.Repeat((byte)group.Rank, group.Rank + 1).ToArray());
            group.Barrier();
            return (floats, bytes, gathered);
        });
        foreach (var (floats, bytes, gathered) in results)
        {
            Assert.Equal([2f, 4f], floats);
            Assert.Equal([(byte)2], bytes);
            Assert.Equal([[0], [1, 1], [2, 2, 2]], gathered);
        }
    }

    [Fact]
    public void An_aborting_rank_makes_the_others_pending_collectives_throw_naming_it()
    {
        var error = Assert.Throws<AggregateException>(() => ThreadProcessGroup.Run(2, group =>
        {
            if (group.Rank == 1) throw new InvalidDataException("sample 7 is corrupt");
            Span<float> values = [1f];
            group.AllReduceSum(values);   // would wait for rank 1 forever without the abort
            return 0;
        }));
        Assert.Equal(2, error.InnerExceptions.Count);
        Assert.Contains(error.InnerExceptions, e => e is InvalidDataException);
        var aborted = Assert.Single(error.InnerExceptions.OfType<ProcessGroupAbortedException>());
        Assert.Contains("rank 1 of 2", aborted.Message);
        Assert.Contains("sample 7 is corrupt", aborted.Message);
    }

    [Fact]
    public void Collectives_that_differ_across_ranks_fail_on_every_rank()
    {
        var error = Assert.Throws<AggregateException>(() => ThreadProcessGroup.Run(2, group =>
        {
            var values = new float[group.Rank + 1];
            group.AllReduceSum(values.AsSpan());
            return 0;
        }));
        Assert.All(error.InnerExceptions, e => Assert.Contains("does not match across ranks", e.Message));
    }
}
