using System.Globalization;
using System.Net;

namespace SharpSeg.Training.Logging;

/// <summary>
/// Writes scalar summaries to a TensorBoard event file (<c>events.out.tfevents.&lt;unix-seconds&gt;.&lt;hostname&gt;</c>)
/// in <see cref="LogDirectory"/>, which <c>tensorboard --logdir</c> reads while training runs: each event is flushed
/// to the operating system as it is added. Equivalent to <c>torch.utils.tensorboard.SummaryWriter.add_scalar</c>, and
/// to PaddleX's <c>use_vdl=True</c> logging (VisualDL's <c>LogWriter.add_scalar</c>) in TensorBoard's format.
/// </summary>
public sealed class TensorBoardWriter : IDisposable
{
    private readonly FileStream _stream;
    private readonly Func<DateTimeOffset> _clock;
    private readonly Lock _lock = new();
    private bool _disposed;

    /// <summary>
    /// Creates <paramref name="logDirectory"/> if needed and a new event file in it, starting with the file-version
    /// event. A file of the same name (two writers in one second) is never overwritten: a numeric suffix is added.
    /// </summary>
    /// <param name="logDirectory">The run's folder (one curve per folder in TensorBoard).</param>
    /// <param name="clock">Wall-clock source for event times and the file name; the system clock when null.</param>
    /// <param name="purgeStep">
    /// For a resumed run: TensorBoard hides the points of this folder's earlier files whose step is at least this, so
    /// steps logged after the resume checkpoint by the interrupted run do not show twice. Equivalent to
    /// <c>SummaryWriter(log_dir, purge_step=…)</c> (<c>SessionLog.START</c> events); null writes none.
    /// </param>
    public TensorBoardWriter(string logDirectory, Func<DateTimeOffset>? clock = null, long? purgeStep = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(logDirectory);
        _clock = clock ?? (() => DateTimeOffset.UtcNow);
        LogDirectory = Path.GetFullPath(logDirectory);
        Directory.CreateDirectory(LogDirectory);

        var now = _clock();
        string baseName = string.Create(CultureInfo.InvariantCulture, $"events.out.tfevents.{now.ToUnixTimeSeconds():D10}.{HostName()}");
        for (int attempt = 0; ; attempt++)
        {
            string name = attempt == 0 ? baseName : string.Create(CultureInfo.InvariantCulture, $"{baseName}.{attempt}");
            try
            {
                _stream = new FileStream(Path.Combine(LogDirectory, name), FileMode.CreateNew, FileAccess.Write, FileShare.Read);
                FilePath = _stream.Name;
                break;
            }
            catch (IOException) when (attempt < 100 && File.Exists(Path.Combine(LogDirectory, name)))
            {
            }
        }
        WriteRecord(TensorBoardEvents.FileVersionEvent(WallTime(now)));
        if (purgeStep is long step)
        {
            // tensorboard --logdir's reader takes a run's first SessionLog.START for the initial start and purges only on
            // later ones (TensorBoard's older EventAccumulator purges on every one), so one START alone purges nothing in a
            // run whose earlier files have none. A second START at the same step purges in both readers, and a repeated
            // purge at one step removes nothing more.
            var start = TensorBoardEvents.SessionStartEvent(WallTime(now), step);
            WriteRecord(start);
            WriteRecord(start);
        }
    }

    /// <summary>The folder holding the event file.</summary>
    public string LogDirectory { get; }

    /// <summary>Full path of the event file.</summary>
    public string FilePath { get; }

    /// <summary>
    /// Adds one scalar point. Equivalent to <c>SummaryWriter.add_scalar(tag, value, global_step)</c>.
    /// </summary>
    /// <param name="tag">Curve name, e.g. <c>train/loss</c> or <c>eval/miou</c>.</param>
    /// <param name="value">The value (stored as float32, as TensorBoard's simple_value).</param>
    /// <param name="step">Global step (x axis).</param>
    public void AddScalar(string tag, double value, long step)
    {
        ArgumentException.ThrowIfNullOrEmpty(tag);
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            WriteRecord(TensorBoardEvents.ScalarEvent(WallTime(_clock()), step, tag, (float)value));
        }
    }

    /// <summary>Flushes the file to disk. Equivalent to <c>SummaryWriter.flush()</c>.</summary>
    public void Flush()
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _stream.Flush(flushToDisk: true);
        }
    }

    /// <summary>Flushes and closes the file. Equivalent to <c>SummaryWriter.close()</c>.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed) return;
            _disposed = true;
            _stream.Flush(flushToDisk: true);
            _stream.Dispose();
        }
    }

    private void WriteRecord(byte[] eventBytes)
    {
        _stream.Write(TensorBoardEvents.Record(eventBytes));
        _stream.Flush();
    }

    private static double WallTime(DateTimeOffset time) => (time - DateTimeOffset.UnixEpoch).TotalSeconds;

    private static string HostName()
    {
        string name;
        try
        {
            name = Dns.GetHostName();
        }
        catch (System.Net.Sockets.SocketException)
        {
            name = Environment.MachineName;
        }
        // The host name becomes part of a file name; keep it to characters every file system accepts.
        var safe = name.Select(ch => char.IsAsciiLetterOrDigit(ch) || ch is '-' or '.' or '_' ? ch : '_').ToArray();
        return safe.Length == 0 ? "localhost" : new string(safe);
    }
}
