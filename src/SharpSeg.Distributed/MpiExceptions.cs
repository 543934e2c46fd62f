namespace SharpSeg.Distributed;

/// <summary>
/// Open MPI could not be loaded or started: the library is missing (Debian's <c>openmpi-bin</c> and <c>libopenmpi3</c> are
/// not installed), is not Open MPI, or <c>MPI_Init_thread</c> failed. The message says what to install or run. PyTorch's
/// counterpart is the <c>RuntimeError</c> of <c>torch.distributed.init_process_group(backend="mpi")</c> without MPI.
/// </summary>
public sealed class MpiNotAvailableException : Exception
{
    /// <summary>Creates the exception with its message.</summary>
    public MpiNotAvailableException(string message) : base(message) { }

    /// <summary>Creates the exception with its message and the failure that caused it.</summary>
    public MpiNotAvailableException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>
/// An MPI call returned an error code instead of <c>MPI_SUCCESS</c> (SharpSeg sets <c>MPI_ERRORS_RETURN</c> on
/// <c>MPI_COMM_WORLD</c>, so errors come back instead of aborting the job). The message names the call and MPI's
/// <c>MPI_Error_string</c>.
/// </summary>
public sealed class MpiException : Exception
{
    /// <summary>Creates the exception for <paramref name="call"/> returning <paramref name="errorCode"/>, described by <paramref name="description"/>.</summary>
    public MpiException(string call, int errorCode, string description)
        : base($"{call} failed: {description}")
    {
        Call = call;
        ErrorCode = errorCode;
    }

    /// <summary>The MPI function that failed, e.g. <c>MPI_Allreduce</c>.</summary>
    public string Call { get; }

    /// <summary>The error code it returned.</summary>
    public int ErrorCode { get; }
}
