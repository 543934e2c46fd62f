namespace SharpSeg.Training.Checkpoints;

/// <summary>
/// A checkpoint folder that cannot be used: missing, corrupt, truncated, of another format version, or of another
/// model or class count than expected. Nothing has been loaded when it is thrown.
/// </summary>
public sealed class CheckpointException : IOException
{
    /// <summary>Creates the exception; the message starts with <paramref name="folder"/>.</summary>
    public CheckpointException(string folder, string detail, Exception? inner = null) : base($"Checkpoint {folder}: {detail}", inner)
    {
        Folder = folder;
    }

    /// <summary>The checkpoint folder.</summary>
    public string Folder { get; }
}
