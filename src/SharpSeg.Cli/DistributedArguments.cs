using System.CommandLine;
using SharpSeg.Distributed;
using SharpSeg.Nn.Distributed;
using Spectre.Console;

namespace SharpSeg.Cli;

/// <summary>
/// <c>--distributed</c>: run a command as one rank of an <c>mpirun</c> job over Open MPI (the counterpart of launching
/// PaddleSeg's tools under <c>paddle.distributed.launch</c>, or a PyTorch script under <c>torchrun</c>).
/// </summary>
internal sealed class DistributedArguments(string description)
{
    public Option<bool> Distributed { get; } = new("--distributed") { Description = description };

    public void AddTo(Command command) => command.Options.Add(Distributed);

    /// <summary>
    /// Runs <paramref name="body"/> as a rank of the job when <c>--distributed</c> is given, else as the process alone
    /// (a null group). Only rank 0 writes to the console; every rank's error messages are held back and, when the rank
    /// fails (an exception or a non-zero exit code), printed as <c>rank R of N: …</c> before <c>MPI_Abort</c> ends every
    /// rank, so a failure on one rank never leaves the others waiting in a collective. A job that succeeds finalizes MPI.
    /// </summary>
    public int Run(ParseResult parse, IAnsiConsole console, TextWriter error, Func<IProcessGroup?, IAnsiConsole, TextWriter, int> body)
    {
        if (!parse.GetValue(Distributed))
            return body(null, console, error);

        var group = MpiProcessGroup.Initialize();
        var rankConsole = group.Rank == 0 ? console : QuietConsole();
        if (BindingNote(Environment.ProcessorCount, OnlineCores(), group.Size) is { } note)
            rankConsole.WriteLine(note);
        var rankError = group.Size == 1 ? error : new StringWriter();
        int code;
        try
        {
            code = body(group, rankConsole, rankError);
        }
        catch (Exception e) when (group.Size > 1)
        {
            var (failureCode, message) = SharpSegApp.Classify(e);
            group.Abort(Held(rankError) + $"error: {message}", failureCode);
            throw;
        }
        catch
        {
            // A job of one rank fails as a plain run does (SharpSegApp prints the message), after finalizing MPI.
            group.Dispose();
            throw;
        }
        if (code != ExitCodes.Success && group.Size > 1)
            group.Abort(Held(rankError).TrimEnd(), code);
        group.Dispose();
        return code;
    }

    /// <summary>
    /// The contiguous part of a list of <paramref name="count"/> items that <paramref name="rank"/> of <paramref name="size"/> takes: ranks
    /// get ⌊n/size⌋ or ⌈n/size⌉ items in rank order, so every item goes to exactly one rank and the split depends only on
    /// the list and the rank count.
    /// </summary>
    public static (int Start, int Count) Shard(int count, int rank, int size)
    {
        int start = (int)((long)count * rank / size);
        int end = (int)((long)count * (rank + 1) / size);
        return (start, end - start);
    }

    /// <summary>
    /// A note when mpirun bound this rank to fewer cores than its share of the machine: Open MPI binds each rank to one
    /// core by default for -np 2 or less, which leaves a multi-threaded rank one core; null when the binding is fine.
    /// </summary>
    internal static string? BindingNote(int usableCores, int onlineCores, int ranks) =>
        usableCores < onlineCores / ranks
            ? $"Note: this rank may use {usableCores} of the machine's {onlineCores} cores (mpirun binds each rank to one core by default); " +
              $"start the job with mpirun --bind-to none and give each rank --threads {onlineCores / ranks}."
            : null;

    /// <summary>The machine's online cores (Linux's /sys/devices/system/cpu/online, e.g. "0-15"), or the usable count where that is not readable.</summary>
    private static int OnlineCores()
    {
        const string path = "/sys/devices/system/cpu/online";
        if (!File.Exists(path)) return Environment.ProcessorCount;
        int count = 0;
        foreach (string range in File.ReadAllText(path).Trim().Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] ends = range.Split('-');
            if (!int.TryParse(ends[0], out int first) || !int.TryParse(ends[^1], out int last)) return Environment.ProcessorCount;
            count += last - first + 1;
        }
        return Math.Max(count, Environment.ProcessorCount);
    }

    private static string Held(TextWriter error) => error is StringWriter held && held.ToString() is { Length: > 0 } text ? text : "";

    private static IAnsiConsole QuietConsole() => AnsiConsole.Create(new AnsiConsoleSettings
    {
        Ansi = AnsiSupport.No,
        ColorSystem = ColorSystemSupport.NoColors,
        Interactive = InteractionSupport.No,
        Out = new AnsiConsoleOutput(TextWriter.Null),
    });
}
