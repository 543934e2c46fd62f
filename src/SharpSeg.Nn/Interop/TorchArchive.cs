using System.IO.Compression;
using System.Text;

namespace SharpSeg.Nn.Interop;

/// <summary>
/// Reads the zip checkpoint <c>torch.save</c> writes (the default since PyTorch 1.6): <c>&lt;name&gt;/data.pkl</c> pickles
/// the object, each storage it references by persistent id <c>('storage', torch.FloatStorage, key, location, numel)</c>
/// is the member <c>&lt;name&gt;/data/&lt;key&gt;</c>, and <c>&lt;name&gt;/byteorder</c> says the storages' byte order.
/// Tensors are views (offset, size, stride) of storages, so views that share a storage read the same bytes.
/// Equivalent to <c>torch.load(f, weights_only=True)</c> followed by picking the state dict.
/// </summary>
internal static class TorchArchive
{
    /// <summary>The largest <c>data.pkl</c> read (a state dict's pickle is kilobytes; the weights are separate members).</summary>
    public const long MaxPickleBytes = 1L << 30;

    public static (OrderedDictionary<string, Tensor> Tensors, Dictionary<string, string> StoredTypes) Read(Stream stream, string source)
    {
        try
        {
            using var zip = new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: true);
            return Read(zip, source);
        }
        catch (Exception e) when (e is InvalidDataException or NotSupportedException)
        {
            // ZipArchive reports a corrupt directory or entry as InvalidDataException, an unknown compression method as NotSupportedException.
            throw new PickleFormatException(source, $"the zip archive is corrupt or uses an unsupported feature ({e.Message})");
        }
    }

    private static (OrderedDictionary<string, Tensor>, Dictionary<string, string>) Read(ZipArchive zip, string source)
    {
        var pickleEntry = zip.Entries.FirstOrDefault(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal)
                                                          && e.FullName.IndexOf('/') == e.FullName.Length - "/data.pkl".Length)
            ?? throw new PickleFormatException(source,
                zip.Entries.Any(e => e.FullName.EndsWith("constants.pkl", StringComparison.Ordinal))
                    ? "is a TorchScript archive (torch.jit.save), not a torch.save checkpoint; save model.state_dict() with torch.save"
                    : "is a zip archive without '<name>/data.pkl', so not a torch.save checkpoint");
        string prefix = pickleEntry.FullName[..^"data.pkl".Length];
        bool bigEndian = ReadByteOrder(zip.GetEntry(prefix + "byteorder"), source);

        var storages = new Dictionary<string, TorchStorageRecord>();
        object PersistentLoad(PyTuple id)
        {
            if (id.Count != 5 || id[0] is not "storage" || id[1] is not PyGlobal { Module: "torch" } type || id[2] is not string key || id[4] is not long numel)
                throw new PickleFormatException(source, $"data.pkl: persistent id must be ('storage', torch.<Type>Storage, key, location, numel), got a tuple of {id.Count}");
            var elementType = TorchStorageRecord.ElementTypeOf(type.Name)
                ?? throw new PickleFormatException(source, $"data.pkl: storage type torch.{type.Name} is not one this reader knows");
            if (numel < 0 || numel > Array.MaxLength / elementType.ByteSize())
                throw new PickleFormatException(source, $"data.pkl: storage '{key}' has {numel} elements, outside 0–{Array.MaxLength / elementType.ByteSize()}");
            if (storages.TryGetValue(key, out var known))
            {
                if (known.ElementType != elementType || known.Numel != numel)
                    throw new PickleFormatException(source, $"data.pkl: storage '{key}' is referenced as two different types or sizes");
                return known;
            }
            return storages[key] = new TorchStorageRecord(key, elementType, numel);
        }

        object root = RestrictedUnpickler.Load(ReadEntry(pickleEntry, MaxPickleBytes, source), $"{source} ({pickleEntry.FullName})", PersistentLoad);
        foreach (var storage in storages.Values)
        {
            string member = $"{prefix}data/{storage.Key}";
            var entry = zip.GetEntry(member) ?? throw new PickleFormatException(source, $"storage '{storage.Key}' has no member '{member}' (truncated archive?)");
            long bytes = storage.Numel * storage.ElementType.ByteSize();
            if (entry.Length < bytes)
                throw new PickleFormatException(source, $"member '{member}' holds {entry.Length} bytes, but its storage of {storage.Numel} {storage.ElementType} elements needs {bytes}");
            storage.Data = ReadEntry(entry, bytes, source, exactly: bytes);
            storage.BigEndian = bigEndian;
        }
        return StateDictExtraction.Extract(root, source, storages.Values.Sum(s => s.Data!.LongLength));
    }

    private static bool ReadByteOrder(ZipArchiveEntry? entry, string source)
    {
        // Archives from before PyTorch 1.10 have no byteorder member; they were written little-endian.
        if (entry is null) return false;
        string order = Encoding.ASCII.GetString(ReadEntry(entry, 16, source)).Trim();
        return order switch
        {
            "little" => false,
            "big" => true,
            _ => throw new PickleFormatException(source, $"member '{entry.FullName}' says '{order}', not 'little' or 'big'"),
        };
    }

    /// <summary>The first <paramref name="exactly"/> bytes of a member (all of it when null), refusing members over <paramref name="limit"/>.</summary>
    private static byte[] ReadEntry(ZipArchiveEntry entry, long limit, string source, long? exactly = null)
    {
        long length = exactly ?? entry.Length;
        if (length > limit || length > Array.MaxLength)
            throw new PickleFormatException(source, $"member '{entry.FullName}' is {entry.Length} bytes, over the {Math.Min(limit, Array.MaxLength)}-byte limit");
        var buffer = new byte[length];
        try
        {
            using var stream = entry.Open();
            stream.ReadExactly(buffer);
        }
        catch (EndOfStreamException)
        {
            throw new PickleFormatException(source, $"member '{entry.FullName}' ends before its {length} bytes (truncated archive?)");
        }
        return buffer;
    }
}
