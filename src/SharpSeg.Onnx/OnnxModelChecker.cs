using Google.Protobuf;
using SharpSeg.Onnx.Proto;

namespace SharpSeg.Onnx;

/// <summary>
/// Structural validation of an ONNX model, the checks of <c>onnx.checker.check_model</c> that need no operator schemas:
/// IR version and default-domain opset set; graph named; every node input a graph input, an initializer or an earlier
/// node's output (topological order); every value defined once; graph inputs and outputs with declared tensor types and
/// shapes; graph outputs produced; initializers with a type and as many values as their dims say; attributes typed.
/// </summary>
public static class OnnxModelChecker
{
    /// <summary>The problems found in a serialized ONNX model; empty when it passes.</summary>
    /// <exception cref="InvalidProtocolBufferException">The bytes are not a ModelProto.</exception>
    public static IReadOnlyList<string> Check(byte[] model) => Check(ModelProto.Parser.ParseFrom(model));

    internal static IReadOnlyList<string> Check(ModelProto model)
    {
        var problems = new List<string>();
        if (model.IrVersion < 3) problems.Add($"ir_version {model.IrVersion} is unset or too old");
        var defaultOpset = model.OpsetImport.Where(o => o.Domain == "").ToList();
        if (defaultOpset.Count != 1 || defaultOpset[0].Version < 1) problems.Add("the default-domain opset is not imported exactly once");
        var graph = model.Graph;
        if (graph is null)
        {
            problems.Add("the model has no graph");
            return problems;
        }
        if (string.IsNullOrEmpty(graph.Name)) problems.Add("the graph has no name");

        var defined = new HashSet<string>();
        void Define(string name, string what)
        {
            if (string.IsNullOrEmpty(name)) problems.Add($"{what} has an empty name");
            else if (!defined.Add(name)) problems.Add($"{what} '{name}' redefines a value");
        }

        foreach (var input in graph.Input)
        {
            Define(input.Name, "graph input");
            CheckTensorType(input, "graph input", problems);
        }
        foreach (var initializer in graph.Initializer)
        {
            Define(initializer.Name, "initializer");
            CheckInitializer(initializer, problems);
        }

        var nodeNames = new HashSet<string>();
        for (int i = 0; i < graph.Node.Count; i++)
        {
            var node = graph.Node[i];
            string where = $"node #{i} {node.OpType} '{node.Name}'";
            if (string.IsNullOrEmpty(node.OpType)) problems.Add($"node #{i} has no op_type");
            if (!string.IsNullOrEmpty(node.Name) && !nodeNames.Add(node.Name)) problems.Add($"{where}: node name used twice");
            foreach (var input in node.Input)
                if (input.Length > 0 && !defined.Contains(input))
                    problems.Add($"{where}: input '{input}' is not a graph input, an initializer or an earlier node's output");
            foreach (var output in node.Output) Define(output, $"{where} output");
            foreach (var attribute in node.Attribute)
                if (string.IsNullOrEmpty(attribute.Name) || attribute.Type == AttributeProto.Types.AttributeType.Undefined)
                    problems.Add($"{where}: attribute '{attribute.Name}' has no name or type");
        }

        var outputNames = new HashSet<string>();
        foreach (var output in graph.Output)
        {
            if (!defined.Contains(output.Name)) problems.Add($"graph output '{output.Name}' is produced by no node");
            if (!outputNames.Add(output.Name)) problems.Add($"graph output '{output.Name}' is listed twice");
            CheckTensorType(output, "graph output", problems);
        }
        if (graph.Output.Count == 0) problems.Add("the graph has no output");
        return problems;
    }

    private static void CheckTensorType(ValueInfoProto value, string what, List<string> problems)
    {
        var tensor = value.Type?.TensorType;
        if (tensor is null || tensor.ElemType == (int)TensorProto.Types.DataType.Undefined)
            problems.Add($"{what} '{value.Name}' has no tensor element type");
        else if (tensor.Shape is null)
            problems.Add($"{what} '{value.Name}' has no shape");
        else
            foreach (var dim in tensor.Shape.Dim)
                if (dim.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.None || dim is { ValueCase: TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue, DimValue: < 0 })
                    problems.Add($"{what} '{value.Name}' has an unset or negative dimension");
    }

    private static void CheckInitializer(TensorProto tensor, List<string> problems)
    {
        long count = 1;
        foreach (long d in tensor.Dims)
        {
            if (d < 0) problems.Add($"initializer '{tensor.Name}' has a negative dimension {d}");
            count *= Math.Max(d, 0);
        }
        int elementSize = (TensorProto.Types.DataType)tensor.DataType switch
        {
            TensorProto.Types.DataType.Float or TensorProto.Types.DataType.Int32 => 4,
            TensorProto.Types.DataType.Int64 or TensorProto.Types.DataType.Double => 8,
            TensorProto.Types.DataType.Bool or TensorProto.Types.DataType.Uint8 or TensorProto.Types.DataType.Int8 => 1,
            _ => 0,
        };
        if (elementSize == 0)
        {
            problems.Add($"initializer '{tensor.Name}' has data type {tensor.DataType}, which SharpSeg does not write");
            return;
        }
        long stored = tensor.RawData.Length > 0
            ? tensor.RawData.Length / elementSize
            : tensor.FloatData.Count + tensor.Int32Data.Count + tensor.Int64Data.Count + tensor.DoubleData.Count;
        if (tensor.RawData.Length % elementSize != 0 || stored != count)
            problems.Add($"initializer '{tensor.Name}' holds {stored} values but its dims [{string.Join(", ", tensor.Dims)}] need {count}");
    }
}
