using System.Text;
using System.Text.Json;
using SharpSeg.Training.Checkpoints;

namespace SharpSeg.Training.Logging;

/// <summary>
/// Appends one JSON object per line to a file (JSON Lines), flushed after every line so a crash loses nothing already
/// logged and other programs can follow the file. Objects are serialised with snake_case property names; NaN or
/// infinite values (a diverging loss) become the strings <c>"NaN"</c>/<c>"Infinity"</c>, so logging never throws
/// and every line stays valid JSON. Equivalent in role to PaddleX's per-step training log lines, in a
/// machine-readable form.
/// </summary>
public sealed class MetricsLogger : IDisposable
{
    private static readonly byte[] NewLine = "\n"u8.ToArray();
    private readonly FileStream _stream;
    private readonly Func<DateTimeOffset>? _clock;
    private readonly Lock _lock = new();
    private bool _disposed;

    /// <summary>Opens <paramref name="path"/>, creating its folder; existing lines are kept when <paramref name="append"/> (resume).</summary>
    /// <param name="path">The log file.</param>
    /// <param name="append">Keep the file's existing lines.</param>
    /// <param name="clock">When given, every line starts with <c>"time"</c>, that clock's UTC time to the millisecond (ISO 8601), as PaddleX's log lines carry one.</param>
    public MetricsLogger(string path, bool append = true, Func<DateTimeOffset>? clock = null)
    {
        _clock = clock;
        ArgumentException.ThrowIfNullOrEmpty(path);
        Path = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        _stream = new FileStream(Path, append ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.Read);
    }

    /// <summary>The log file.</summary>
    public string Path { get; }

    /// <summary>Writes <paramref name="entry"/> (a record, an anonymous object, a dictionary) as one line and flushes it.</summary>
    /// <exception cref="ArgumentException">The entry does not serialise to a JSON object.</exception>
    public void Log<T>(T entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        byte[] line = JsonSerializer.SerializeToUtf8Bytes(entry, TrainingJson.Compact);
        if (line.Length == 0 || line[0] != (byte)'{')
            throw new ArgumentException($"A metrics log line must be a JSON object; {typeof(T).Name} serialises to {Encoding.UTF8.GetString(line)}.", nameof(entry));
        if (_clock is not null)
        {
            string time = _clock().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);
            byte[] prefix = Encoding.UTF8.GetBytes(line.Length > 2 ? $"{{\"time\":\"{time}\"," : $"{{\"time\":\"{time}\"");
            line = [.. prefix, .. line.AsSpan(1)];
        }
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _stream.Write(line);
            _stream.Write(NewLine);
            _stream.Flush();
        }
    }

    /// <summary>
    /// Rewrites the log at <paramref name="path"/> atomically without the lines whose <c>step</c> is after
    /// <paramref name="step"/>: what an interrupted run logged past the checkpoint a resumed run restarts from, which the
    /// resumed run logs again. Lines without a numeric <c>step</c> (or not JSON) are kept. Returns the lines removed.
    /// </summary>
    public static int RemoveStepsAfter(string path, long step)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) return 0;
        var kept = new StringBuilder();
        int removed = 0;
        foreach (string line in File.ReadLines(path))
        {
            if (StepOf(line) is { } logged && logged > step)
            {
                removed++;
                continue;
            }
            kept.Append(line).Append('\n');
        }
        if (removed > 0) Data.AtomicFile.WriteAllText(path, kept.ToString());
        return removed;
    }

    private static long? StepOf(string line)
    {
        try
        {
            using var entry = JsonDocument.Parse(line);
            return entry.RootElement.ValueKind == JsonValueKind.Object && entry.RootElement.TryGetProperty("step", out var value)
                && value.TryGetInt64(out long step) ? step : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Closes the file.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed) return;
            _disposed = true;
            _stream.Dispose();
        }
    }
}
