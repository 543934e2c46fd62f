using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace SharpSeg.Nn.Interop;

/// <summary>A pickled value that becomes a tensor once its data is at hand.</summary>
internal interface IPickledTensor
{
    /// <summary>The tensor (floats as float32, integers and booleans as int64); <paramref name="what"/> names it in errors.</summary>
    Tensor ToTensor(string source, string what);

    /// <summary>The elements the tensor will have (saturating; 0 for a shape the conversion will refuse), known before any allocation.</summary>
    long ElementCount { get; }

    /// <summary>The element type as the file stores it, before the conversion to float32 or int64.</summary>
    SafetensorsDType StoredType { get; }
}

/// <summary>
/// A PyTorch storage named by a persistent id <c>('storage', torch.FloatStorage, key, location, numel)</c>; its bytes are
/// the archive member <c>data/&lt;key&gt;</c>, read once and shared by every tensor (view) over it.
/// </summary>
internal sealed class TorchStorageRecord(string key, SafetensorsDType elementType, long numel)
{
    public string Key { get; } = key;

    public SafetensorsDType ElementType { get; } = elementType;

    public long Numel { get; } = numel;

    public byte[]? Data { get; set; }

    public bool BigEndian { get; set; }

    /// <summary>The element type a <c>torch.*Storage</c> class name stands for, or null for one this reader does not know.</summary>
    public static SafetensorsDType? ElementTypeOf(string storageType) => storageType switch
    {
        "FloatStorage" => SafetensorsDType.F32,
        "DoubleStorage" => SafetensorsDType.F64,
        "HalfStorage" => SafetensorsDType.F16,
        "BFloat16Storage" => SafetensorsDType.BF16,
        "LongStorage" => SafetensorsDType.I64,
        "IntStorage" => SafetensorsDType.I32,
        "ShortStorage" => SafetensorsDType.I16,
        "CharStorage" => SafetensorsDType.I8,
        "ByteStorage" => SafetensorsDType.U8,
        "BoolStorage" => SafetensorsDType.Bool,
        _ => null,
    };
}

/// <summary><c>torch._utils._rebuild_tensor_v2(storage, offset, size, stride, …)</c>: a strided view of a storage.</summary>
internal sealed class TorchTensorRecord(TorchStorageRecord storage, long offset, long[] size, long[] stride) : IPickledTensor
{
    public TorchStorageRecord Storage { get; } = storage;

    public long ElementCount => StridedDecoder.ElementCount(size);

    public SafetensorsDType StoredType => Storage.ElementType;

    public Tensor ToTensor(string source, string what)
    {
        if (Storage.Data is null) throw new PickleFormatException(source, $"{what}: storage '{Storage.Key}' was never read");
        return StridedDecoder.Decode(Storage.Data, Storage.ElementType, Storage.BigEndian, Storage.Numel, offset, size, stride, source, what);
    }
}

/// <summary>A numpy dtype from <c>numpy.dtype(code, align, copy)</c> plus its <c>BUILD</c> state (byte order).</summary>
internal sealed class NumpyDTypeRecord
{
    private NumpyDTypeRecord(string code, SafetensorsDType elementType)
    {
        Code = code;
        ElementType = elementType;
    }

    public string Code { get; }

    public SafetensorsDType ElementType { get; }

    public bool BigEndian { get; private set; }

    public override string ToString() => Code;

    public static NumpyDTypeRecord Create(object code, RestrictedUnpickler reader)
    {
        string text = code switch
        {
            string s => s,
            PyBytes b when b.Data.Length <= 8 => string.Concat(b.Data.Span.ToArray().Select(c => (char)c)),
            _ => throw reader.Refuse($"numpy.dtype needs a type code such as 'f4', got {RestrictedUnpickler.Describe(code)}"),
        };
        var type = text switch
        {
            "f2" => SafetensorsDType.F16, "f4" => SafetensorsDType.F32, "f8" => SafetensorsDType.F64,
            "i1" => SafetensorsDType.I8, "i2" => SafetensorsDType.I16, "i4" => SafetensorsDType.I32, "i8" => SafetensorsDType.I64,
            "u1" => SafetensorsDType.U8, "u2" => SafetensorsDType.U16, "u4" => SafetensorsDType.U32, "u8" => SafetensorsDType.U64,
            "b1" => SafetensorsDType.Bool,
            _ => (SafetensorsDType?)null,
        };
        if (type is null)
            throw reader.Refuse($"numpy dtype '{text}' is not a numeric type (object, string, complex and structured arrays hold no weights)");
        return new NumpyDTypeRecord(text, type.Value);
    }

