using System.Globalization;

namespace SharpSeg.Cli;

/// <summary>Parses the <c>W,H</c> sizes of the command line (<c>--tile 512,512</c>; a single number means a square).</summary>
internal static class SizeArgument
{
    /// <summary>The (width, height) written in <paramref name="text"/>, each at least <paramref name="minimum"/>.</summary>
    /// <exception cref="UsageException">The text is not one or two integers ≥ <paramref name="minimum"/>.</exception>
    public static (int Width, int Height) Parse(string text, string optionName, int minimum = 1)
    {
        string[] parts = text.Split([',', 'x', 'X'], StringSplitOptions.TrimEntries);
        if (parts.Length is 1 or 2
            && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int width)
            && int.TryParse(parts[^1], NumberStyles.None, CultureInfo.InvariantCulture, out int height)
            && width >= minimum && height >= minimum)
            return (width, height);
        throw new UsageException(
            $"{optionName} expects W,H (two integers ≥ {minimum}, e.g. 512,512) or a single integer for a square, got '{text}'.");
    }
}
