using SharpSeg.Nn;

namespace SharpSeg.Models.Tests.Support;

/// <summary>
/// A safetensors file under the system temp folder for tests that load weights by path, deleted on dispose:
/// <c>using var file = TemporaryCheckpoint.Save(tensors); model.LoadPretrained(file.Path);</c>.
/// </summary>
public sealed class TemporaryCheckpoint : IDisposable
{
    private TemporaryCheckpoint(string path) => Path = path;

    /// <summary>The file's full path.</summary>
    public string Path { get; }

    /// <summary>Writes <paramref name="tensors"/> (a state dict or a reference checkpoint) to a fresh temporary file.</summary>
    public static TemporaryCheckpoint Save(IEnumerable<KeyValuePair<string, Tensor>> tensors)
    {
        var file = new TemporaryCheckpoint(System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"sharpseg-checkpoint-{Guid.NewGuid():N}.safetensors"));
        Safetensors.Save(file.Path, tensors);
        return file;
    }

    /// <summary>Deletes the file.</summary>
    public void Dispose() => File.Delete(Path);
}
