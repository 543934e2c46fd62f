using System.Runtime.InteropServices;

namespace SharpSeg.Distributed;

/// <summary>
/// The system's Open MPI, loaded at run time: the C functions SharpSeg calls, as function pointers resolved by name, and
/// Open MPI's predefined handles. In Open MPI's <c>mpi.h</c> every handle type (<c>MPI_Comm</c>, <c>MPI_Datatype</c>,
/// <c>MPI_Op</c>, <c>MPI_Errhandler</c>, <c>MPI_Request</c>) is a pointer to an opaque struct, and a predefined handle such
/// as <c>MPI_COMM_WORLD</c> is the address of an exported global (<c>&amp;ompi_mpi_comm_world</c>), so a handle here is
/// the address <see cref="NativeLibrary.GetExport"/> returns for that global. This is Open MPI's ABI, not MPICH's (whose
/// handles are integers): the loader refuses a library that lacks Open MPI's globals.
/// </summary>
internal sealed unsafe class MpiLibrary
{
    /// <summary>Environment variable naming the MPI library to load instead of the default names.</summary>
    public const string LibraryVariable = "SHARPSEG_MPI_LIBRARY";

    /// <summary>The names tried in order without <see cref="LibraryVariable"/>: Debian's soname, then the development link.</summary>
    public static readonly string[] DefaultNames = ["libmpi.so.40", "libmpi.so"];

    /// <summary><c>MPI_THREAD_SERIALIZED</c> of <c>mpi.h</c>'s thread-level enum (SINGLE 0, FUNNELED 1, SERIALIZED 2, MULTIPLE 3).</summary>
    public const int ThreadSerialized = 2;

    /// <summary><c>MPI_THREAD_MULTIPLE</c> (3).</summary>
    public const int ThreadMultiple = 3;

    /// <summary><c>MPI_SUCCESS</c>.</summary>
    public const int Success = 0;

    /// <summary><c>MPI_MAX_ERROR_STRING</c> (Open MPI's <c>OPAL_MAX_ERROR_STRING</c>, 256).</summary>
    public const int MaxErrorString = 256;

    /// <summary><c>MPI_IN_PLACE</c>: <c>(void *) 1</c> in <c>mpi.h</c>.</summary>
    public static readonly void* InPlace = (void*)1;

    public required string Path { get; init; }

    // int MPI_Init_thread(int *argc, char ***argv, int required, int *provided)
    public required delegate* unmanaged<int*, byte***, int, int*, int> InitThread { get; init; }
    // int MPI_Finalize(void)
    public required delegate* unmanaged<int> Finalize { get; init; }
    // int MPI_Comm_rank(MPI_Comm comm, int *rank), MPI_Comm_size(MPI_Comm comm, int *size)
    public required delegate* unmanaged<nint, int*, int> CommRank { get; init; }
    public required delegate* unmanaged<nint, int*, int> CommSize { get; init; }
    // int MPI_Comm_set_errhandler(MPI_Comm comm, MPI_Errhandler errhandler)
    public required delegate* unmanaged<nint, nint, int> CommSetErrhandler { get; init; }
    // int MPI_Allreduce(const void *sendbuf, void *recvbuf, int count, MPI_Datatype datatype, MPI_Op op, MPI_Comm comm)
    public required delegate* unmanaged<void*, void*, int, nint, nint, nint, int> Allreduce { get; init; }
    // int MPI_Bcast(void *buffer, int count, MPI_Datatype datatype, int root, MPI_Comm comm)
    public required delegate* unmanaged<void*, int, nint, int, nint, int> Bcast { get; init; }
    // int MPI_Allgather(const void *sendbuf, int sendcount, MPI_Datatype sendtype, void *recvbuf, int recvcount, MPI_Datatype recvtype, MPI_Comm comm)
    public required delegate* unmanaged<void*, int, nint, void*, int, nint, nint, int> Allgather { get; init; }
    // int MPI_Allgatherv(const void *sendbuf, int sendcount, MPI_Datatype sendtype, void *recvbuf, const int recvcounts[], const int displs[], MPI_Datatype recvtype, MPI_Comm comm)
    public required delegate* unmanaged<void*, int, nint, void*, int*, int*, nint, nint, int> Allgatherv { get; init; }
    // int MPI_Barrier(MPI_Comm comm)
    public required delegate* unmanaged<nint, int> Barrier { get; init; }
    // int MPI_Abort(MPI_Comm comm, int errorcode)
    public required delegate* unmanaged<nint, int, int> Abort { get; init; }
    // int MPI_Error_string(int errorcode, char *string, int *resultlen)
    public required delegate* unmanaged<int, byte*, int*, int> ErrorString { get; init; }

    public required nint CommWorld { get; init; }
    public required nint Float { get; init; }
    public required nint Double { get; init; }
    public required nint Int64 { get; init; }
    public required nint Byte { get; init; }
    public required nint OpSum { get; init; }
    public required nint ErrorsReturn { get; init; }

