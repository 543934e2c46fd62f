using SharpSeg.Cli;
using SharpSeg.Data;
using SharpSeg.Data.Transforms;
using SharpSeg.Models;
using SharpSeg.Training;

namespace SharpSeg.Distributed.Tests;

/// <summary>A tiny saved DeepLabV3+ and five images in a folder, for the <c>predict --distributed</c> tests.</summary>
public sealed class TinyModelAndImages : IDisposable
{
    public TinyModelAndImages()
    {
        Directory.CreateDirectory(Images);
        Engine.ManualSeed(5);
        var options = new DeepLabV3PlusOptions(3, Backbone: "resnet18_vd", AsppOutChannels: 8, LowLevelChannels: 8);
        new Segmenter("deeplabv3p", 3, options: options) { Transforms = new Normalize() }.Save(ModelFolder);
        var random = new Random(3);
        foreach (string name in Names)
        {
            var image = new Image<byte>(20, 28, 3);
            random.NextBytes(image.Pixels);
            ImageFile.WritePng(Path.Combine(Images, name + ".png"), image);
        }
    }

    public static readonly string[] Names = ["a", "b", "c", "d", "e"];

    public string Root { get; } = Directory.CreateTempSubdirectory("sharpseg-mpi-").FullName;

    public string ModelFolder => Path.Combine(Root, "model");

    public string Images => Path.Combine(Root, "images");

    public void Dispose() => Directory.Delete(Root, recursive: true);
}

/// <summary>
/// <c>sharpseg predict --distributed</c> under <c>mpirun -np 2</c>: the ranks share the images (contiguous shards, 2 and
/// 3 of 5), write exactly the files a single process writes, and only rank 0 prints; a rank that fails ends the job.
/// </summary>
public sealed class PredictShardingTests(TinyModelAndImages data) : IClassFixture<TinyModelAndImages>
{
    [MpiFact]
    public void Two_ranks_write_the_same_files_as_one_process_and_rank_0_prints_the_total()
    {
        string alone = Path.Combine(data.Root, "alone"), shared = Path.Combine(data.Root, "shared");
        var single = MpiJob.RunAlone("sharpseg.dll", null, "predict", "--model-dir", data.ModelFolder, data.Images, "-o", alone);
        var job = MpiJob.Run(2, "sharpseg.dll", "predict", "--distributed", "--model-dir", data.ModelFolder, data.Images, "-o", shared);

        Assert.True(single.ExitCode == 0, single.Output);
        Assert.True(job.ExitCode == 0, job.Output);
        string[] files = [.. Directory.GetFiles(alone).Select(Path.GetFileName).Order(StringComparer.Ordinal)!];
        Assert.Equal(TinyModelAndImages.Names.Length * 3, files.Length);
        Assert.Equal(files, Directory.GetFiles(shared).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        foreach (string file in files)
            Assert.Equal(File.ReadAllBytes(Path.Combine(alone, file)), File.ReadAllBytes(Path.Combine(shared, file)));
        // Rank 0 alone prints: its own two images, then the total over both ranks, once.
        Assert.Contains("Predicting 5 image(s) with deeplabv3p", job.Output);
        Assert.Contains("on 2 ranks (rank 0 takes 2)", job.Output);
        Assert.Single(job.Output.Split('\n'), line => line.StartsWith("Wrote 5 prediction(s) to ", StringComparison.Ordinal));
        Assert.Contains(Path.Combine(data.Images, "b.png") + " → ", job.Output);
        Assert.DoesNotContain(Path.Combine(data.Images, "c.png") + " → ", job.Output);
    }

    [MpiFact]
    public void A_rank_that_cannot_read_its_image_ends_the_job_naming_rank_and_file()
    {
        string images = Path.Combine(data.Root, "with-broken");
        Directory.CreateDirectory(images);
        foreach (string name in TinyModelAndImages.Names)
            File.Copy(Path.Combine(data.Images, name + ".png"), Path.Combine(images, name + ".png"));
        // e.png is the last image, in rank 1's shard; rank 0 finishes and waits for rank 1 in the final sum.
        File.WriteAllText(Path.Combine(images, "e.png"), "not a PNG");

        var job = MpiJob.Run(2, "sharpseg.dll", "predict", "--distributed", "--model-dir", data.ModelFolder, images, "-o", Path.Combine(data.Root, "broken-out"));

        Assert.NotEqual(0, job.ExitCode);
        Assert.True(job.Elapsed < TimeSpan.FromSeconds(30), $"the job took {job.Elapsed}:\n{job.Output}");
        Assert.Matches(@"rank 1 of 2: error: .*e\.png", job.Output);
        Assert.DoesNotContain("Wrote 5 prediction(s)", job.Output);
    }

    [Theory]
    [InlineData(1, 16, 2, true)]   // mpirun's default binding for -np 2 on a 16-core machine
    [InlineData(16, 16, 2, false)] // --bind-to none
    [InlineData(8, 16, 2, false)]  // --map-by socket --bind-to socket on two sockets
    [InlineData(1, 2, 2, false)]   // one core per rank is this machine's share
    public void A_rank_bound_to_fewer_cores_than_its_share_gets_a_note_naming_bind_to_none(int usable, int online, int ranks, bool noted)
    {
        string? note = DistributedArguments.BindingNote(usable, online, ranks);

        Assert.Equal(noted, note is not null);
        if (noted) Assert.Contains($"mpirun --bind-to none and give each rank --threads {online / ranks}", note);
    }

    [Fact]
    public void Shards_cover_every_item_once_in_order_with_sizes_that_differ_by_at_most_one()
    {
        for (int count = 0; count <= 12; count++)
            for (int size = 1; size <= 5; size++)
            {
                var shards = Enumerable.Range(0, size).Select(rank => DistributedArguments.Shard(count, rank, size)).ToList();
                Assert.Equal(Enumerable.Range(0, count), shards.SelectMany(s => Enumerable.Range(s.Start, s.Count)));
                Assert.True(shards.Max(s => s.Count) - shards.Min(s => s.Count) <= 1, $"{count} items over {size} ranks: {string.Join(", ", shards)}");
            }
    }
}