    /// <summary>The state tuple <c>(version, byteorder, subarray, names, fields, elsize, alignment, flags[, metadata])</c>.</summary>
    public void SetState(object state, RestrictedUnpickler reader)
    {
        // Python 2 pickles wrote the byte order as a one-byte str, read here as bytes.
        string? order = state is PyTuple { Count: >= 5 } t
            ? t[1] switch { string s => s, PyBytes { Data.Length: 1 } b => ((char)b.Data.Span[0]).ToString(), _ => null }
            : null;
        if (order is null || state is not PyTuple tuple)
            throw reader.Refuse($"numpy dtype state must be (version, byteorder, …), got {RestrictedUnpickler.Describe(state)}");
        if (tuple[2] is not PyNone || tuple[3] is not PyNone || tuple[4] is not PyNone)
            throw reader.Refuse("structured or sub-array numpy dtypes hold no weights; refused");
        BigEndian = order switch
        {
            "<" or "|" or "=" => false,
            ">" => true,
            _ => throw reader.Refuse($"numpy byte order '{order}' is not one of <, >, =, |"),
        };
    }
}

/// <summary>A numpy array from <c>_reconstruct(ndarray, (0,), b'b')</c> plus its <c>BUILD</c> state, or from <c>_frombuffer</c>.</summary>
internal sealed class NumpyArrayRecord : IPickledTensor
{
    private NumpyDTypeRecord? _dtype;
    private long[] _shape = [];
    private bool _fortranOrder;
    private PyBytes? _data;

    public long ElementCount => StridedDecoder.ElementCount(_shape);

    public SafetensorsDType StoredType => _dtype?.ElementType ?? SafetensorsDType.F32;

    public static NumpyArrayRecord FromParts(NumpyDTypeRecord dtype, long[] shape, bool fortranOrder, PyBytes data, RestrictedUnpickler reader)
    {
        var array = new NumpyArrayRecord();
        array.Set(dtype, shape, fortranOrder, data, reader);
        return array;
    }

    /// <summary>The state tuple <c>([version,] shape, dtype, is_fortran, rawdata)</c>.</summary>
    public void SetState(object state, RestrictedUnpickler reader)
    {
        if (state is not PyTuple { Count: 4 or 5 } tuple)
            throw reader.Refuse($"numpy array state must be (version, shape, dtype, is_fortran, data), got {RestrictedUnpickler.Describe(state)}");
        int first = tuple.Count - 4;
        if (tuple[first] is not PyTuple shapeTuple || tuple[first + 1] is not NumpyDTypeRecord dtype || tuple[first + 2] is not bool fortran)
            throw reader.Refuse("numpy array state must hold a shape tuple, a dtype and a Fortran-order flag");
        if (tuple[first + 3] is not PyBytes data)
            throw reader.Refuse($"numpy array data must be bytes, got {RestrictedUnpickler.Describe(tuple[first + 3])} (object arrays are refused)");
        var shape = new long[shapeTuple.Count];
        for (int i = 0; i < shape.Length; i++)
            shape[i] = shapeTuple[i] is long d ? d : throw reader.Refuse($"numpy array shape item {i} is {RestrictedUnpickler.Describe(shapeTuple[i])}, not an int");
        Set(dtype, shape, fortran, data, reader);
    }

    private void Set(NumpyDTypeRecord dtype, long[] shape, bool fortranOrder, PyBytes data, RestrictedUnpickler reader)
    {
        if (_data is not null) throw reader.Refuse("a numpy array's state is set twice");
        _dtype = dtype;
        _shape = shape;
        _fortranOrder = fortranOrder;
        _data = data;
    }

