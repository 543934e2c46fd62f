namespace SharpSeg.Data;

/// <summary>
/// An image file is corrupt, truncated or uses a feature the decoders do not support. The message starts with
/// the file name. Comparable to the <c>PIL.UnidentifiedImageError</c> / <c>OSError</c> that
/// <c>PIL.Image.open</c> raises, or the <c>None</c> that <c>cv2.imread</c> returns.
/// </summary>
public sealed class ImageFormatException : IOException
{
    /// <summary>Creates the exception for file <paramref name="fileName"/>.</summary>
    public ImageFormatException(string fileName, string problem, Exception? inner = null)
        : base($"{fileName}: {problem}", inner)
    {
        FileName = fileName;
        Problem = problem;
    }

    /// <summary>The file (or the name given for a stream) that failed to decode.</summary>
    public string FileName { get; }

    /// <summary>What is wrong, without the file name.</summary>
    public string Problem { get; }
}
