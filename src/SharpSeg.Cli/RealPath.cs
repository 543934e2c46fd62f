namespace SharpSeg.Cli;

/// <summary>
/// The path the file system actually reaches, as POSIX <c>realpath</c>: every existing component that is a symbolic
/// link (or junction) is replaced by its target, and <c>..</c> after a link leaves the target's folder, not the link's.
/// Components that do not exist yet are kept as written, so a folder about to be created resolves too.
/// </summary>
internal static class RealPath
{
    /// <summary>Link hops before a loop is assumed (Linux's ELOOP limit).</summary>
    private const int MaxLinks = 40;

    /// <summary>The real absolute path of <paramref name="path"/>.</summary>
    /// <exception cref="IOException">Following the links takes more than 40 hops (a loop).</exception>
    public static string Of(string path)
    {
        int links = 0;
        return Resolve(Path.GetPathRoot(Path.GetFullPath(path))!, Relative(path), ref links, path);
    }

    /// <summary>
    /// The real path of the folder that will hold <paramref name="path"/>, joined with its file name: what a write that
    /// replaces the file by a rename reaches (a link in the last component is replaced, not followed).
    /// </summary>
    public static string OfParent(string path)
    {
        string full = Path.GetFullPath(path);
        string? folder = Path.GetDirectoryName(full);
        return folder is null ? full : Path.Combine(Of(folder), Path.GetFileName(full));
    }

    /// <summary><paramref name="path"/> made absolute against the working folder without collapsing <c>..</c>, minus its root.</summary>
    private static string Relative(string path)
    {
        string absolute = Path.IsPathFullyQualified(path) ? path : Path.Combine(Environment.CurrentDirectory, path);
        return absolute[Path.GetPathRoot(absolute)!.Length..];
    }

    private static string Resolve(string current, string relative, ref int links, string original)
    {
        foreach (string part in relative.Split([Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar], StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == ".")
                continue;
            if (part == "..")
            {
                current = Path.GetDirectoryName(current) ?? current;
                continue;
            }
            string next = Path.Combine(current, part);
            FileSystemInfo info = Directory.Exists(next) ? new DirectoryInfo(next) : new FileInfo(next);
            if (info.LinkTarget is not { } target)
            {
                current = next;
                continue;
            }
            if (++links > MaxLinks)
                throw new IOException($"Too many levels of symbolic links resolving '{original}' (at {next}).");
            current = Path.IsPathFullyQualified(target)
                ? Resolve(Path.GetPathRoot(target)!, target[Path.GetPathRoot(target)!.Length..], ref links, original)
                : Resolve(current, target, ref links, original);
        }
        return current;
    }
}