    public Tensor ToTensor(string source, string what)
    {
        if (_dtype is null || _data is null) throw new PickleFormatException(source, $"{what}: numpy array was never given its data");
        int size = _dtype.ElementType.ByteSize();
        long elements = _data.Data.Length / size;
        if (_data.Data.Length % size != 0)
            throw new PickleFormatException(source, $"{what}: {_data.Data.Length} data bytes are not a whole number of {size}-byte '{_dtype}' elements");

        // Numpy pickles the elements in the array's own order: row-major, or column-major for a Fortran-ordered array.
        var stride = new long[_shape.Length];
        long step = 1;
        for (int k = 0; k < _shape.Length; k++)
        {
            int axis = _fortranOrder ? k : _shape.Length - 1 - k;
            stride[axis] = step;
            step = _shape[axis] > 0 ? (long)Int128.Min((Int128)step * _shape[axis], long.MaxValue) : step;
        }
        var tensor = StridedDecoder.Decode(_data.Data.Span, _dtype.ElementType, _dtype.BigEndian, elements, 0, _shape, stride, source, what);
        if (tensor.Numel != elements)
            throw new PickleFormatException(source, $"{what}: shape [{string.Join(", ", _shape)}] has {tensor.Numel} elements but the data holds {elements}");
        return tensor;
    }
}

/// <summary>
/// Gathers a strided view of raw element bytes into a new contiguous tensor: floating types become float32, integers and
/// booleans int64 (the same conversions as <see cref="Safetensors"/>). The view is checked against the data first, so a
/// corrupt size, stride or offset is an error, never an out-of-range read.
/// </summary>
internal static class StridedDecoder
{
    public static long ElementCount(long[] size)
    {
        Int128 count = 1;
        foreach (long d in size)
        {
            if (d < 0) return 0;
            count = Int128.Min(count * d, long.MaxValue);
        }
        return (long)count;
    }

    public static Tensor Decode(ReadOnlySpan<byte> data, SafetensorsDType type, bool bigEndian, long storageNumel, long offset,
        long[] size, long[] stride, string source, string what)
    {
        string Shape() => $"[{string.Join(", ", size)}]";
        if (size.Length != stride.Length)
            throw new PickleFormatException(source, $"{what}: size {Shape()} and stride [{string.Join(", ", stride)}] differ in rank");
        if (offset < 0) throw new PickleFormatException(source, $"{what}: negative storage offset {offset}");
        int elementSize = type.ByteSize();
        if ((Int128)storageNumel * elementSize > data.Length)
            throw new PickleFormatException(source, $"{what}: storage of {storageNumel} elements needs {(Int128)storageNumel * elementSize} bytes, the file holds {data.Length}");

        Int128 numel = 1, lastIndex = offset;
        var dims = new int[size.Length];
        for (int i = 0; i < size.Length; i++)
        {
            if (size[i] < 0 || size[i] > int.MaxValue) throw new PickleFormatException(source, $"{what}: size {Shape()} has an invalid dimension {size[i]}");
            if (stride[i] < 0) throw new PickleFormatException(source, $"{what}: negative stride {stride[i]}");
            dims[i] = (int)size[i];
            numel = Int128.Min(numel * (Int128)size[i], (Int128)Array.MaxLength + 1);
            if (size[i] > 0) lastIndex += (Int128)(size[i] - 1) * stride[i];
        }
        if (numel > Array.MaxLength) throw new PickleFormatException(source, $"{what}: size {Shape()} has more elements than a tensor can hold ({Array.MaxLength})");
        if (numel > 0 && lastIndex >= storageNumel)
            throw new PickleFormatException(source,
                $"{what}: size {Shape()}, stride [{string.Join(", ", stride)}] at offset {offset} reaches element {lastIndex} of a storage of {storageNumel}");

        int count = (int)numel;
        bool isFloat = type.IsFloatingPoint();
        // Floats are written straight into the tensor's storage (one copy of each byte); integer tensors are counters
        // and labels, small enough for FromArray's copy.
        var floatTensor = isFloat ? Tensor.Zeros(new Shape(dims)) : null;
        var floats = isFloat ? floatTensor!.AsSpan() : default;
        var integers = isFloat ? null : new long[count];
        if (count > 0 && isFloat && type == SafetensorsDType.F32 && !bigEndian && IsRowMajor(dims, stride))
        {
            MemoryMarshal.Cast<byte, float>(data.Slice((int)(offset * 4), count * 4)).CopyTo(floats);
        }
        else if (count > 0)
        {
            // An odometer over the output's row-major positions, tracking the source element index incrementally.
            var counter = new int[dims.Length];
            long index = offset;
            for (int n = 0; n < count; n++)
            {
                var bytes = data.Slice((int)(index * elementSize), elementSize);
                if (isFloat) floats[n] = ReadFloat(type, bytes, bigEndian);
                else integers![n] = ReadInteger(type, bytes, bigEndian, source, what);
                for (int axis = dims.Length - 1; axis >= 0; axis--)
                {
                    index += stride[axis];
                    if (++counter[axis] < dims[axis]) break;
                    index -= stride[axis] * dims[axis];
                    counter[axis] = 0;
                }
            }
        }
        if (isFloat) return floatTensor!;
        var tensor = Tensor.FromArray(integers!, dims);
        // FromArray reads an empty shape as [n]; a 0-d tensor (a BatchNorm's num_batches_tracked) keeps its rank 0.
        return dims.Length == 0 ? tensor.Reshape() : tensor;
    }

