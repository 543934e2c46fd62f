using System.Numerics.Tensors;
using System.Security.Cryptography;
using System.Text.Json;
using SharpSeg.Nn;
using SharpSeg.Nn.Optim;

namespace SharpSeg.Training.Checkpoints;

/// <summary>
/// Writes and reads checkpoint folders: <c>model.safetensors</c> (the model's state dict), optionally
/// <c>optimizer.safetensors</c> (<see cref="OptimizerState"/>), and <c>state.json</c> (<see cref="CheckpointState"/>,
/// with the size and SHA-256 of each tensor file). A folder is written atomically: everything goes into a temporary
/// folder beside the target, each file is flushed to disk, and the folder is then renamed into place, replacing an
/// existing checkpoint of the same name only once the new one is complete (one writer per folder at a time). Equivalent to PaddleX 1.x
/// <c>save_model(save_dir)</c> / <c>paddlex.load_model(model_dir)</c> and to the resume files of PaddleSeg
/// (<c>model.pdparams</c>, <c>model.pdopt</c>) in one versioned folder.
/// </summary>
public static class Checkpoint
{
    /// <summary>The layout version this build writes and reads.</summary>
    public const int FormatVersion = 1;

    /// <summary>The model weights file.</summary>
    public const string ModelFileName = "model.safetensors";

    /// <summary>The optimizer state file (absent from checkpoints kept only for prediction).</summary>
    public const string OptimizerFileName = "optimizer.safetensors";

    /// <summary>The state file.</summary>
    public const string StateFileName = "state.json";

    private const string TemporaryTag = ".tmp-", PreviousTag = ".old-";

    /// <summary>
    /// The first float tensor value that is NaN or infinite, with its tensor's name, or null when all are finite: what a
    /// trainer checks before it writes a checkpoint, since resuming from diverged weights only repeats the failure.
    /// </summary>
    public static (string Name, float Value)? FirstNonFinite(IEnumerable<KeyValuePair<string, Tensor>> tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        foreach (var (name, tensor) in tensors)
        {
            if (tensor.DType != DType.Float32) continue;
            ReadOnlySpan<float> values = (tensor.IsContiguous ? tensor : tensor.Contiguous()).AsSpan();
            if (TensorPrimitives.IsFiniteAll(values)) continue;
            foreach (float value in values)
                if (!float.IsFinite(value)) return (name, value);
        }
        return null;
    }

    /// <summary>
    /// Saves <paramref name="model"/>'s state dict, <paramref name="optimizer"/> (when given) and <paramref name="state"/>
    /// to <paramref name="folder"/> atomically. Returns the state as written (with <see cref="CheckpointState.Files"/>).
    /// </summary>
    public static CheckpointState Save(string folder, Module model, CheckpointState state, OptimizerState? optimizer = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        return Save(folder, model.StateDict(), state, optimizer);
    }

    /// <summary>Saves model tensors by state-dict key, the optimizer state and the run state atomically; see <see cref="Save(string, Module, CheckpointState, OptimizerState?)"/>.</summary>
    /// <exception cref="ArgumentException">The state has an empty model name, a class count below 1, or a JSON property that is not valid JSON.</exception>
    public static CheckpointState Save(string folder, IEnumerable<KeyValuePair<string, Tensor>> modelTensors, CheckpointState state, OptimizerState? optimizer = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        ArgumentNullException.ThrowIfNull(modelTensors);
        ArgumentNullException.ThrowIfNull(state);
        CheckWritable(state);

        CheckpointState written = state;
        Commit(folder, temporary =>
        {
            Safetensors.Save(Path.Combine(temporary, ModelFileName), modelTensors);
            optimizer?.Save(Path.Combine(temporary, OptimizerFileName));
            var files = new Dictionary<string, CheckpointFile> { [ModelFileName] = Describe(Path.Combine(temporary, ModelFileName)) };
            if (optimizer is not null) files[OptimizerFileName] = Describe(Path.Combine(temporary, OptimizerFileName));
            written = state with { FormatVersion = FormatVersion, Files = files };
            WriteState(Path.Combine(temporary, StateFileName), written);
        });
        return written;
    }

