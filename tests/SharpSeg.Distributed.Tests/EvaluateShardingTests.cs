namespace SharpSeg.Distributed.Tests;

/// <summary>
/// <c>sharpseg evaluate --distributed</c> under <c>mpirun -np 2</c>: each rank evaluates its share of the images, the
/// confusion matrices are summed, and rank 0 writes the very metrics one process writes.
/// </summary>
public sealed class EvaluateShardingTests(TinyModelAndImages data) : IClassFixture<TinyModelAndImages>
{
    [MpiFact]
    public void Two_ranks_write_the_metrics_of_one_process_to_the_last_bit()
    {
        string[] common =
        [
            "evaluate", "--model-dir", data.ModelFolder, "--format", "synthetic", "--synthetic-val", "5", "--synthetic-size", "32,32",
            "--num-classes", "3", "--batch-size", "2",
        ];
        string alone = Path.Combine(data.Root, "alone.json"), shared = Path.Combine(data.Root, "shared.json");
        var single = MpiJob.RunAlone("sharpseg.dll", null, [.. common, "--json", alone]);
        var job = MpiJob.Run(2, "sharpseg.dll", [.. common, "--json", shared, "--distributed"]);

        Assert.True(single.ExitCode == 0, single.Output);
        Assert.True(job.ExitCode == 0, job.Output);
        // The JSON holds the confusion matrix and every metric: 5 images as 3 + 2 over the ranks give the same bytes.
        Assert.Equal(File.ReadAllText(alone), File.ReadAllText(shared));
        Assert.Contains("\"confusion_matrix\"", File.ReadAllText(shared));
        Assert.Single(job.Output.Split('\n'), line => line.StartsWith("Evaluating deeplabv3p", StringComparison.Ordinal));
    }
}