    private static bool IsRowMajor(int[] dims, long[] stride)
    {
        long expected = 1;
        for (int axis = dims.Length - 1; axis >= 0; axis--)
        {
            if (dims[axis] != 1 && stride[axis] != expected) return false;
            expected *= dims[axis];
        }
        return true;
    }

    private static float ReadFloat(SafetensorsDType type, ReadOnlySpan<byte> b, bool bigEndian) => type switch
    {
        SafetensorsDType.F32 => bigEndian ? BinaryPrimitives.ReadSingleBigEndian(b) : BinaryPrimitives.ReadSingleLittleEndian(b),
        SafetensorsDType.F64 => (float)(bigEndian ? BinaryPrimitives.ReadDoubleBigEndian(b) : BinaryPrimitives.ReadDoubleLittleEndian(b)),
        SafetensorsDType.F16 => (float)(bigEndian ? BinaryPrimitives.ReadHalfBigEndian(b) : BinaryPrimitives.ReadHalfLittleEndian(b)),
        _ => BitConverter.Int32BitsToSingle((bigEndian ? BinaryPrimitives.ReadUInt16BigEndian(b) : BinaryPrimitives.ReadUInt16LittleEndian(b)) << 16),
    };

    private static long ReadInteger(SafetensorsDType type, ReadOnlySpan<byte> b, bool bigEndian, string source, string what) => type switch
    {
        SafetensorsDType.I64 => bigEndian ? BinaryPrimitives.ReadInt64BigEndian(b) : BinaryPrimitives.ReadInt64LittleEndian(b),
        SafetensorsDType.I32 => bigEndian ? BinaryPrimitives.ReadInt32BigEndian(b) : BinaryPrimitives.ReadInt32LittleEndian(b),
        SafetensorsDType.I16 => bigEndian ? BinaryPrimitives.ReadInt16BigEndian(b) : BinaryPrimitives.ReadInt16LittleEndian(b),
        SafetensorsDType.U16 => bigEndian ? BinaryPrimitives.ReadUInt16BigEndian(b) : BinaryPrimitives.ReadUInt16LittleEndian(b),
        SafetensorsDType.U32 => bigEndian ? BinaryPrimitives.ReadUInt32BigEndian(b) : BinaryPrimitives.ReadUInt32LittleEndian(b),
        SafetensorsDType.U64 => (bigEndian ? BinaryPrimitives.ReadUInt64BigEndian(b) : BinaryPrimitives.ReadUInt64LittleEndian(b)) is var u && u <= long.MaxValue
            ? (long)u
            : throw new PickleFormatException(source, $"{what}: a uint64 value does not fit in int64"),
        SafetensorsDType.I8 => (sbyte)b[0],
        SafetensorsDType.Bool => b[0] != 0 ? 1 : 0,
        _ => b[0],
    };
}
