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

    private const string EpochPrefix = "epoch_", StepInfix = "_step_";

    /// <summary>The folder for the checkpoint after epoch <paramref name="epoch"/>: <c>saveDir/epoch_{epoch}</c>.</summary>
    public static string EpochFolder(string saveDir, int epoch)
    {
        ArgumentException.ThrowIfNullOrEmpty(saveDir);
        ArgumentOutOfRangeException.ThrowIfLessThan(epoch, 1, nameof(epoch));
        return Path.Combine(saveDir, string.Create(CultureInfo.InvariantCulture, $"{EpochPrefix}{epoch}"));
    }

    /// <summary>
    /// The folder for a checkpoint saved inside epoch <paramref name="epoch"/> after <paramref name="step"/> of its steps
    /// (when a sample failed to load): <c>saveDir/epoch_{epoch}_step_{step}</c>. Its state records epoch − 1 epochs done
    /// and <see cref="CheckpointState.EpochStep"/> = <paramref name="step"/>.
    /// </summary>
    public static string PartialEpochFolder(string saveDir, int epoch, int step)
    {
        ArgumentException.ThrowIfNullOrEmpty(saveDir);
        ArgumentOutOfRangeException.ThrowIfLessThan(epoch, 1, nameof(epoch));
        ArgumentOutOfRangeException.ThrowIfLessThan(step, 1, nameof(step));
        return Path.Combine(saveDir, string.Create(CultureInfo.InvariantCulture, $"{EpochPrefix}{epoch}{StepInfix}{step}"));
    }

    /// <summary>
    /// What an earlier training run (segmentation or detection) left in <paramref name="saveDir"/>, as far as it exists: its
    /// epoch and partial-epoch checkpoints, <c>best_model</c>, <c>metrics.jsonl</c>, TensorBoard folder, report and report
    /// gallery (which would otherwise show in the next run's report). A fresh run must not mix with these (the rotation
    /// would keep the old, higher-numbered epochs and delete the new run's): it refuses the folder, or deletes them when
    /// told to overwrite (<see cref="DeleteEarlierRun"/>).
    /// </summary>
    internal static IReadOnlyList<string> EarlierRun(string saveDir) =>
        !Directory.Exists(saveDir)
            ? []
            : EpochFolders(saveDir).Select(f => f.Path)
                .Concat(PartialEpochFolders(saveDir).Select(f => f.Path))
                .Append(BestModelFolder(saveDir))
                .Append(Path.Combine(saveDir, Segmenter.MetricsFileName))
                .Append(Path.Combine(saveDir, Segmenter.TensorBoardFolderName))
                .Append(Path.Combine(saveDir, Reporting.TrainingReport.FileName))
                .Append(Path.Combine(saveDir, Reporting.TrainingReport.GalleryFolderName))
                .Where(path => Directory.Exists(path) || File.Exists(path))
                .ToList();

    /// <summary>Deletes what <see cref="EarlierRun"/> listed: folders with their contents, and files.</summary>
    internal static void DeleteEarlierRun(IEnumerable<string> earlier)
    {
        foreach (string path in earlier)
            if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
            else File.Delete(path);
    }

    /// <summary>The <c>epoch_N_step_K</c> folders of <paramref name="saveDir"/> by ascending N, then K; empty when the folder does not exist.</summary>
    public static IReadOnlyList<(int Epoch, int Step, string Path)> PartialEpochFolders(string saveDir)
    {
        ArgumentException.ThrowIfNullOrEmpty(saveDir);
        if (!Directory.Exists(saveDir)) return [];
        var folders = new List<(int, int, string)>();
        foreach (string path in Directory.EnumerateDirectories(saveDir, EpochPrefix + "*" + StepInfix + "*"))
        {
            string[] parts = Path.GetFileName(path)[EpochPrefix.Length..].Split(StepInfix);
            if (parts.Length == 2 && TryParsePositive(parts[0], out int epoch) && TryParsePositive(parts[1], out int step))
                folders.Add((epoch, step, path));
        }
        folders.Sort((a, b) => a.Item1 != b.Item1 ? a.Item1.CompareTo(b.Item1) : a.Item2.CompareTo(b.Item2));
        return folders;
    }

    /// <summary>
    /// Deletes the <c>epoch_N_step_K</c> folders with N ≤ <paramref name="upToEpoch"/>, which the checkpoint at the end of
    /// epoch <paramref name="upToEpoch"/> supersedes. Returns the deleted paths.
    /// </summary>
    public static IReadOnlyList<string> RemovePartialEpochFolders(string saveDir, int upToEpoch)
    {
        var removed = new List<string>();
        foreach (var (epoch, _, path) in PartialEpochFolders(saveDir))
            if (epoch <= upToEpoch)
            {
                Directory.Delete(path, recursive: true);
                removed.Add(path);
            }
        return removed;
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
            if (TryParsePositive(Path.GetFileName(path)[EpochPrefix.Length..], out int epoch))
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

    /// <summary>
    /// Makes <c>saveDir/best_model</c> hold the weights of the epoch that <paramref name="state"/> records as best
    /// (<see cref="CheckpointState.BestEpoch"/>), copying <c>saveDir/epoch_{BestEpoch}</c> over it when it is missing,
    /// unreadable, or holds other weights (compared by the SHA-256 of <c>model.safetensors</c>): what a run stopped between
    /// saving <c>epoch_N</c> and updating <c>best_model</c> leaves behind. A resumed run calls it before its first step.
    /// </summary>
    /// <returns>
    /// What was wrong and what was done, or null when <c>best_model</c> was right or <paramref name="state"/> records no
    /// best. When <c>epoch_{BestEpoch}</c> is gone too, <c>best_model</c> is left as it is and the text says so.
    /// </returns>
    public static string? RepairBestModel(string saveDir, CheckpointState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.BestEpoch is not { } bestEpoch) return null;
        string best = BestModelFolder(saveDir), source = EpochFolder(saveDir, bestEpoch);
        var current = TryReadState(best);
        var recorded = TryReadState(source);
        if (current is not null && current.Epoch == bestEpoch
            && (recorded is null || ModelHash(current) == ModelHash(recorded)))
            return null;
        string found = current is null ? "is missing" : string.Create(CultureInfo.InvariantCulture, $"holds epoch {current.Epoch}");
        string why = string.Create(CultureInfo.InvariantCulture,
            $"best_model {found}, but the run's best {state.BestMetricName} ({state.BestMetricValue}) is epoch {bestEpoch}'s");
        if (recorded is null || recorded.Epoch != bestEpoch)
            return $"{why}, and {source} is gone, so best_model is left as it is until an evaluation beats that best.";
        try
        {
            UpdateBestModel(saveDir, source);
        }
        catch (CheckpointException e)
        {
            return $"{why}, but it cannot be restored: {e.Message}";
        }
        return $"{why} (a run stopped between saving epoch_{bestEpoch} and updating best_model); best_model restored from {source}.";
    }

    /// <summary>
    /// Why <paramref name="saveDir"/> cannot be a save folder: it, or a folder above it, is a file. Null when it can (it
    /// exists as a folder or can be created).
    /// </summary>
    public static string? SaveFolderProblem(string saveDir)
    {
        ArgumentException.ThrowIfNullOrEmpty(saveDir);
        string full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(saveDir));
        for (string? path = full; path is not null; path = Path.GetDirectoryName(path))
        {
            if (Directory.Exists(path)) return null;
            if (File.Exists(path))
                return path == full
                    ? $"save folder '{full}' is a file, not a folder; choose a folder (it is created if missing)."
                    : $"save folder '{full}' cannot be created because '{path}' is a file.";
        }
        return null;
    }

    /// <summary>
    /// For a <c>best_model</c> folder that does not exist: a sentence (with a leading space) naming the newest
    /// <c>epoch_N</c> checkpoint of the same save folder to use instead, or "" when there is none or
    /// <paramref name="missingFolder"/> is not a <c>best_model</c> folder.
    /// </summary>
    public static string MissingBestModelHint(string missingFolder)
    {
        ArgumentException.ThrowIfNullOrEmpty(missingFolder);
        string folder = Path.TrimEndingDirectorySeparator(missingFolder);
        if (Path.GetFileName(folder) != BestModelFolderName || Path.GetDirectoryName(Path.GetFullPath(folder)) is null) return "";
        string saveDir = Path.GetDirectoryName(folder) is { Length: > 0 } parent ? parent : ".";
        return LatestEpochFolder(saveDir) is { } newest
            ? $" The newest checkpoint of that run is {newest}; use it instead. (best_model is written when an evaluation improves on " +
              "the best, so a run without an evaluation set, or stopped before its first evaluation, has none.)"
            : "";
    }

    private static CheckpointState? TryReadState(string folder)
    {
        try
        {
            return Checkpoint.ReadState(folder);
        }
        catch (CheckpointException)
        {
            return null;
        }
    }

    private static string? ModelHash(CheckpointState state) => state.Files?.GetValueOrDefault(Checkpoint.ModelFileName)?.Sha256;

    private static bool TryParsePositive(string text, out int value) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value > 0
        && text == value.ToString(CultureInfo.InvariantCulture);
}
