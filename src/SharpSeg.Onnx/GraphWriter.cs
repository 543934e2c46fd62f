using System.Runtime.InteropServices;
using Google.Protobuf;
using SharpSeg.Onnx.Proto;

namespace SharpSeg.Onnx;

/// <summary>
/// Appends nodes and initializers to an ONNX graph with unique value names, and caches the small integer constants
/// and shape arithmetic that dynamic sizes need, so each appears once.
/// </summary>
internal sealed class GraphWriter(GraphProto graph)
{
    private readonly HashSet<string> _names = [];
    private readonly Dictionary<string, string> _constants = [];
    private readonly Dictionary<string, string> _shapes = [];
    private readonly Dictionary<(string Value, int Start, int End), string> _shapeSlices = [];
    private int _nodeCount;

    public GraphProto Graph { get; } = graph;

    /// <summary>A value name not used yet, built from <paramref name="hint"/>.</summary>
    public string Fresh(string hint)
    {
        string name = hint;
        for (int i = 1; !_names.Add(name); i++) name = $"{hint}_{i}";
        return name;
    }

    public string Node(string opType, IEnumerable<string> inputs, string outputHint, params AttributeProto[] attributes) =>
        Node(opType, inputs, [outputHint], attributes)[0];

    public string[] Node(string opType, IEnumerable<string> inputs, string[] outputHints, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = $"{opType}_{_nodeCount++}" };
        node.Input.AddRange(inputs);
        var outputs = outputHints.Select(Fresh).ToArray();
        node.Output.AddRange(outputs);
        node.Attribute.AddRange(attributes);
        Graph.Node.Add(node);
        return outputs;
    }

    /// <summary>Adds a float32 initializer holding <paramref name="values"/> in <paramref name="dims"/>.</summary>
    public string FloatInitializer(string hint, ReadOnlySpan<float> values, IReadOnlyList<int> dims)
    {
        string name = Fresh(hint);
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        tensor.Dims.AddRange(dims.Select(d => (long)d));
        tensor.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values));
        Graph.Initializer.Add(tensor);
        return name;
    }

    /// <summary>Adds an initializer of <paramref name="tensor"/>'s values (float32, int32 or int64).</summary>
    public string TensorInitializer(string hint, Tensor tensor)
    {
        var dims = tensor.Shape.ToArray();
        switch (tensor.DType)
        {
            case DType.Float32: return FloatInitializer(hint, tensor.ToArray<float>(), dims);
            case DType.Int32:
            case DType.Int64:
            {
                string name = Fresh(hint);
                var proto = new TensorProto
                {
                    Name = name,
                    DataType = (int)(tensor.DType == DType.Int32 ? TensorProto.Types.DataType.Int32 : TensorProto.Types.DataType.Int64),
                };
                proto.Dims.AddRange(dims.Select(d => (long)d));
                proto.RawData = tensor.DType == DType.Int32
                    ? ByteString.CopyFrom(MemoryMarshal.AsBytes<int>(tensor.ToArray<int>()))
                    : ByteString.CopyFrom(MemoryMarshal.AsBytes<long>(tensor.ToArray<long>()));
                Graph.Initializer.Add(proto);
                return name;
            }
            default: throw new OnnxExportException($"ONNX export: tensors of type {tensor.DType} cannot be written.");
        }
    }

    /// <summary>A 1-D int64 constant (shared between uses).</summary>
    public string Int64s(params long[] values)
    {
        string key = string.Join(",", values);
        if (_constants.TryGetValue(key, out var existing)) return existing;
        string name = Fresh("const_i64");
        var proto = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
        proto.Dims.Add(values.Length);
        proto.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes<long>(values));
        Graph.Initializer.Add(proto);
        _constants[key] = name;
        return name;
    }

    /// <summary>An int64 scalar (rank 0) constant.</summary>
    public string Int64Scalar(long value)
    {
        string key = $"scalar {value}";
        if (_constants.TryGetValue(key, out var existing)) return existing;
        string name = Fresh("const_i64_scalar");
        var proto = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
        proto.RawData = ByteString.CopyFrom(BitConverter.GetBytes(value));
        Graph.Initializer.Add(proto);
        _constants[key] = name;
        return name;
    }

    /// <summary>A float32 scalar constant (shared between uses of the same value).</summary>
    public string FloatScalar(string hint, float value)
    {
        string key = $"float {BitConverter.SingleToInt32Bits(value)}";
        if (_constants.TryGetValue(key, out var existing)) return existing;
        return _constants[key] = FloatInitializer(hint, [value], []);
    }

    /// <summary>Shape(value), computed once per value.</summary>
    public string ShapeOf(string value)
    {
        if (!_shapes.TryGetValue(value, out var shape)) _shapes[value] = shape = Node("Shape", [value], $"{value}_shape");
        return shape;
    }

    /// <summary>Dimensions [start, end) of value's shape as a 1-D int64 tensor.</summary>
    public string Dims(string value, int start, int end)
    {
        if (!_shapeSlices.TryGetValue((value, start, end), out var dims))
            _shapeSlices[(value, start, end)] = dims =
                Node("Slice", [ShapeOf(value), Int64s(start), Int64s(end), Int64s(0)], $"{value}_dims{start}_{end}");
        return dims;
    }

    public static AttributeProto Attr(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Attr(string name, float value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    public static AttributeProto Attr(string name, string value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(value) };

    public static AttributeProto Attr(string name, params long[] values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.AddRange(values);
        return attribute;
    }
}
