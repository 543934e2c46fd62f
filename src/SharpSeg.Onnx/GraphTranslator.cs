using SharpSeg.Models;
using SharpSeg.Onnx.Proto;
using SharpSeg.Tracing;
using static SharpSeg.Onnx.GraphWriter;

namespace SharpSeg.Onnx;

/// <summary>
/// Turns two traces of one model (<see cref="Trace"/>) into an ONNX graph. The first trace gives the graph; the second,
/// run at another batch and input size, tells which sizes are constants and which follow the input.
/// </summary>
internal sealed class GraphTranslator
{
    private const string InputName = "image";
    private static readonly TensorProto.Types.DataType FloatType = TensorProto.Types.DataType.Float;

    private readonly SegmentationModel _model;
    private readonly OnnxExportOptions _options;
    private readonly Trace _a, _b;
    private readonly int _divisor;
    private readonly ModelProto _proto;
    private readonly GraphWriter _writer;
    private readonly Dictionary<Tensor, string> _names = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<Tensor, string> _parameterKeys = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<Tensor, int> _uses = new(ReferenceEqualityComparer.Instance);

    /// <summary>Tensors produced so far in trace order with their twins in the second trace (the input first).</summary>
    private readonly List<(Tensor A, Tensor B)> _produced = [];

    /// <summary>Conv2d op index → the BatchNorm op index folded into it.</summary>
    private readonly Dictionary<int, int> _folds = [];

    private int _op;

