namespace SharpSeg.Distributed.Tests;

/// <summary>
/// A rank that fails ends the whole job, naming that rank, while the other rank waits in a barrier that the failed rank
/// never joins: an exception through <see cref="MpiProcessGroup.Abort"/>, a SIGKILL through mpirun. A job that hung instead
/// would fail at <see cref="MpiJob.Deadline"/> (no wall-time bound is asserted: the suite runs on loaded machines). Without
/// Open MPI the message says what to install.
/// </summary>
public sealed class FailureTests
{
    [MpiFact]
    public void A_rank_that_throws_ends_every_rank_with_its_message()
    {
        var job = MpiJob.Run(2, "MpiProbe.dll", "throw");

        Assert.NotEqual(0, job.ExitCode);
        Assert.Contains("rank 1 of 2: InvalidOperationException: the probe fails on purpose", job.Output);
        Assert.Contains("MPI_ABORT was invoked on rank 1", job.Output);
    }

    [MpiFact]
    public void A_rank_killed_with_SIGKILL_ends_the_job_and_mpirun_names_it()
    {
        var job = MpiJob.Run(2, "MpiProbe.dll", "kill");

        Assert.NotEqual(0, job.ExitCode);
        Assert.Matches(@"process rank 1 with PID \d+ on node \S+ exited on signal 9 \(Killed\)", job.Output);
    }

    [Fact]
    public void A_missing_library_names_the_Debian_packages_and_mpirun()
    {
        var error = Assert.Throws<MpiNotAvailableException>(() => MpiLibrary.Load(["/nonexistent/libmpi.so.40"], fromVariable: true));

        Assert.Contains("SHARPSEG_MPI_LIBRARY names '/nonexistent/libmpi.so.40', which could not be loaded", error.Message);
        Assert.Contains("openmpi-bin and libopenmpi3", error.Message);
        Assert.Contains("mpirun -np 2", error.Message);
    }

    [Fact]
    public void A_library_that_is_not_Open_MPI_is_refused_by_name()
    {
        // libc loads but exports none of Open MPI's functions or handle globals.
        var error = Assert.Throws<MpiNotAvailableException>(() => MpiLibrary.Load(["libc.so.6"], fromVariable: true));

        Assert.Contains("libc.so.6 has no symbol MPI_Init_thread", error.Message);
        Assert.Contains("MPICH", error.Message);
    }

    [Fact]
    public void Sharpseg_train_distributed_without_Open_MPI_fails_with_the_install_message()
    {
        var run = MpiJob.RunAlone("sharpseg.dll", new Dictionary<string, string> { ["SHARPSEG_MPI_LIBRARY"] = "/nonexistent/libmpi.so.40" },
            "train", "--model", "unet", "--distributed");

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("error: Distributed training needs Open MPI, but SHARPSEG_MPI_LIBRARY names '/nonexistent/libmpi.so.40'", run.Output);
        Assert.Contains("apt-get install openmpi-bin", run.Output);
    }
}
