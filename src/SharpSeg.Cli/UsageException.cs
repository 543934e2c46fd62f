namespace SharpSeg.Cli;

/// <summary>
/// A command line that parsed but cannot be carried out as written (an unknown model, a path that does not exist,
/// a malformed size): reported without a stack trace and with exit code <see cref="ExitCodes.Usage"/>.
/// </summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>The process exit codes of <c>sharpseg</c>.</summary>
internal static class ExitCodes
{
    /// <summary>The command did what was asked.</summary>
    public const int Success = 0;

    /// <summary>The command failed while running: bad data, a corrupt checkpoint, an I/O error.</summary>
    public const int Failure = 1;

    /// <summary>The command line is wrong (the convention of BSD's <c>EX_USAGE</c>-less tools and of argparse).</summary>
    public const int Usage = 2;

    /// <summary>The user interrupted the command with Ctrl+C (128 + SIGINT, the shell's convention).</summary>
    public const int Interrupted = 130;
}
