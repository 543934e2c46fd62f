using System.Globalization;

namespace SharpSeg.Training.Checkpoints;

/// <summary>
/// The checkpoint folders of a training run's save directory: <c>epoch_1</c>, <c>epoch_2</c> … (the last N kept) and
/// <c>best_model</c>. Equivalent to PaddleX 1.x's <c>save_dir/epoch_{i}</c> and <c>save_dir/best_model</c>, and to
/// PaddleSeg's <c>keep_checkpoint_max</c> rotation of <c>iter_{i}</c> folders.
/// </summary>
public static class CheckpointFolders
{
    /// <summary>Name of the best-model folder.</summary>
    public const string BestModelFolderName = "best_model";

    private const string EpochPrefix = "epoch_";

    /// <summary>The folder for the checkpoint after epoch <paramref name="epoch"/>: <c>saveDir/epoch_{epoch}</c>.</summary>
    public static string EpochFolder(string saveDir, int epoch)
    {
        ArgumentException.ThrowIfNullOrEmpty(saveDir);
        ArgumentOutOfRangeException.ThrowIfLessThan(epoch, 1, nameof(epoch));
        return Path.Combine(saveDir, string.Create(CultureInfo.InvariantCulture, $"{EpochPrefix}{epoch}"));
    }

    /// <summary>The best-model folder: <c>saveDir/best_model</c>.</summary>
    public static string BestModelFolder(string saveDir)
    {
        ArgumentException.ThrowIfNullOrEmpty(saveDir);
        return Path.Combine(saveDir, BestModelFolderName);
    }

    /// <summary>The <c>epoch_N</c> folders of <paramref name="saveDir"/> by ascending N (numerically: epoch_10 after epoch_9); empty when the folder does not exist.</summary>
    public static IReadOnlyList<(int Epoch, string Path)> EpochFolders(string saveDir)
    {
        ArgumentException.ThrowIfNullOrEmpty(saveDir);
        if (!Directory.Exists(saveDir)) return [];
        var folders = new List<(int, string)>();
        foreach (string path in Directory.EnumerateDirectories(saveDir, EpochPrefix + "*"))
        {
            string suffix = Path.GetFileName(path)[EpochPrefix.Length..];
            if (int.TryParse(suffix, NumberStyles.None, CultureInfo.InvariantCulture, out int epoch) && epoch > 0
                && suffix == epoch.ToString(CultureInfo.InvariantCulture))
                folders.Add((epoch, path));
        }
        folders.Sort((a, b) => a.Item1.CompareTo(b.Item1));
        return folders;
    }

    /// <summary>
    /// The newest epoch checkpoint that has a <c>state.json</c>, or null: where to resume an interrupted run from.
    /// </summary>
    public static string? LatestEpochFolder(string saveDir) =>
        EpochFolders(saveDir).Reverse().Select(f => f.Path).FirstOrDefault(p => File.Exists(Path.Combine(p, Checkpoint.StateFileName)));

    /// <summary>
    /// Deletes all but the <paramref name="keep"/> highest-numbered <c>epoch_N</c> folders with N ≤
    /// <paramref name="upToEpoch"/>; later folders (of a continuation abandoned by a resume from an earlier epoch, which
    /// the resumed run replaces as it reaches them), <c>best_model</c> and other folders are never touched. Returns the
    /// deleted paths. Equivalent to PaddleSeg's <c>keep_checkpoint_max</c>.
    /// </summary>
    public static IReadOnlyList<string> KeepLast(string saveDir, int keep, int upToEpoch = int.MaxValue)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(keep, 1, nameof(keep));
        var folders = EpochFolders(saveDir).Where(f => f.Epoch <= upToEpoch).ToList();
        var removed = new List<string>();
        foreach (var (_, path) in folders.Take(Math.Max(0, folders.Count - keep)))
        {
            Directory.Delete(path, recursive: true);
            removed.Add(path);
        }
        return removed;
    }

    /// <summary>
    /// Replaces <c>saveDir/best_model</c> atomically with a copy of the checkpoint at <paramref name="sourceFolder"/>
    /// (its files checked first), without the optimizer state unless <paramref name="includeOptimizer"/>. Equivalent to
    /// PaddleX's <c>save_model(best_model_dir)</c> when the evaluation metric improves.
    /// </summary>
    /// <returns>The path of the best-model folder.</returns>
    public static string UpdateBestModel(string saveDir, string sourceFolder, bool includeOptimizer = false)
    {
        string best = BestModelFolder(saveDir);
        Checkpoint.Copy(sourceFolder, best, includeOptimizer);
        return best;
    }
}