    public GraphTranslator(SegmentationModel model, OnnxExportOptions options, Trace a, Trace b, int divisor)
    {
        (_model, _options, _a, _b, _divisor) = (model, options, a, b, divisor);
        _proto = new ModelProto
        {
            IrVersion = IrVersionFor(options.Opset),
            ProducerName = "SharpSeg",
            ProducerVersion = typeof(GraphTranslator).Assembly.GetName().Version?.ToString() ?? "",
            DocString = options.ModelName,
            Graph = new GraphProto { Name = options.ModelName },
        };
        _proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = options.Opset });
        foreach (var (key, value) in options.Metadata)
            _proto.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        _writer = new GraphWriter(_proto.Graph);
        foreach (var (key, tensor) in model.NamedParameters().Concat(model.NamedBuffers()))
            _parameterKeys.TryAdd(tensor, key);
    }

    /// <summary>The IR version that goes with an opset (onnx.helper's VERSION_TABLE).</summary>
    private static long IrVersionFor(int opset) => opset switch { <= 14 => 7, <= 18 => 8, <= 20 => 9, _ => 10 };

    private int Opset => _options.Opset;

    public ModelProto Translate()
    {
        CheckSameStructure();
        CountUses();
        FindFolds();

        string image = DeclareInput();
        string padded = PadToDivisor(image);
        _names[_a.Input] = padded;
        _produced.Add((_a.Input, _b.Input));

        for (_op = 0; _op < _a.Ops.Count; _op++)
        {
            var op = _a.Ops[_op];
            // A BatchNorm folded into its conv already has its value.
            if (!_names.ContainsKey(op.Output)) _names[op.Output] = Emit(op, _b.Ops[_op]);
            _produced.Add((op.Output, _b.Ops[_op].Output));
        }

        string logits = Name(_a.Output, -1, _b.Output);
        string cropped = CropTo(logits, image);
        DeclareOutputs(Head(cropped));
        return _proto;
    }

    private void CheckSameStructure()
    {
        if (_a.Ops.Count != _b.Ops.Count)
            throw new OnnxExportException($"ONNX export: {Model} runs {_a.Ops.Count} ops at input {_a.Input.Shape} but {_b.Ops.Count} at "
                + $"{_b.Input.Shape}; a model whose graph changes with the input size cannot be exported with dynamic sizes (fix the size).");
        for (int i = 0; i < _a.Ops.Count; i++)
            if (_a.Ops[i].Op != _b.Ops[i].Op || _a.Ops[i].Inputs.Count != _b.Ops[i].Inputs.Count)
                throw new OnnxExportException($"ONNX export: {Model}'s op #{i} is {_a.Ops[i].Op} at input {_a.Input.Shape} but "
                    + $"{_b.Ops[i].Op} at {_b.Input.Shape}; its graph changes with the input size, so it cannot be exported with dynamic sizes.");
    }

    private string Model => _model.GetType().Name;

    private void CountUses()
    {
        foreach (var op in _a.Ops)
            foreach (var input in op.Inputs)
                if (input is not null) _uses[input] = _uses.GetValueOrDefault(input) + 1;
        _uses[_a.Output] = _uses.GetValueOrDefault(_a.Output) + 1;
    }

    /// <summary>A BatchNorm folds into the Conv2d that feeds it when that conv's output goes nowhere else.</summary>
    private void FindFolds()
    {
        var producer = new Dictionary<Tensor, int>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < _a.Ops.Count; i++)
        {
            var op = _a.Ops[i];
            producer.TryAdd(op.Output, i);
            if (op.Op != "BatchNorm" || op.Inputs[0] is not { } x || !producer.TryGetValue(x, out int conv)) continue;
            var convOp = _a.Ops[conv];
            bool constantWeights = convOp.Inputs.Skip(1).All(t => t is null || _parameterKeys.ContainsKey(t))
                && op.Inputs.Skip(1).All(t => t is null || _parameterKeys.ContainsKey(t));
            if (convOp.Op == "Conv2d" && _uses.GetValueOrDefault(x) == 1 && constantWeights && !(bool)op.Attributes["training"]!)
                _folds[conv] = i;
        }
    }

    private string DeclareInput()
    {
        int channels = _model.Options.InChannels;
        var fixedSize = _options.FixedSize;
        _writer.Fresh(InputName);
        _proto.Graph.Input.Add(ValueInfo(InputName, FloatType, Dim("batch"), Dim(channels),
            fixedSize is { } f ? Dim(f.Height) : Dim("height"), fixedSize is { } g ? Dim(g.Width) : Dim("width")));
        return InputName;
    }

    /// <summary>Zero padding at the bottom and right up to a multiple of the size divisor, as <see cref="SegmentationModel.Forward"/> pads.</summary>
    private string PadToDivisor(string image)
    {
        if (_divisor == 1) return image;
        string pads;
        if (_options.FixedSize is { } f)
        {
            long padH = (_divisor - f.Height % _divisor) % _divisor, padW = (_divisor - f.Width % _divisor) % _divisor;
            if (padH == 0 && padW == 0) return image;
            pads = _writer.Int64s(0, 0, 0, 0, 0, 0, padH, padW);
        }
        else
        {
            // (d − size mod d) mod d per spatial axis, from the input's runtime shape.
            string d = _writer.Int64s(_divisor, _divisor);
            string size = _writer.Dims(image, 2, 4);
            string remainder = _writer.Node("Mod", [size, d], "size_mod_divisor");
            string missing = _writer.Node("Sub", [d, remainder], "divisor_minus_mod");
            string padHw = _writer.Node("Mod", [missing, d], "pad_hw");
            pads = _writer.Node("Concat", [_writer.Int64s(0, 0, 0, 0, 0, 0), padHw], "pads", Attr("axis", 0L));
        }
        return _writer.Node("Pad", [image, pads, _writer.FloatScalar("pad_value", 0f)], "padded", Attr("mode", "constant"));
    }

    /// <summary>Crops the logits back to the input's height and width (the model's crop after its pad).</summary>
    private string CropTo(string logits, string image)
    {
        if (_divisor == 1) return logits;
        string ends = _options.FixedSize is { } f ? _writer.Int64s(f.Height, f.Width) : _writer.Dims(image, 2, 4);
        return _writer.Node("Slice", [logits, _writer.Int64s(0, 0), ends, _writer.Int64s(2, 3)], "logits_cropped");
    }

    private (string Name, TensorProto.Types.DataType Type, bool HasClasses, int Classes) Head(string logits)
    {
        int classes = _model.NumClasses;
        bool binary = classes == 1;
        switch (_options.Output)
        {
            case OnnxOutput.Probabilities:
                if (binary)
                {
                    string p = _writer.Node("Sigmoid", [logits], "foreground");
                    string q = _writer.Node("Sub", [_writer.FloatScalar("one", 1f), p], "background");
                    return (_writer.Node("Concat", [q, p], "probabilities", Attr("axis", 1L)), FloatType, true, 2);
                }
                return (_writer.Node("Softmax", [logits], "probabilities", Attr("axis", 1L)), FloatType, true, classes);
            case OnnxOutput.LabelMap:
                if (binary)
                {
                    // σ(l) > 0.5 exactly where l > 0.
                    string positive = _writer.Node("Greater", [logits, _writer.FloatScalar("zero", 0f)], "positive");
                    string labels = _writer.Node("Cast", [positive], "labels", Attr("to", (long)TensorProto.Types.DataType.Int64));
                    return (_writer.Node("Squeeze", [labels, _writer.Int64s(1)], "label_map"), TensorProto.Types.DataType.Int64, false, 0);
                }
                return (_writer.Node("ArgMax", [logits], "label_map", Attr("axis", 1L), Attr("keepdims", 0L)), TensorProto.Types.DataType.Int64,
                    false, 0);
            default:
                return (_writer.Node("Identity", [logits], "logits"), FloatType, true, classes);
        }
    }

    private void DeclareOutputs((string Name, TensorProto.Types.DataType Type, bool HasClasses, int Classes) output)
    {
        var height = _options.FixedSize is { } f ? Dim(f.Height) : Dim("height");
        var width = _options.FixedSize is { } g ? Dim(g.Width) : Dim("width");
        var dims = output.HasClasses ? new[] { Dim("batch"), Dim(output.Classes), height, width } : [Dim("batch"), height, width];
        _proto.Graph.Output.Add(ValueInfo(output.Name, output.Type, dims));
    }

    private static TensorShapeProto.Types.Dimension Dim(string symbol) => new() { DimParam = symbol };

    private static TensorShapeProto.Types.Dimension Dim(long value) => new() { DimValue = value };

    private static ValueInfoProto ValueInfo(string name, TensorProto.Types.DataType type, params TensorShapeProto.Types.Dimension[] dims)
    {
        var shape = new TensorShapeProto();
        shape.Dim.AddRange(dims);
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } },
        };
    }

    /// <summary>
    /// The graph value of a traced tensor: produced earlier, a parameter (initializer named by its state-dict key), or a
    /// constant the model made (a scalar such as the 3 of hardswish) which must be identical in the second trace.
    /// </summary>
    private string Name(Tensor tensor, int inputIndex, Tensor? twin)
    {
        if (_names.TryGetValue(tensor, out var name)) return name;
        if (_parameterKeys.TryGetValue(tensor, out var key))
            return _names[tensor] = _writer.TensorInitializer(key, tensor);
        if (twin is null || !SameValues(tensor, twin))
            throw new OnnxExportException($"ONNX export: {Model}'s {Where()} reads input {inputIndex} of shape "
                + $"{tensor.Shape} that was computed outside the recorded ops and changes with the input size or batch; it cannot be written "
                + "into the graph.");
        return _names[tensor] = tensor is { Rank: 0, DType: DType.Float32 }
            ? _writer.FloatScalar("scalar", tensor.ToArray<float>()[0])
            : _writer.TensorInitializer("const", tensor);
    }

    private string Where() => _op < _a.Ops.Count ? $"op #{_op} ({_a.Ops[_op].Op})" : "output";

    private static bool SameValues(Tensor a, Tensor b)
    {
        if (a.Shape != b.Shape || a.DType != b.DType) return false;
        return a.DType switch
        {
            DType.Float32 => a.ToArray<float>().AsSpan().SequenceEqual(b.ToArray<float>()),
            DType.Int32 => a.ToArray<int>().AsSpan().SequenceEqual(b.ToArray<int>()),
            _ => a.ToArray<long>().AsSpan().SequenceEqual(b.ToArray<long>()),
        };
    }

    private string In(RecordedOp a, RecordedOp b, int index) => Name(a.Inputs[index]!, index, b.Inputs[index]);

    private string OptionalIn(RecordedOp a, RecordedOp b, int index) => a.Inputs[index] is null ? "" : In(a, b, index);

    private string Hint(RecordedOp op) => op.Op.ToLowerInvariant();

    private OnnxExportException Refuse(RecordedOp op, string why) =>
        new($"ONNX export: {Model}'s op #{_op} {op.Op} (input {op.Inputs.FirstOrDefault()?.Shape}) cannot be exported: {why}.");

    private T Same<T>(RecordedOp a, RecordedOp b, string attribute)
    {
        var value = (T)a.Attributes[attribute]!;
        var twin = (T)b.Attributes[attribute]!;
        bool equal = value is Array left && twin is Array right
            ? left.Cast<object>().SequenceEqual(right.Cast<object>())
            : Equals(value, twin);
        if (!equal)
            throw Refuse(a, $"its {attribute} changes with the input size ({Describe(value)} at input {_a.Input.Shape}, {Describe(twin)} at "
                + $"{_b.Input.Shape}), which has no fixed ONNX form; export with a fixed size");
        return value;
    }

    private static string Describe(object? value) => value is Array array ? $"[{string.Join(", ", array.Cast<object>())}]" : $"{value}";

    private string Emit(RecordedOp a, RecordedOp b)
    {
        string h = Hint(a);
        switch (a.Op)
        {
            case "Conv2d": return Conv(a, b);
            case "ConvTranspose2d": return ConvTranspose(a, b);
            case "Linear": return Linear(a, b);
            case "MaxPool2d":
            case "AvgPool2d": return Pool(a, b);
            case "AdaptiveAvgPool2d": return AdaptiveAvgPool(a, b);
            case "Interpolate": return Resize(a, b);
            case "BatchNorm": return BatchNorm(a, b);
            case "Softmax":
            case "LogSoftmax": return _writer.Node(a.Op, [In(a, b, 0)], h, Attr("axis", (long)(int)a.Attributes["axis"]!));
            case "Pad": return Pad(a, b);
            case "Matmul": return _writer.Node("MatMul", [In(a, b, 0), In(a, b, 1)], h);
            case "Contiguous": return _writer.Node("Identity", [In(a, b, 0)], h);

            case "Relu": case "Sigmoid": case "Tanh": case "Neg": case "Abs": case "Exp": case "Log": case "Sqrt": case "Reciprocal":
                return _writer.Node(a.Op, [In(a, b, 0)], h);
            case "Relu6":
                return _writer.Node("Clip", [In(a, b, 0), _writer.FloatScalar("zero", 0f), _writer.FloatScalar("six", 6f)], h);
            case "Hardsigmoid":
                // torch: relu6(x + 3) / 6 = clip(x/6 + 1/2, 0, 1).
                return _writer.Node("HardSigmoid", [In(a, b, 0)], h, Attr("alpha", 1f / 6f), Attr("beta", 0.5f));
            case "Hardswish":
                if (Opset >= 14) return _writer.Node("HardSwish", [In(a, b, 0)], h);
                return _writer.Node("Mul", [In(a, b, 0), _writer.Node("HardSigmoid", [In(a, b, 0)], "hardsigmoid", Attr("alpha", 1f / 6f),
                    Attr("beta", 0.5f))], h);
            case "Silu":
                return _writer.Node("Mul", [In(a, b, 0), _writer.Node("Sigmoid", [In(a, b, 0)], "sigmoid")], h);
            case "Gelu":
            {
                // The exact (erf) GELU SharpSeg computes; ONNX has Gelu only from opset 20.
                string x = In(a, b, 0);
                string scaled = _writer.Node("Div", [x, _writer.FloatScalar("sqrt2", MathF.Sqrt(2f))], "gelu_scaled");
                string erf = _writer.Node("Erf", [scaled], "gelu_erf");
                string onePlus = _writer.Node("Add", [erf, _writer.FloatScalar("one", 1f)], "gelu_one_plus");
                string half = _writer.Node("Mul", [x, _writer.FloatScalar("half", 0.5f)], "gelu_half");
                return _writer.Node("Mul", [half, onePlus], h);
            }
            case "Rsqrt": return _writer.Node("Reciprocal", [_writer.Node("Sqrt", [In(a, b, 0)], "sqrt")], h);
            case "Square": return _writer.Node("Mul", [In(a, b, 0), In(a, b, 0)], h);

            case "Add": case "Sub": case "Mul": case "Div": case "Pow":
                return _writer.Node(a.Op, [In(a, b, 0), In(a, b, 1)], h);
            case "Max": case "Min":
                if (a.Inputs.Count == 2 && a.Attributes.Count == 0) return _writer.Node(a.Op, [In(a, b, 0), In(a, b, 1)], h);
                return Reduce(a, b, a.Op == "Max" ? "ReduceMax" : "ReduceMin");
            case "Greater": case "Less": case "Equal": case "GreaterEqual": case "LessEqual": case "NotEqual":
                return Compare(a, b);
            case "Clamp":
                return _writer.Node("Clip", [In(a, b, 0), a.Attributes["min"] is float min ? _writer.FloatScalar("min", min) : "",
                    a.Attributes["max"] is float max ? _writer.FloatScalar("max", max) : ""], h);
            case "Where":
                return _writer.Node("Where", [_writer.Node("Cast", [In(a, b, 0)], "condition", Attr("to", (long)TensorProto.Types.DataType.Bool)),
                    In(a, b, 1), In(a, b, 2)], h);

            case "Reshape": return Reshape(a, b);
            case "Permute": return _writer.Node("Transpose", [In(a, b, 0)], h, Attr("perm", ((int[])a.Attributes["order"]!).Select(i => (long)i).ToArray()));
            case "Slice": return Slice(a, b);
            case "Expand": return Expand(a, b);
            case "Flip":
            {
                // A reversed slice per axis: from the last element (−1) past the first (int64 min), step −1.
                var axes = ((int[])a.Attributes["axes"]!).Select(i => (long)i).ToArray();
                long[] Repeat(long value) => Enumerable.Repeat(value, axes.Length).ToArray();
                return _writer.Node("Slice", [In(a, b, 0), _writer.Int64s(Repeat(-1)), _writer.Int64s(Repeat(long.MinValue)), _writer.Int64s(axes),
                    _writer.Int64s(Repeat(-1))], h);
            }
            case "Cat":
                return _writer.Node("Concat", a.Inputs.Select((_, i) => In(a, b, i)), h, Attr("axis", (long)(int)a.Attributes["axis"]!));

            case "Sum": return Reduce(a, b, "ReduceSum");
            case "Mean": return Reduce(a, b, "ReduceMean");
            case "Argmax":
            case "Argmin":
                return _writer.Node(a.Op == "Argmax" ? "ArgMax" : "ArgMin", [In(a, b, 0)], h, Attr("axis", (long)(int)a.Attributes["axis"]!),
                    Attr("keepdims", (bool)a.Attributes["keepDim"]! ? 1L : 0L));
            default:
                throw Refuse(a, "SharpSeg has no ONNX form for this op");
        }
    }

    private AttributeProto[] ConvAttributes(RecordedOp a, Tensor weight, bool transposed)
    {
        var stride = (Size2)a.Attributes["stride"]!;
        var padding = (Size2)a.Attributes["padding"]!;
        var dilation = (Size2)a.Attributes["dilation"]!;
        var attributes = new List<AttributeProto>
        {
            Attr("kernel_shape", weight.Shape[2], weight.Shape[3]),
            Attr("strides", stride.H, stride.W),
            Attr("pads", padding.H, padding.W, padding.H, padding.W),
            Attr("dilations", dilation.H, dilation.W),
            Attr("group", (long)(int)a.Attributes["groups"]!),
        };
        if (transposed)
        {
            var outputPadding = (Size2)a.Attributes["outputPadding"]!;
            attributes.Add(Attr("output_padding", outputPadding.H, outputPadding.W));
        }
        return [.. attributes];
    }

    private string Conv(RecordedOp a, RecordedOp b)
    {
        var weight = a.Inputs[1]!;
        var attributes = ConvAttributes(a, weight, transposed: false);
        if (!_folds.TryGetValue(_op, out int bnIndex))
            return _writer.Node("Conv", new[] { In(a, b, 0), In(a, b, 1), OptionalIn(a, b, 2) }.Where(n => n != ""), "conv", attributes);

        var bn = _a.Ops[bnIndex];
        double eps = (double)bn.Attributes["eps"]!;
        int outChannels = weight.Shape[0];
        var w = weight.ToArray<float>();
        var foldedWeight = new float[w.Length];
        var foldedBias = new float[outChannels];
        BatchNormFolding.Fold(w, a.Inputs[2]?.ToArray<float>(), bn.Inputs[1]!.ToArray<float>(), bn.Inputs[2]!.ToArray<float>(),
            bn.Inputs[3]?.ToArray<float>(), bn.Inputs[4]?.ToArray<float>(), eps, foldedWeight, foldedBias);
        string prefix = _parameterKeys.GetValueOrDefault(weight, "conv.weight");
        if (prefix.EndsWith(".weight", StringComparison.Ordinal)) prefix = prefix[..^".weight".Length];
        string foldedW = _writer.FloatInitializer($"{prefix}.folded_weight", foldedWeight, weight.Shape.ToArray());
        string foldedB = _writer.FloatInitializer($"{prefix}.folded_bias", foldedBias, [outChannels]);
        string output = _writer.Node("Conv", [In(a, b, 0), foldedW, foldedB], "conv_bn", attributes);
        _names[bn.Output] = output;
        return output;
    }

    private string ConvTranspose(RecordedOp a, RecordedOp b)
    {
        var attributes = ConvAttributes(a, a.Inputs[1]!, transposed: true);
        return _writer.Node("ConvTranspose", new[] { In(a, b, 0), In(a, b, 1), OptionalIn(a, b, 2) }.Where(n => n != ""), "conv_transpose",
            attributes);
    }

    private string Linear(RecordedOp a, RecordedOp b)
    {
        if (a.Inputs[0]!.Rank == 2)
            return _writer.Node("Gemm", new[] { In(a, b, 0), In(a, b, 1), OptionalIn(a, b, 2) }.Where(n => n != ""), "linear",
                Attr("transB", 1L));
        string product = _writer.Node("MatMul", [In(a, b, 0), _writer.Node("Transpose", [In(a, b, 1)], "weight_t", Attr("perm", 1L, 0L))],
            "linear_matmul");
        return a.Inputs[2] is null ? product : _writer.Node("Add", [product, In(a, b, 2)], "linear");
    }

    private string Pool(RecordedOp a, RecordedOp b)
    {
        var kernel = (Size2)a.Attributes["kernelSize"]!;
        var stride = (Size2)a.Attributes["stride"]!;
        var padding = (Size2)a.Attributes["padding"]!;
        var attributes = new List<AttributeProto>
        {
            Attr("kernel_shape", kernel.H, kernel.W),
            Attr("strides", stride.H, stride.W),
            Attr("pads", padding.H, padding.W, padding.H, padding.W),
            Attr("ceil_mode", (bool)a.Attributes["ceilMode"]! ? 1L : 0L),
        };
        if (a.Op == "MaxPool2d")
        {
            var dilation = (Size2)a.Attributes["dilation"]!;
            attributes.Add(Attr("dilations", dilation.H, dilation.W));
            return _writer.Node("MaxPool", [In(a, b, 0)], "max_pool", [.. attributes]);
        }
        attributes.Add(Attr("count_include_pad", (bool)a.Attributes["countIncludePad"]! ? 1L : 0L));
        return _writer.Node("AveragePool", [In(a, b, 0)], "avg_pool", [.. attributes]);
    }

    /// <summary>
    /// Adaptive average pooling: to 1×1 as GlobalAveragePool; to k bins as two matrix products with averaging matrices
    /// built from the runtime size L (bin i spans [⌊iL/k⌋, ⌈(i+1)L/k⌉), torch's rule), so it works for any input size.
    /// </summary>
    private string AdaptiveAvgPool(RecordedOp a, RecordedOp b)
    {
        var size = (Size2)a.Attributes["outputSize"]!;
        string x = In(a, b, 0);
        if (size.H == 1 && size.W == 1) return _writer.Node("GlobalAveragePool", [x], "global_avg_pool");
        string rows = AveragingMatrix(x, 2, size.H);
        string columns = _writer.Node("Transpose", [AveragingMatrix(x, 3, size.W)], "pool_cols_t", Attr("perm", 1L, 0L));
        string pooledRows = _writer.Node("MatMul", [rows, x], "adaptive_pool_rows");
        return _writer.Node("MatMul", [pooledRows, columns], "adaptive_avg_pool");
    }

    /// <summary>[bins, L] float matrix whose row i averages the elements of bin i along <paramref name="axis"/> of x.</summary>
    private string AveragingMatrix(string x, int axis, int bins)
    {
        string length = _writer.Dims(x, axis, axis + 1);
        string binIndex = _writer.Int64s(Enumerable.Range(0, bins).Select(i => (long)i).ToArray());
        string binCount = _writer.Int64s(bins);
        string startTimes = _writer.Node("Mul", [binIndex, length], "bin_start_num");
        string start = _writer.Node("Div", [startTimes, binCount], "bin_start");
        string nextTimes = _writer.Node("Mul", [_writer.Node("Add", [binIndex, _writer.Int64s(1)], "bin_next"), length], "bin_end_num");
        string end = _writer.Node("Div", [_writer.Node("Add", [nextTimes, _writer.Int64s(bins - 1)], "bin_end_ceil"), binCount], "bin_end");
        string scalarLength = _writer.Node("Squeeze", [length, _writer.Int64s(0)], "length_scalar");
        string positions = _writer.Node("Range", [_writer.Int64Scalar(0), scalarLength, _writer.Int64Scalar(1)], "positions");
        string startColumn = _writer.Node("Unsqueeze", [start, _writer.Int64s(1)], "bin_start_col");
        string endColumn = _writer.Node("Unsqueeze", [end, _writer.Int64s(1)], "bin_end_col");
        string inside = _writer.Node("And", [_writer.Node("GreaterOrEqual", [positions, startColumn], "after_start"),
            _writer.Node("Less", [positions, endColumn], "before_end")], "in_bin");
        string mask = _writer.Node("Cast", [inside], "bin_mask", Attr("to", (long)FloatType));
        string count = _writer.Node("Cast", [_writer.Node("Sub", [endColumn, startColumn], "bin_len")], "bin_count", Attr("to", (long)FloatType));
        return _writer.Node("Div", [mask, count], "averaging_matrix");
    }

    /// <summary>
    /// Resize. With a scale factor the scales go in (torch maps coordinates with the factor itself); with a size, the
    /// size is found as the height and width of a tensor seen earlier in both traces (a skip connection, the input) and
    /// read from its runtime shape. Coordinate modes as torch.onnx writes them: bilinear align_corners → "align_corners",
    /// bilinear otherwise → "half_pixel", nearest → "asymmetric" with floor.
    /// </summary>
    private string Resize(RecordedOp a, RecordedOp b)
    {
        string x = In(a, b, 0);
        var mode = (InterpolationMode)a.Attributes["mode"]!;
        bool alignCorners = (bool)a.Attributes["alignCorners"]!;
        var attributes = mode == InterpolationMode.Bilinear
            ? new[] { Attr("mode", "linear"), Attr("coordinate_transformation_mode", alignCorners ? "align_corners" : "half_pixel") }
            : [Attr("mode", "nearest"), Attr("coordinate_transformation_mode", "asymmetric"), Attr("nearest_mode", "floor")];

        if (a.Attributes["scaleFactor"] is (double scaleH, double scaleW))
        {
            string scales = _writer.FloatInitializer("resize_scales", [1f, 1f, (float)scaleH, (float)scaleW], [4]);
            return _writer.Node("Resize", [x, "", scales], "resize", attributes);
        }

        int hA = a.Output.Shape[2], wA = a.Output.Shape[3], hB = b.Output.Shape[2], wB = b.Output.Shape[3];
        string spatial;
        var reference = _produced.LastOrDefault(p => p.A.Rank == 4 && p.B.Rank == 4 && p.A.Shape[2] == hA && p.A.Shape[3] == wA
            && p.B.Shape[2] == hB && p.B.Shape[3] == wB).A;
        if (reference is not null) spatial = _writer.Dims(_names[reference], 2, 4);
        else if (hA == hB && wA == wB) spatial = _writer.Int64s(hA, wA);
        else throw Refuse(a, $"its output size ({hA}, {wA}) follows the input size but matches no tensor's size");
        string sizes = _writer.Node("Concat", [_writer.Dims(x, 0, 2), spatial], "resize_sizes", Attr("axis", 0L));
        return _writer.Node("Resize", [x, "", "", sizes], "resize", attributes);
    }

    private string BatchNorm(RecordedOp a, RecordedOp b)
    {
        if ((bool)a.Attributes["training"]!) throw Refuse(a, "batch statistics are used (training mode)");
        var mean = a.Inputs[1] ?? throw Refuse(a, "it has no running mean");
        int channels = mean.Shape[0];
        string scale = a.Inputs[3] is null ? _writer.FloatInitializer("bn_scale", Enumerable.Repeat(1f, channels).ToArray(), [channels]) : In(a, b, 3);
        string bias = a.Inputs[4] is null ? _writer.FloatInitializer("bn_bias", new float[channels], [channels]) : In(a, b, 4);
        return _writer.Node("BatchNormalization", [In(a, b, 0), scale, bias, In(a, b, 1), In(a, b, 2)], "batch_norm",
            Attr("epsilon", (float)(double)a.Attributes["eps"]!));
    }

    private string Pad(RecordedOp a, RecordedOp b)
    {
        var pads = Same<int[]>(a, b, "pads");
        int rank = a.Inputs[0]!.Rank;
        var begins = new long[rank];
        var ends = new long[rank];
        // torch order: (last-axis before, after, second-to-last before, after, …).
        for (int i = 0; i < pads.Length / 2; i++)
        {
            begins[rank - 1 - i] = pads[2 * i];
            ends[rank - 1 - i] = pads[2 * i + 1];
        }
        var mode = (PadMode)a.Attributes["mode"]!;
        string onnxMode = mode switch { PadMode.Reflect => "reflect", PadMode.Replicate => "edge", _ => "constant" };
        var inputs = new List<string> { In(a, b, 0), _writer.Int64s([.. begins, .. ends]) };
        if (mode == PadMode.Constant) inputs.Add(_writer.FloatScalar("pad_value", (float)a.Attributes["value"]!));
        return _writer.Node("Pad", inputs, "pad", Attr("mode", onnxMode));
    }

    private string Compare(RecordedOp a, RecordedOp b)
    {
        string x = In(a, b, 0), y = In(a, b, 1);
        string boolean = a.Op switch
        {
            "GreaterEqual" => _writer.Node("GreaterOrEqual", [x, y], "ge"),
            "LessEqual" => _writer.Node("LessOrEqual", [x, y], "le"),
            "NotEqual" => _writer.Node("Not", [_writer.Node("Equal", [x, y], "eq")], "ne"),
            _ => _writer.Node(a.Op, [x, y], a.Op.ToLowerInvariant()),
        };
        // SharpSeg's comparisons yield float 1/0.
        return _writer.Node("Cast", [boolean], "compare", Attr("to", (long)FloatType));
    }

    private string Reduce(RecordedOp a, RecordedOp b, string onnxOp)
    {
        var axes = ((int[])a.Attributes["axes"]!).Select(i => (long)i).Order().ToArray();
        long keep = (bool)a.Attributes["keepDim"]! ? 1 : 0;
        bool axesAsInput = onnxOp == "ReduceSum" || Opset >= 18;
        return axesAsInput
            ? _writer.Node(onnxOp, [In(a, b, 0), _writer.Int64s(axes)], Hint(a), Attr("keepdims", keep))
            : _writer.Node(onnxOp, [In(a, b, 0)], Hint(a), Attr("axes", axes), Attr("keepdims", keep));
    }

    /// <summary>Reshape: a dimension equal to the batch in both traces becomes 0 (copy the input's); any other must not change.</summary>
    private string Reshape(RecordedOp a, RecordedOp b)
    {
        var shapeA = (int[])a.Attributes["shape"]!;
        var shapeB = (int[])b.Attributes["shape"]!;
        var inA = a.Inputs[0]!.Shape;
        var inB = b.Inputs[0]!.Shape;
        var target = new long[shapeA.Length];
        for (int i = 0; i < shapeA.Length; i++)
        {
            if (shapeA[i] == shapeB[i]) target[i] = shapeA[i];
            else if (i == 0 && inA.Rank > 0 && shapeA[0] == inA[0] && shapeB[0] == inB[0]) target[i] = 0;
            else throw Refuse(a, $"target dimension {i} changes with the input ({shapeA[i]} vs {shapeB[i]})");
        }
        return _writer.Node("Reshape", [In(a, b, 0), _writer.Int64s(target)], "reshape");
    }

    /// <summary>
    /// Slice: a range that runs to the end of the axis in both traces is written open-ended; a length that follows the
    /// input (cropping back to another tensor's size) is read from the runtime shape of a tensor having that length in
    /// both traces, on the same axis where possible.
    /// </summary>
    private string Slice(RecordedOp a, RecordedOp b)
    {
        int axis = (int)a.Attributes["axis"]!;
        int start = Same<int>(a, b, "start");
        int step = Same<int>(a, b, "step");
        int endA = (int)a.Attributes["end"]!, endB = (int)b.Attributes["end"]!;
        string end;
        if (endA == a.Inputs[0]!.Shape[axis] && endB == b.Inputs[0]!.Shape[axis]) end = _writer.Int64s(long.MaxValue);
        else if (endA == endB) end = _writer.Int64s(endA);
        else
        {
            int lengthA = endA - start, lengthB = endB - start;
            var candidates = _produced.Where(p => p.A.Rank == p.B.Rank)
                .SelectMany(p => Enumerable.Range(0, p.A.Rank).Select(k => (p.A, Axis: k, Match: p.A.Shape[k] == lengthA && p.B.Shape[k] == lengthB)))
                .Where(c => c.Match).ToList();
            if (candidates.Count == 0)
                throw Refuse(a, $"its end changes with the input ({endA} vs {endB}) and no tensor has that length");
            var reference = candidates.LastOrDefault(c => c.Axis == axis) is { A: not null } sameAxis ? sameAxis : candidates[^1];
            string length = _writer.Dims(_names[reference.A], reference.Axis, reference.Axis + 1);
            end = start == 0 ? length : _writer.Node("Add", [length, _writer.Int64s(start)], "slice_end");
        }
        return _writer.Node("Slice", [In(a, b, 0), _writer.Int64s(start), end, _writer.Int64s(axis), _writer.Int64s(step)], "slice");
    }

    /// <summary>Expand: dimensions the input already has are written as 1 (ONNX broadcasting keeps them).</summary>
    private string Expand(RecordedOp a, RecordedOp b)
    {
        var shapeA = (int[])a.Attributes["shape"]!;
        var shapeB = (int[])b.Attributes["shape"]!;
        var input = a.Inputs[0]!.Shape;
        var target = new long[shapeA.Length];
        for (int i = 0; i < shapeA.Length; i++)
        {
            int j = i - (shapeA.Length - input.Rank);
            if (j >= 0 && input[j] == shapeA[i]) target[i] = 1;
            else if (shapeA[i] == shapeB[i]) target[i] = shapeA[i];
            else throw Refuse(a, $"target dimension {i} changes with the input ({shapeA[i]} vs {shapeB[i]})");
        }
        return _writer.Node("Expand", [In(a, b, 0), _writer.Int64s(target)], "expand");
    }
}