    /// <summary>
    /// Loads the library named by <see cref="LibraryVariable"/> when it is set, else the first of <see cref="DefaultNames"/>
    /// the dynamic loader finds, and resolves every function and handle.
    /// </summary>
    /// <exception cref="MpiNotAvailableException">No library loads, or the one loaded is not Open MPI's.</exception>
    public static MpiLibrary Load() =>
        Environment.GetEnvironmentVariable(LibraryVariable) is { Length: > 0 } path ? Load([path], fromVariable: true) : Load(DefaultNames, fromVariable: false);

    /// <inheritdoc cref="Load()"/>
    public static MpiLibrary Load(IReadOnlyList<string> candidates, bool fromVariable)
    {
        var failures = new List<string>();
        foreach (string name in candidates)
        {
            if (NativeLibrary.TryLoad(name, out nint handle))
                return Resolve(name, handle);
            failures.Add(name);
        }
        string tried = fromVariable
            ? $"{LibraryVariable} names '{candidates[0]}', which could not be loaded (does the file exist, and is it Open MPI's libmpi.so?)"
            : $"none of {string.Join(", ", candidates)} could be loaded";
        throw new MpiNotAvailableException(
            $"Distributed training needs Open MPI, but {tried}. Install Debian's openmpi-bin and libopenmpi3 " +
            "(apt-get install openmpi-bin) and start every rank with mpirun, e.g. mpirun -np 2 sharpseg train ... --distributed; " +
            $"set {LibraryVariable} to the path of libmpi.so to use another installation.");
    }

    private static MpiLibrary Resolve(string path, nint handle)
    {
        nint Export(string symbol) =>
            NativeLibrary.TryGetExport(handle, symbol, out nint address)
                ? address
                : throw new MpiNotAvailableException(
                    $"{path} has no symbol {symbol}: SharpSeg binds Open MPI's ABI (its handles are exported globals such as ompi_mpi_comm_world), " +
                    "so another MPI (MPICH, Intel MPI) cannot be used. Install Debian's openmpi-bin and libopenmpi3.");

        return new MpiLibrary
        {
            Path = path,
            InitThread = (delegate* unmanaged<int*, byte***, int, int*, int>)Export("MPI_Init_thread"),
            Finalize = (delegate* unmanaged<int>)Export("MPI_Finalize"),
            CommRank = (delegate* unmanaged<nint, int*, int>)Export("MPI_Comm_rank"),
            CommSize = (delegate* unmanaged<nint, int*, int>)Export("MPI_Comm_size"),
            CommSetErrhandler = (delegate* unmanaged<nint, nint, int>)Export("MPI_Comm_set_errhandler"),
            Allreduce = (delegate* unmanaged<void*, void*, int, nint, nint, nint, int>)Export("MPI_Allreduce"),
            Bcast = (delegate* unmanaged<void*, int, nint, int, nint, int>)Export("MPI_Bcast"),
            Allgather = (delegate* unmanaged<void*, int, nint, void*, int, nint, nint, int>)Export("MPI_Allgather"),
            Allgatherv = (delegate* unmanaged<void*, int, nint, void*, int*, int*, nint, nint, int>)Export("MPI_Allgatherv"),
            Barrier = (delegate* unmanaged<nint, int>)Export("MPI_Barrier"),
            Abort = (delegate* unmanaged<nint, int, int>)Export("MPI_Abort"),
            ErrorString = (delegate* unmanaged<int, byte*, int*, int>)Export("MPI_Error_string"),
            CommWorld = Export("ompi_mpi_comm_world"),
            Float = Export("ompi_mpi_float"),
            Double = Export("ompi_mpi_double"),
            Int64 = Export("ompi_mpi_int64_t"),
            Byte = Export("ompi_mpi_byte"),
            OpSum = Export("ompi_mpi_op_sum"),
            ErrorsReturn = Export("ompi_mpi_errors_return"),
        };
    }

    /// <summary>MPI's text for an error code (<c>MPI_Error_string</c>), or the number when even that fails.</summary>
    public string Describe(int errorCode)
    {
        byte* text = stackalloc byte[MaxErrorString + 1];
        int length = 0;
        if (ErrorString(errorCode, text, &length) != Success || length <= 0)
            return $"MPI error {errorCode}";
        return $"{Marshal.PtrToStringUTF8((nint)text, Math.Min(length, MaxErrorString))} (MPI error {errorCode})";
    }

    /// <summary>Throws <see cref="MpiException"/> naming <paramref name="call"/> and MPI's message when <paramref name="result"/> is not MPI_SUCCESS.</summary>
    public void Check(int result, string call)
    {
        if (result != Success)
            throw new MpiException(call, result, Describe(result));
    }
}
