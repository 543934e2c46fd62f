using System.Globalization;
using System.Text.Json;
using SharpSeg.Nn;

namespace SharpSeg.Distributed.Tests;

/// <summary>
/// Data-parallel training over Open MPI end to end (issue 16): 2 ranks × batch B under <c>mpirun</c> follow one process
/// with batch 2B, step losses and final weights to 1e-5, with and without SyncBatchNorm, and sharded evaluation equals
/// the single-process metrics exactly. Without SyncBatchNorm the network has no BatchNorm: per-rank batch statistics
/// differ from those of one 2B batch by design (as in PyTorch), so only a BN-free step is a function of the 2B batch alone.
/// </summary>
public sealed class DistributedTrainingTests : IDisposable
{
    private const double Tolerance = 1e-5;

    private readonly string _root = Directory.CreateTempSubdirectory("sharpseg-mpi-train-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [MpiFact]
    public void Two_ranks_with_batch_2_follow_one_process_with_batch_4_and_evaluate_to_the_same_metrics() =>
        AssertRanksFollowOneProcess(batchNorm: false, syncBatchNorm: false);

    [MpiFact]
    public void With_sync_batch_norm_two_ranks_follow_one_process_running_statistics_included() =>
        AssertRanksFollowOneProcess(batchNorm: true, syncBatchNorm: true);

    private void AssertRanksFollowOneProcess(bool batchNorm, bool syncBatchNorm)
    {
        string bn = batchNorm ? "1" : "0", sync = syncBatchNorm ? "1" : "0";
        string singleResults = Path.Combine(_root, "single-results"), rankResults = Path.Combine(_root, "rank-results");
        var single = MpiJob.RunAlone("MpiProbe.dll", null, "train", bn, "0", "4", Path.Combine(_root, "single"), singleResults);
        var job = MpiJob.Run(2, "MpiProbe.dll", "train", bn, sync, "2", Path.Combine(_root, "ranks"), rankResults);

        Assert.True(single.ExitCode == 0, single.Output);
        Assert.True(job.ExitCode == 0, job.Output);
        var expected = ProbeRun.Parse(File.ReadAllLines(Path.Combine(singleResults, "rank0.txt")));
        Assert.Equal(4, expected.Losses.Count);
        for (int rank = 0; rank < 2; rank++)
        {
            var actual = ProbeRun.Parse(File.ReadAllLines(Path.Combine(rankResults, $"rank{rank}.txt")));
            AssertClose(expected.Losses, actual.Losses, $"rank {rank} step losses");
            Assert.Equal(expected.Weights.Keys, actual.Weights.Keys);
            foreach (var (key, values) in expected.Weights)
                AssertClose(values, actual.Weights[key], $"rank {rank} {key}");
            // 5 images over 2 ranks (3 + 2), confusion matrices summed: the very same metrics, to the last bit.
            Assert.Equal(expected.Evaluation, actual.Evaluation);
        }
    }

    [MpiFact]
    public void Sharpseg_train_distributed_sync_bn_on_two_ranks_equals_one_process_with_twice_the_batch()
    {
        string[] common =
        [
            "train", "--format", "synthetic", "--synthetic-train", "8", "--synthetic-val", "3", "--synthetic-size", "32,32", "--num-classes", "3",
            "--model", "hrnet", "--width", "18_small_v1", "--epochs", "1", "--no-flip", "--threads", "1", "--seed", "3", "--log-interval", "1",
        ];
        string alone = Path.Combine(_root, "alone"), shared = Path.Combine(_root, "shared");
        // The reference is a job of one rank with SyncBatchNorm too: its statistics are summed in double, one process's
        // BatchNorm sums in float, and on HRNet's deep low-resolution features that rounding alone moves weights by ~1e-5.
        var single = MpiJob.Run(1, "sharpseg.dll", [.. common, "--batch-size", "4", "--save-dir", alone, "--distributed", "--sync-bn"]);
        var job = MpiJob.Run(2, "sharpseg.dll", [.. common, "--batch-size", "2", "--save-dir", shared, "--distributed", "--sync-bn"]);

        Assert.True(single.ExitCode == 0, single.Output);
        Assert.True(job.ExitCode == 0, job.Output);
        // Rank 0 alone prints: one header, one summary.
        Assert.Single(job.Output.Split('\n'), line => line.StartsWith("Training hrnet", StringComparison.Ordinal));
        Assert.Single(job.Output.Split('\n'), line => line.StartsWith("Last checkpoint: ", StringComparison.Ordinal));
        AssertClose(StepLosses(alone), StepLosses(shared), "metrics.jsonl step losses");
        var expected = Safetensors.Load(Path.Combine(alone, "epoch_1", "model.safetensors"));
        var actual = Safetensors.Load(Path.Combine(shared, "epoch_1", "model.safetensors"));
        Assert.Equal(expected.Keys, actual.Keys);
        foreach (var (key, value) in expected)
            AssertClose(value.ToArray().Select(v => (double)v).ToList(), actual[key].ToArray().Select(v => (double)v).ToList(), key);
    }

    private static List<double> StepLosses(string saveDir) =>
        File.ReadLines(Path.Combine(saveDir, "metrics.jsonl")).Select(line => JsonDocument.Parse(line).RootElement)
            .Where(e => e.GetProperty("event").GetString() == "train").Select(e => e.GetProperty("loss").GetDouble()).ToList();

    private static void AssertClose(IReadOnlyList<double> expected, IReadOnlyList<double> actual, string what)
    {
        Assert.True(expected.Count == actual.Count, $"{what}: {actual.Count} values, expected {expected.Count}");
        for (int i = 0; i < expected.Count; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= Tolerance, $"{what}[{i}]: one process {expected[i]}, ranks {actual[i]}");
    }

    /// <summary>What MpiProbe's <c>train</c> scenario wrote for one rank.</summary>
    private sealed record ProbeRun(List<double> Losses, Dictionary<string, List<double>> Weights, string Evaluation)
    {
        public static ProbeRun Parse(IReadOnlyList<string> lines)
        {
            static List<double> Numbers(string text) =>
                text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToList();
            var losses = Numbers(lines.Single(l => l.StartsWith("losses ", StringComparison.Ordinal))["losses ".Length..]);
            var weights = lines.Where(l => l.StartsWith("weight ", StringComparison.Ordinal)).Select(l => l["weight ".Length..].Split(' ', 2))
                .ToDictionary(parts => parts[0], parts => Numbers(parts[1]));
            string evaluation = lines.Single(l => l.StartsWith("evaluation ", StringComparison.Ordinal))["evaluation ".Length..];
            return new ProbeRun(losses, weights, evaluation);
        }
    }
}
