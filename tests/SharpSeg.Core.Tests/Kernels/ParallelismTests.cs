using SharpSeg.Kernels;

namespace SharpSeg.Core.Tests.Kernels;

/// <summary>The kernels' fork/join: every piece runs exactly once, whatever thread runs it and whoever else is calling.</summary>
public sealed class ParallelismTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(7)]
    [InlineData(64)]
    public void Every_piece_runs_exactly_once(int pieces)
    {
        var counts = new int[pieces];
        for (int repeat = 0; repeat < 200; repeat++)
            Parallelism.Run(pieces, p => Interlocked.Increment(ref counts[p]));
        Assert.All(counts, c => Assert.Equal(200, c));
    }

    [Fact]
    public void A_call_inside_a_piece_runs_all_its_pieces()
    {
        var counts = new int[4 * 5];
        Parallelism.Run(4, outer => Parallelism.Run(5, inner => Interlocked.Increment(ref counts[outer * 5 + inner])));
        Assert.All(counts, c => Assert.Equal(1, c));
    }

    [Fact]
    public void Calls_from_several_threads_at_once_each_run_all_their_pieces()
    {
        const int callers = 4, calls = 300, pieces = 3;
        var counts = new int[callers, pieces];
        var threads = Enumerable.Range(0, callers).Select(t => new Thread(() =>
        {
            for (int i = 0; i < calls; i++) Parallelism.Run(pieces, p => Interlocked.Increment(ref counts[t, p]));
        })).ToArray();
        foreach (var thread in threads) thread.Start();
        foreach (var thread in threads) thread.Join();
        for (int t = 0; t < callers; t++)
            for (int p = 0; p < pieces; p++)
                Assert.Equal(calls, counts[t, p]);
    }

    [Fact]
    public void An_exception_in_a_piece_reaches_the_caller_and_the_next_call_still_works()
    {
        // Wrapped in an AggregateException when the pieces ran on several threads (as Parallel.For does), bare when on one.
        var error = Record.Exception(() => Parallelism.Run(8, p =>
        {
            if (p == 5) throw new InvalidOperationException("piece 5 failed");
        }));
        var inner = error is AggregateException aggregate ? Assert.Single(aggregate.InnerExceptions) : error;
        Assert.Equal("piece 5 failed", Assert.IsType<InvalidOperationException>(inner).Message);

        var counts = new int[8];
        Parallelism.Run(8, p => Interlocked.Increment(ref counts[p]));
        Assert.All(counts, c => Assert.Equal(1, c));
    }

    [Fact]
    public void Ranges_cover_the_count_once_in_contiguous_pieces()
    {
        var seen = new int[1000];
        Parallelism.ForRange(seen.Length, 1, (start, end) =>
        {
            for (long i = start; i < end; i++) Interlocked.Increment(ref seen[i]);
        });
        Assert.All(seen, c => Assert.Equal(1, c));
    }
}
