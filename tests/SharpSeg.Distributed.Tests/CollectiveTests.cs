using System.Globalization;

namespace SharpSeg.Distributed.Tests;

/// <summary>
/// Every collective of <see cref="MpiProcessGroup"/> on a 2-rank mpirun job (tests/MpiProbe): both ranks hold exactly the
/// sums, broadcasts and gathers computed here, whole and with every call split into 12-byte chunks.
/// </summary>
public sealed class CollectiveTests
{
    [MpiFact]
    public void Two_ranks_get_exact_sums_broadcasts_and_gathers_from_every_collective()
    {
        var job = MpiJob.Run(2, "MpiProbe.dll", "collectives");

        Assert.True(job.ExitCode == 0, job.Output);
        // Rank r contributes the values below; MPI_SUM over r = 0, 1 in float, double and int64 arithmetic.
        float[] floats = [1 + 2, 0.25f + 0.5f, 0 + -3, 1e7f + (1e7f + 1), 7 + 7];
        double[] doubles = [0.1 + 0.2, 1e300 + 2e300, 0 + -1.0];
        long[] longs = [(1L << 60) + (1L << 60) + 1, -1 + -2];
        string[] expected =
        [
            "size 2",
            "float " + Join(floats),
            "double " + Join(doubles),
            "long " + Join(longs),
            // Only [2, 7) is summed (rank 0 holds 0…8, rank 1 10…18); the elements around it stay the rank's own.
            "nonblocking {0} {1} 14 16 18 20 22 {7} {8} | 1 2",
            "broadcast-float 1.5 2 43",
            "broadcast-byte " + Join(Enumerable.Range(0, 30).Select(i => (byte)(i * 3))),
            "allgather  | " + Join(Enumerable.Range(0, 17).Select(i => (byte)(i + 1))),
            "barrier passed",
            "nullref caught",
        ];
        for (int rank = 0; rank < 2; rank++)
        {
            var lines = job.Lines(rank);
            string[] once = expected.Select(line => string.Format(CultureInfo.InvariantCulture, line,
                Enumerable.Range(0, 9).Select(i => (object)(10 * rank + i)).ToArray())).ToArray();
            Assert.Equal([.. once, "chunked ", .. once], lines);
        }
    }

    [MpiFact]
    public void Started_without_mpirun_the_process_is_a_job_of_one_rank()
    {
        var job = MpiJob.RunAlone("MpiProbe.dll", null, "collectives");

        // Broadcasting from rank 1 is refused in a one-rank job, after every single-rank result was printed unchanged.
        Assert.NotEqual(0, job.ExitCode);
        var lines = job.Lines(0);
        Assert.Equal(["size 1", "float 1 0.25 0 10000000 7", "double 0.1 1E+300 0", "long 1152921504606846976 -1",
            "nonblocking 0 1 2 3 4 5 6 7 8 | 0 0"], lines);
        Assert.Contains("rank 0 of 1: ArgumentOutOfRangeException: Broadcast root 1 is not a rank of this job (0 … 0).", job.Output);
    }

    private static string Join<T>(IEnumerable<T> values) where T : IFormattable =>
        string.Join(' ', values.Select(v => v.ToString("R", CultureInfo.InvariantCulture)));
}