    /// <summary>
    /// Reads and validates <c>state.json</c> alone (format version, required fields), e.g. to learn which model to build
    /// before loading. Tensor files are not checked.
    /// </summary>
    /// <exception cref="CheckpointException">The folder or its state file is missing, malformed or of another version.</exception>
    public static CheckpointState ReadState(string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        string full = Path.GetFullPath(folder);
        if (!Directory.Exists(full))
        {
            string? previous = Directory.Exists(Path.GetDirectoryName(full))
                ? Directory.EnumerateDirectories(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}{PreviousTag}*").FirstOrDefault()
                : null;
            throw new CheckpointException(full, previous is null
                ? "the folder does not exist." + CheckpointFolders.MissingBestModelHint(full)
                : $"the folder does not exist; an interrupted save left the previous checkpoint at {previous}.");
        }
        string path = Path.Combine(full, StateFileName);
        if (!File.Exists(path)) throw new CheckpointException(full, $"no {StateFileName}; this is not a checkpoint folder or its save did not finish.");

        CheckpointState? state;
        try
        {
            state = JsonSerializer.Deserialize<CheckpointState>(File.ReadAllBytes(path), TrainingJson.Indented);
        }
        catch (JsonException e)
        {
            throw new CheckpointException(full, $"{StateFileName} is not valid checkpoint JSON ({e.Message}).", e);
        }
        if (state is null) throw new CheckpointException(full, $"{StateFileName} holds null.");
        if (state.FormatVersion != FormatVersion)
            throw new CheckpointException(full, $"format version {state.FormatVersion}, but this build reads version {FormatVersion}.");
        if (string.IsNullOrEmpty(state.ModelName)) throw new CheckpointException(full, $"{StateFileName} names no model.");
        if (state.NumClasses < 1) throw new CheckpointException(full, $"{StateFileName} has num_classes {state.NumClasses}.");
        if (state.Files is null || !state.Files.ContainsKey(ModelFileName))
            throw new CheckpointException(full, $"{StateFileName} does not list {ModelFileName}.");
        return state;
    }

    /// <summary>
    /// Reads a checkpoint for a model named <paramref name="expectedModelName"/> whose options give
    /// <paramref name="expectedNumClasses"/> classes (logit channels, 1 for a binary head, as
    /// <see cref="CheckpointState.NumClasses"/>): validates the state, checks each tensor file's size and SHA-256 against
    /// <c>state.json</c>, and reads the tensors into memory. Nothing is applied to any model here; see
    /// <see cref="LoadedCheckpoint.Restore"/>.
    /// </summary>
    /// <exception cref="CheckpointException">
    /// The checkpoint is missing, of another format version, model or class count (the message names the folder and both
    /// values), or a file is corrupt or truncated.
    /// </exception>
    public static LoadedCheckpoint Read(string folder, string expectedModelName, int expectedNumClasses)
    {
        ArgumentException.ThrowIfNullOrEmpty(expectedModelName);
        var state = ReadState(folder);
        string full = Path.GetFullPath(folder);
        if (!string.Equals(state.ModelName, expectedModelName, StringComparison.Ordinal))
            throw new CheckpointException(full, $"it holds model '{state.ModelName}', but '{expectedModelName}' was expected.");
        if (state.NumClasses != expectedNumClasses)
            throw new CheckpointException(full, $"it was trained for {state.NumClasses} classes, but {expectedNumClasses} were expected" +
                (state.NumClasses == 1 || expectedNumClasses == 1 ? " (1 is a one-channel binary head for two classes)." : "."));
        return ReadValidated(full, state);
    }

    /// <summary>Reads a checkpoint whatever its model, e.g. to rebuild the model it names for prediction.</summary>
    /// <exception cref="CheckpointException">The checkpoint is missing, of another format version, or a file is corrupt or truncated.</exception>
    public static LoadedCheckpoint Read(string folder)
    {
        var state = ReadState(folder);
        return ReadValidated(Path.GetFullPath(folder), state);
    }

    /// <summary>
    /// Copies the checkpoint at <paramref name="source"/> to <paramref name="target"/> atomically after checking its files,
    /// leaving out the optimizer state unless <paramref name="includeOptimizer"/> (a best-model folder is for prediction).
    /// </summary>
    /// <exception cref="CheckpointException">The source is not a valid checkpoint.</exception>
    public static CheckpointState Copy(string source, string target, bool includeOptimizer = false)
    {
        var state = ReadState(source);
        string sourceFull = Path.GetFullPath(source);
        foreach (var (name, file) in state.Files!) Verify(sourceFull, name, file);
        var files = state.Files!.Where(f => includeOptimizer || f.Key != OptimizerFileName).ToDictionary(f => f.Key, f => f.Value);
        var written = state with { Files = files };
        Commit(target, temporary =>
        {
            foreach (string name in files.Keys) CopyDurably(Path.Combine(sourceFull, name), Path.Combine(temporary, name));
            WriteState(Path.Combine(temporary, StateFileName), written);
        });
        return written;
    }

    private static LoadedCheckpoint ReadValidated(string folder, CheckpointState state)
    {
        foreach (var (name, file) in state.Files!) Verify(folder, name, file);
        try
        {
            var model = Safetensors.Read(Path.Combine(folder, ModelFileName)).Tensors;
            var optimizer = state.Files!.ContainsKey(OptimizerFileName) ? OptimizerState.Load(Path.Combine(folder, OptimizerFileName)) : null;
            return new LoadedCheckpoint(folder, state, model, optimizer);
        }
        catch (Exception e) when (e is IOException or InvalidDataException)
        {
            throw new CheckpointException(folder, $"a tensor file cannot be read: {e.Message}", e);
        }
    }

