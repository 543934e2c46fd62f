using System.Numerics;

namespace SharpSeg.Nn.Interop;

/// <summary>
/// A foreign weight file (PyTorch <c>.pth</c>/<c>.pt</c>, PaddlePaddle <c>.pdparams</c>) that breaks its format or asks
/// for something the restricted unpickler refuses (a global outside the allow-list, an unsupported opcode, a length past
/// the end of the data). The message names the file and, for pickle faults, the opcode and its byte offset. It is the
/// only exception bad data raises from these readers, and nothing is returned from a file that fails.
/// </summary>
public sealed class PickleFormatException : IOException
{
    internal PickleFormatException(string source, string detail) : base($"{source}: {detail}")
    {
        FileName = source;
    }

    /// <summary>The file (or stream description, or archive member) being read.</summary>
    public string FileName { get; }
}

// The Python values the unpickler builds. Only inert data: nothing here can run code, and the objects produced by the
// allow-listed globals are plain records the readers turn into tensors afterwards.

/// <summary>Python's <c>None</c> (a singleton, so dictionaries never hold a C# null).</summary>
internal sealed class PyNone
{
    public static readonly PyNone Value = new();

    private PyNone()
    {
    }

    public override string ToString() => "None";
}

/// <summary>A <c>bytes</c> (or protocol 0–2 <c>str</c>) value: a slice of the input, never copied.</summary>
internal sealed record PyBytes(ReadOnlyMemory<byte> Data);

/// <summary>An immutable tuple; <see cref="Depth"/> (tuples inside tuples) is fixed at creation and bounded.</summary>
internal sealed class PyTuple(object[] items, int depth)
{
    public object[] Items { get; } = items;

    public int Depth { get; } = depth;

    public int Count => Items.Length;

    public object this[int index] => Items[index];
}

/// <summary>A <c>list</c> (also used for <c>set</c>/<c>frozenset</c>, whose contents the readers never need).</summary>
internal sealed class PyList(string typeName)
{
    public List<object> Items { get; } = [];

    public string TypeName { get; } = typeName;
}

/// <summary>A <c>dict</c> or <c>collections.OrderedDict</c>, in insertion order; keys are str, bytes, int, float, bool or None.</summary>
internal sealed class PyDict(string typeName)
{
    public OrderedDictionary<object, object> Items { get; } = new(PyKeyComparer.Instance);

    public string TypeName { get; } = typeName;
}

/// <summary>A module-level name from the allow-list (<c>torch._utils._rebuild_tensor_v2</c>, <c>torch.FloatStorage</c>, …).</summary>
internal sealed record PyGlobal(string Module, string Name)
{
    public string FullName => $"{Module}.{Name}";
}

/// <summary>
/// Equality and hashing of dictionary keys. Only scalar keys are accepted (a state dict's keys are strings): a tuple or
/// container key is refused, which also keeps every insert at a cost bounded by the key's length.
/// </summary>
internal sealed class PyKeyComparer : IEqualityComparer<object>
{
    public static readonly PyKeyComparer Instance = new();

    public new bool Equals(object? x, object? y) => (x, y) switch
    {
        (string a, string b) => a == b,
        (long a, long b) => a == b,
        (BigInteger a, BigInteger b) => a == b,
        (double a, double b) => a.Equals(b),
        (bool a, bool b) => a == b,
        (PyBytes a, PyBytes b) => a.Data.Span.SequenceEqual(b.Data.Span),
        _ => ReferenceEquals(x, y),
    };

    public int GetHashCode(object obj) => obj switch
    {
        PyBytes b => HashBytes(b.Data.Span),
        _ => obj.GetHashCode(),
    };

    private static int HashBytes(ReadOnlySpan<byte> bytes)
    {
        var hash = new HashCode();
        hash.AddBytes(bytes);
        return hash.ToHashCode();
    }

    public static bool IsHashable(object key) => key is string or long or BigInteger or double or bool or PyBytes or PyNone;
}
