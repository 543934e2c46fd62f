using System.Diagnostics;
using System.Text.RegularExpressions;

namespace SharpSeg.Distributed.Tests;

/// <summary>
/// Fact that runs only where Open MPI's <c>mpirun</c> is installed (Debian's openmpi-bin), and fails instead of skipping
/// when <c>SHARPSEG_REQUIRE_MPI=1</c> (CI installs it), so a missing MPI can never pass silently there.
/// </summary>
public sealed class MpiFactAttribute : FactAttribute
{
    public MpiFactAttribute()
    {
        if (MpiJob.Mpirun is null && Environment.GetEnvironmentVariable("SHARPSEG_REQUIRE_MPI") != "1")
            Skip = "mpirun is not installed (apt-get install openmpi-bin); set SHARPSEG_REQUIRE_MPI=1 to fail instead.";
    }
}

/// <summary>
/// Runs a .NET program of the test output folder as an <c>mpirun --oversubscribe -np N</c> job on this machine, with a
/// deadline after which the whole job is killed, and returns what it printed.
/// </summary>
public static partial class MpiJob
{
    public sealed record Result(int ExitCode, string Output, TimeSpan Elapsed)
    {
        /// <summary>The lines rank <paramref name="rank"/> printed as <c>rank R: …</c>, without the prefix, in order.</summary>
        public IReadOnlyList<string> Lines(int rank) =>
            Output.Split('\n').Select(line => line.TrimEnd('\r')).Where(line => line.StartsWith($"rank {rank}: ", StringComparison.Ordinal))
                .Select(line => line[$"rank {rank}: ".Length..]).ToList();
    }

    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(120);

    /// <summary>The mpirun on PATH, or null.</summary>
    public static string? Mpirun { get; } = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':')
        .Select(folder => Path.Combine(folder, "mpirun")).FirstOrDefault(File.Exists);

    /// <summary>The dotnet host that runs this test (the SDK sets DOTNET_HOST_PATH), else dotnet from PATH.</summary>
    public static string Dotnet => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    /// <summary>Runs <c>mpirun -np <paramref name="ranks"/> dotnet <paramref name="program"/> args…</c> (program: a dll of the output folder).</summary>
    public static Result Run(int ranks, string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(Mpirun ?? throw new InvalidOperationException("mpirun is not installed (apt-get install openmpi-bin)."));
        // Loopback only; root in CI containers; more ranks than cores on a 2-core runner.
        foreach (string flag in new[] { "--allow-run-as-root", "--oversubscribe", "-np", ranks.ToString(), "--mca", "btl", "self,vader,tcp",
                     "--mca", "btl_tcp_if_include", "lo", "--mca", "oob_tcp_if_include", "lo", Dotnet, Path.Combine(AppContext.BaseDirectory, program) })
            start.ArgumentList.Add(flag);
        foreach (string argument in arguments)
            start.ArgumentList.Add(argument);
        return RunProcess(start);
    }

    /// <summary>Runs <c>dotnet <paramref name="program"/> args…</c> alone, without mpirun, with <paramref name="environment"/> added.</summary>
    public static Result RunAlone(string program, IReadOnlyDictionary<string, string>? environment, params string[] arguments)
    {
        var start = new ProcessStartInfo(Dotnet);
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, program));
        foreach (string argument in arguments)
            start.ArgumentList.Add(argument);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
            start.Environment[name] = value;
        return RunProcess(start);
    }

    private static Result RunProcess(ProcessStartInfo start)
    {
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        // Variables of an enclosing mpirun (a developer running the tests under one) would make the job think it is a rank.
        foreach (string name in start.Environment.Keys.Where(name => name.StartsWith("OMPI_", StringComparison.Ordinal) || name.StartsWith("PMIX_", StringComparison.Ordinal)).ToList())
            start.Environment.Remove(name);
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{start.FileName} did not start.");
        var output = new System.Text.StringBuilder();
        var gate = new Lock();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (gate) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (gate) output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(Deadline))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            throw new TimeoutException($"{start.FileName} {string.Join(' ', start.ArgumentList)} did not end within {Deadline.TotalSeconds} s:\n{output}");
        }
        process.WaitForExit();
        // A rank's standard output reaches mpirun through a pseudo-terminal, where .NET writes terminal set-up codes.
        lock (gate)
            return new Result(process.ExitCode, TerminalCodes().Replace(output.ToString(), ""), clock.Elapsed);
    }

    [GeneratedRegex(@"\x1b(\[\?1h|=|>|\[\?1l)")]
    private static partial Regex TerminalCodes();
}