    private static void Verify(string folder, string name, CheckpointFile expected)
    {
        if (name.Contains('/') || name.Contains('\\') || name is "." or "..")
            throw new CheckpointException(folder, $"{StateFileName} lists '{name}', which is not a file name.");
        string path = Path.Combine(folder, name);
        if (!File.Exists(path)) throw new CheckpointException(folder, $"{name} is missing.");
        var actual = Describe(path);
        if (actual.Bytes != expected.Bytes)
            throw new CheckpointException(folder, $"{name} is {actual.Bytes} bytes, {StateFileName} recorded {expected.Bytes} (truncated or replaced).");
        if (!string.Equals(actual.Sha256, expected.Sha256, StringComparison.OrdinalIgnoreCase))
            throw new CheckpointException(folder, $"{name} has SHA-256 {actual.Sha256}, {StateFileName} recorded {expected.Sha256} (corrupt).");
    }

    private static CheckpointFile Describe(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        byte[] hash = SHA256.HashData(stream);
        return new CheckpointFile(stream.Length, Convert.ToHexStringLower(hash));
    }

    private static void CheckWritable(CheckpointState state)
    {
        if (string.IsNullOrEmpty(state.ModelName)) throw new ArgumentException("Checkpoint state needs a model name.", nameof(state));
        if (state.NumClasses < 1) throw new ArgumentException($"Checkpoint state has num_classes {state.NumClasses}; it must be ≥ 1.", nameof(state));
        CheckJson(state.ModelOptionsJson, nameof(CheckpointState.ModelOptionsJson));
        CheckJson(state.SchedulerStateJson, nameof(CheckpointState.SchedulerStateJson));
        CheckJson(state.TransformsJson, nameof(CheckpointState.TransformsJson));
    }

    private static void CheckJson(string? json, string property)
    {
        if (json is null) return;
        try
        {
            using var _ = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"Checkpoint state {property} is not valid JSON: {e.Message}", property, e);
        }
    }

    private static void WriteState(string path, CheckpointState state)
    {
        using var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None);
        JsonSerializer.Serialize(stream, state, TrainingJson.Indented);
        stream.Flush(flushToDisk: true);
    }

    private static void CopyDurably(string source, string destination)
    {
        using var input = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        using var output = new FileStream(destination, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
        input.CopyTo(output);
        output.Flush(flushToDisk: true);
    }

    // Directory renames are atomic on one file system, but there is no atomic "replace a non-empty folder": the old
    // checkpoint is renamed aside first and removed only after the new one is in place, so at every instant either a
    // complete checkpoint sits at the target or (after a crash between the two renames) beside it under .old-, which
    // the next save of the same folder puts back. The parent folder's entry itself is not fsynced (that takes a native
    // call): after a power loss a rename may be undone, which leaves the previous checkpoint, never a partial one.
    private static void Commit(string folder, Action<string> write)
    {
        string target = Path.GetFullPath(folder).TrimEnd(Path.DirectorySeparatorChar);
        string parent = Path.GetDirectoryName(target) ?? throw new ArgumentException($"{folder} has no parent folder.", nameof(folder));
        string name = Path.GetFileName(target);
        Directory.CreateDirectory(parent);
        RecoverInterruptedCommit(parent, name, target);

        string unique = Guid.NewGuid().ToString("N");
        string temporary = Path.Combine(parent, $".{name}{TemporaryTag}{unique}");
        string previous = Path.Combine(parent, $".{name}{PreviousTag}{unique}");
        Directory.CreateDirectory(temporary);
        bool movedAside = false;
        try
        {
            write(temporary);
            if (Directory.Exists(target))
            {
                Directory.Move(target, previous);
                movedAside = true;
            }
            Directory.Move(temporary, target);
        }
        catch
        {
            if (movedAside && !Directory.Exists(target)) Directory.Move(previous, target);
            if (Directory.Exists(temporary)) Directory.Delete(temporary, recursive: true);
            throw;
        }
        if (movedAside) Directory.Delete(previous, recursive: true);
    }

    private static void RecoverInterruptedCommit(string parent, string name, string target)
    {
        foreach (string stale in Directory.EnumerateDirectories(parent, $".{name}{TemporaryTag}*"))
            Directory.Delete(stale, recursive: true);
        foreach (string previous in Directory.EnumerateDirectories(parent, $".{name}{PreviousTag}*").OrderByDescending(Directory.GetLastWriteTimeUtc))
        {
            if (!Directory.Exists(target)) Directory.Move(previous, target);
            else Directory.Delete(previous, recursive: true);
        }
    }
}
