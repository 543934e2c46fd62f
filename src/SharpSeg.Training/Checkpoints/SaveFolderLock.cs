using System.Diagnostics;
using System.Globalization;

namespace SharpSeg.Training.Checkpoints;

/// <summary>
/// Another training run holds the save folder: a second run there (fresh with
/// <see cref="TrainingOptions.OverwriteSaveDir"/>, or resumed) would delete or interleave the live run's checkpoints.
/// Nothing in the folder was changed.
/// </summary>
public sealed class SaveFolderInUseException : IOException
{
    /// <summary>Creates the exception.</summary>
    public SaveFolderInUseException(string saveDir, int holderProcessId, string lockFile, Exception? inner = null)
        : base($"Train: save folder '{saveDir}' is in use by another training run, process {holderProcessId} (lock file {lockFile}); " +
               "wait for that run to finish or stop it, or choose another save folder. Nothing in the folder was changed.", inner)
    {
        SaveDir = saveDir;
        HolderProcessId = holderProcessId;
        LockFile = lockFile;
    }

    /// <summary>The save folder (full path).</summary>
    public string SaveDir { get; }

    /// <summary>The process id of the run that holds the folder.</summary>
    public int HolderProcessId { get; }

    /// <summary>The holder's lock file.</summary>
    public string LockFile { get; }
}

/// <summary>
/// A training run's exclusive hold on its save folder, for the whole run: the file <c>train.&lt;pid&gt;.lock</c> in the
/// folder, opened with <see cref="FileShare.None"/> (an OS lock the system releases when the process ends, however it
/// ends) and holding the process id, host and start time. A run first creates and locks its own file, then looks at the
/// others: one it can open is stale (its process ended without deleting it, e.g. killed) and is removed, with a
/// <see cref="Note"/>; one it cannot open belongs to a live run, and the new run gives up. Two runs starting at the same
/// instant may both give up, never both proceed. The pid is in the file name because an OS-locked file cannot be read by
/// another .NET process.
/// </summary>
internal sealed class SaveFolderLock : IDisposable
{
    private const string Prefix = "train.", Suffix = ".lock";

    private readonly FileStream _stream;

    private SaveFolderLock(FileStream stream, string? note)
    {
        _stream = stream;
        Note = note;
    }

    /// <summary>What was taken over from a run that ended without releasing the folder, or null.</summary>
    public string? Note { get; }

    /// <summary>The name of the lock file of process <paramref name="processId"/>.</summary>
    public static string FileName(int processId) => string.Create(CultureInfo.InvariantCulture, $"{Prefix}{processId}{Suffix}");

    /// <summary>Creates <paramref name="saveDir"/> if needed and locks it.</summary>
    /// <exception cref="SaveFolderInUseException">A live run holds the folder (this process included).</exception>
    public static SaveFolderLock Acquire(string saveDir)
    {
        string folder = Path.GetFullPath(saveDir);
        Directory.CreateDirectory(folder);
        int processId = Environment.ProcessId;
        string own = Path.Combine(folder, FileName(processId));
        FileStream stream;
        try
        {
            stream = Open(own, FileMode.OpenOrCreate);
        }
        catch (IOException e) when (e is not (FileNotFoundException or DirectoryNotFoundException or PathTooLongException) && File.Exists(own))
        {
            throw new SaveFolderInUseException(folder, processId, own, e);
        }

        try
        {
            stream.SetLength(0);
            stream.Write(System.Text.Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture,
                $"pid {processId}\nhost {Environment.MachineName}\nstarted {DateTimeOffset.UtcNow:O}\n")));
            stream.Flush(flushToDisk: true);
            var notes = new List<string>();
            foreach (string other in Directory.EnumerateFiles(folder, Prefix + "*" + Suffix))
            {
                if (other == own || ProcessIdOf(other) is not { } holder) continue;
                try
                {
                    // Opening it at all means no process holds it any more; closing deletes it.
                    using var stale = Open(other, FileMode.Open);
                    notes.Add($"took over save folder '{folder}' from process {holder}, " +
                              (IsRunning(holder) ? "which no longer holds it" : "which is no longer running") +
                              $" (its run ended without releasing the folder, e.g. killed; {Path.GetFileName(other)} removed).");
                }
                catch (IOException e) when (e is FileNotFoundException)
                {
                    // Released between the listing and the open.
                }
                catch (IOException e)
                {
                    throw new SaveFolderInUseException(folder, holder, other, e);
                }
            }
            return new SaveFolderLock(stream, notes.Count == 0 ? null : string.Join(" ", notes));
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>Releases the folder and deletes the lock file.</summary>
    public void Dispose() => _stream.Dispose();

    private static FileStream Open(string path, FileMode mode) =>
        new(path, mode, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose);

    private static int? ProcessIdOf(string path)
    {
        string name = Path.GetFileName(path);
        string id = name[Prefix.Length..^Suffix.Length];
        return int.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out int pid) && id == pid.ToString(CultureInfo.InvariantCulture)
            ? pid
            : null;
    }

    private static bool IsRunning(int processId)
    {
        try
        {
            using var process = Process.GetProcessById(processId);
            return !process.HasExited;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            return false;
        }
    }
}
