using System.Buffers.Binary;

namespace SharpSeg.Nn.Interop;

/// <summary>The weight-file formats <see cref="WeightFile"/> reads, told apart by their first bytes.</summary>
public enum WeightFileFormat
{
    /// <summary>safetensors, SharpSeg's own format (see <see cref="Nn.Safetensors"/>).</summary>
    Safetensors,

    /// <summary>A PyTorch <c>torch.save</c> zip checkpoint (<c>.pth</c>, <c>.pt</c>, <c>.bin</c>).</summary>
    PyTorchZip,

    /// <summary>A bare pickle of a dict of numpy arrays: PaddlePaddle's <c>.pdparams</c> (<c>paddle.save</c>).</summary>
    Pickle,
}

/// <summary>A weight file's tensors with what they were before <see cref="WeightFile"/> converted them.</summary>
/// <param name="Format">The file's format.</param>
/// <param name="Tensors">Tensors by name, in the file's order: floats as float32, integers and booleans as int64.</param>
/// <param name="StoredDTypes">
/// For PyTorch and Paddle files, each tensor's element type as stored, in safetensors' spelling (<c>F16</c>, <c>BF16</c>,
/// <c>F64</c>, <c>I32</c>, <c>U8</c>, <c>BOOL</c>, …); empty for safetensors files.
/// </param>
public sealed record WeightFileContent(WeightFileFormat Format, OrderedDictionary<string, Tensor> Tensors, IReadOnlyDictionary<string, string> StoredDTypes);

/// <summary>
/// One entry point for every weight file a user may have: safetensors, PyTorch <c>.pth</c>/<c>.pt</c> zip checkpoints and
/// PaddlePaddle <c>.pdparams</c>, recognised by their first bytes (not their extension), each read into the same name →
/// tensor dictionary <see cref="Nn.Safetensors.Load(string)"/> gives: floating-point tensors (float16, bfloat16, float64)
/// converted to float32, integer and boolean tensors to int64. Pickled files go through a restricted unpickler that runs no
/// code: only the globals PyTorch and NumPy use to rebuild tensors are accepted, anything else is refused, naming it.
/// A checkpoint that wraps its state dict (<c>{"model": sd, …}</c>, <c>{"state_dict": sd, …}</c>) gives the state dict;
/// Paddle's <c>StructuredToParameterName@@</c> table is left out. Keys are returned as the file has them; rename foreign
/// schemes with a <see cref="KeyMap"/> (e.g. <see cref="KeyMap.PaddleSeg"/>). Equivalent to
/// <c>torch.load(f, weights_only=True)</c> and <c>paddle.load(f)</c>, reduced to their state dicts.
/// </summary>
public static class WeightFile
{
    /// <summary>PyTorch's legacy (pre-1.6, non-zip) files open with this pickled integer.</summary>
    private static readonly byte[] LegacyTorchMagic = [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19];

    /// <summary>The largest bare pickle read (it is held in memory whole).</summary>
    public static readonly long MaxPickleBytes = Array.MaxLength;

    /// <summary>The tensors of the weight file at <paramref name="path"/>, whatever its format.</summary>
    /// <exception cref="PickleFormatException">A PyTorch or Paddle file is malformed, legacy, or asks for a refused global.</exception>
    /// <exception cref="SafetensorsFormatException">A safetensors file breaks its format.</exception>
    /// <exception cref="InvalidDataException">The file is none of the formats.</exception>
    public static OrderedDictionary<string, Tensor> Load(string path) => Read(path).Tensors;

    /// <summary>The tensors of a seekable <paramref name="stream"/>; <paramref name="source"/> names it in errors.</summary>
    /// <inheritdoc cref="Load(string)"/>
    public static OrderedDictionary<string, Tensor> Load(Stream stream, string source) => Read(stream, source).Tensors;

    /// <summary>The format, tensors and stored element types of the weight file at <paramref name="path"/>.</summary>
    /// <inheritdoc cref="Load(string)"/>
    public static WeightFileContent Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        return Read(stream, path);
    }

    /// <summary>The format, tensors and stored element types of a seekable <paramref name="stream"/>; <paramref name="source"/> names it in errors.</summary>
    /// <inheritdoc cref="Load(string)"/>
    public static WeightFileContent Read(Stream stream, string source)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(source);
        if (!stream.CanSeek) throw new ArgumentException($"{source}: reading a weight file needs a seekable stream.", nameof(stream));
        var format = DetectFormat(stream, source);
        stream.Position = 0;
        var (tensors, storedTypes) = format switch
        {
            WeightFileFormat.Safetensors => (Nn.Safetensors.Read(stream, source).Tensors, new Dictionary<string, string>()),
            WeightFileFormat.PyTorchZip => TorchArchive.Read(stream, source),
            _ => LoadPickle(stream, source),
        };
        return new WeightFileContent(format, tensors, storedTypes);
    }

    /// <summary>The format of the file at <paramref name="path"/>, from its first bytes.</summary>
    /// <exception cref="PickleFormatException">The file is PyTorch's legacy non-zip format.</exception>
    /// <exception cref="InvalidDataException">The file is none of the formats.</exception>
    public static WeightFileFormat DetectFormat(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        return DetectFormat(stream, path);
    }

    private static WeightFileFormat DetectFormat(Stream stream, string source)
    {
        Span<byte> head = stackalloc byte[16];
        stream.Position = 0;
        int read = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        head = head[..read];
        if (head.StartsWith("PK\x03\x04"u8)) return WeightFileFormat.PyTorchZip;
        if (head.StartsWith(LegacyTorchMagic))
            throw new PickleFormatException(source,
                "is in PyTorch's legacy (pre-1.6) serialization format, which is not read; re-save it in the default zip format with a " +
                "current PyTorch: torch.save(torch.load(path), new_path) (do this only for a file you trust: loading it runs its pickle)");
        // Safetensors first: a header of 640 bytes begins 80 02, which is also how a protocol 2 pickle begins. A pickle
        // cannot pass this test: its first eight bytes never read as a length under 100 MB followed by '{'.
        if (head.Length >= 9 && head[8] == (byte)'{' && BinaryPrimitives.ReadUInt64LittleEndian(head) <= Nn.Safetensors.MaxHeaderBytes)
            return WeightFileFormat.Safetensors;
        if (head.Length >= 2 && head[0] == 0x80 && head[1] is >= 2 and <= 5) return WeightFileFormat.Pickle;
        throw new InvalidDataException(
            $"{source}: not a weight file this library reads (safetensors, a torch.save zip checkpoint, or a pickled dict such as a " +
            $"Paddle .pdparams); it begins with {Convert.ToHexString(head)}.");
    }

    private static (OrderedDictionary<string, Tensor>, Dictionary<string, string>) LoadPickle(Stream stream, string source)
    {
        if (stream.Length > MaxPickleBytes)
            throw new PickleFormatException(source, $"is {stream.Length} bytes, over the {MaxPickleBytes}-byte limit of a pickle held in memory");
        var data = new byte[stream.Length];
        stream.ReadExactly(data);
        return StateDictExtraction.Extract(RestrictedUnpickler.Load(data, source), source, data.LongLength);
    }
}
