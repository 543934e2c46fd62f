using Google.Protobuf;
using SharpSeg.Data;
using SharpSeg.Models;
using SharpSeg.Onnx.Proto;
using SharpSeg.Tracing;

namespace SharpSeg.Onnx;

/// <summary>
/// Writes a segmentation model as an ONNX graph: input <c>image</c> [N, C, H, W] float32, output logits (or
/// probabilities / the label map), in evaluation mode with each BatchNorm that directly follows a convolution folded
/// into it. Equivalent to <c>torch.onnx.export(model.eval(), x, path, input_names=["image"], dynamic_axes=…)</c> and to
/// PaddleSeg's <c>export.py</c> followed by <c>paddle2onnx</c>.
/// </summary>
/// <remarks>
/// The graph is captured by tracing (<see cref="OpRecorder"/>) two forward passes at different batch and input sizes:
/// their op sequences must agree, and any size an op takes from another tensor (interpolating to a skip connection's
/// size, pooling adaptively) is written as Shape arithmetic, so the graph accepts any batch and any height and width.
/// The model's own pad to <see cref="SegmentationModel.SizeDivisor"/> and the crop back are written around the traced
/// body with sizes computed from the input's shape.
/// </remarks>
public static class OnnxExporter
{
    /// <summary>Lowest and highest opset the exporter writes.</summary>
    public const int MinOpset = 13, MaxOpset = 21;

    /// <summary>
    /// Exports <paramref name="model"/> to <paramref name="path"/> atomically (a temporary file renamed into place).
    /// Equivalent to <c>torch.onnx.export</c>.
    /// </summary>
    /// <exception cref="OnnxExportException">The model runs an op that has no ONNX form here, or a size that cannot be expressed.</exception>
    public static void Export(SegmentationModel model, string path, OnnxExportOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var bytes = ExportToBytes(model, options);
        AtomicFile.Write(path, stream => stream.Write(bytes));
    }

    /// <summary>The ONNX model (serialized <c>ModelProto</c>) of <paramref name="model"/>, validated by <see cref="OnnxModelChecker"/>.</summary>
    /// <exception cref="OnnxExportException">The model cannot be exported (the message names the op and why).</exception>
    public static byte[] ExportToBytes(SegmentationModel model, OnnxExportOptions? options = null)
    {
        var proto = Build(model, options ?? new OnnxExportOptions());
        var problems = OnnxModelChecker.Check(proto);
        if (problems.Count > 0)
            throw new OnnxExportException($"ONNX export of {model.GetType().Name} produced an invalid graph: {string.Join("; ", problems)}");
        return proto.ToByteArray();
    }

    internal static ModelProto Build(SegmentationModel model, OnnxExportOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (options.Opset is < MinOpset or > MaxOpset)
            throw new ArgumentOutOfRangeException(nameof(options), $"ONNX export: opset {options.Opset} is outside the supported {MinOpset}..{MaxOpset}.");
        if (options.FixedSize is { } fixedSize && (fixedSize.Width < 1 || fixedSize.Height < 1))
            throw new ArgumentOutOfRangeException(nameof(options), $"ONNX export: fixed size {fixedSize.Width}x{fixedSize.Height} must be positive.");

        bool wasTraining = model.IsTraining;
        model.Eval();
        try
        {
            int divisor = Math.Max(1, model.SizeDivisor);
            var (traceA, traceB) = TraceTwice(model, divisor, options.FixedSize);
            return new GraphTranslator(model, options, traceA, traceB, divisor).Translate();
        }
        finally
        {
            model.Train(wasTraining);
        }
    }

    /// <summary>Largest size unit tried when a model refuses small inputs (64 × unit rows and columns at most).</summary>
    private const int MaxTraceUnit = 512;

    /// <summary>
    /// The two traces. With dynamic sizes the padded inputs are (2u, 3u) at batch 1 and (3u, 4u) at batch 2: height,
    /// width and area all differ between the two and height differs from width within each, so a size taken from one
    /// tensor's height is told apart from another's width, and a reshape by height × width shows as changing. The unit u
    /// starts at 32 and doubles while the model refuses the input as too small (a DeepLabV3+ pooling window taken from a
    /// large training crop). With a fixed size, that size padded to the divisor, at batch 1 and 2.
    /// </summary>
    private static (Trace A, Trace B) TraceTwice(SegmentationModel model, int divisor, (int Width, int Height)? fixedSize)
    {
        if (fixedSize is { } f)
        {
            var padded = (RoundUp(f.Height, divisor), RoundUp(f.Width, divisor));
            return (Trace(model, 1, padded, seed: 1), Trace(model, 2, padded, seed: 2));
        }
        for (int unit = RoundUp(32, divisor); ; unit = RoundUp(2 * unit, divisor))
        {
            try
            {
                return (Trace(model, 1, (2 * unit, 3 * unit), seed: 1), Trace(model, 2, (3 * unit, 4 * unit), seed: 2));
            }
            catch (ShapeMismatchException) when (unit < MaxTraceUnit)
            {
                // Too small for the model: the next unit is twice as large.
            }
        }
    }

    private static int RoundUp(int value, int divisor) => (value + divisor - 1) / divisor * divisor;

    private static Trace Trace(SegmentationModel model, int batch, (int H, int W) size, int seed)
    {
        var input = Tensor.Randn(new Shape(batch, model.Options.InChannels, size.H, size.W), new Random(seed));
        using var noGrad = GradMode.NoGrad();
        IReadOnlyList<Tensor> outputs;
        IReadOnlyList<RecordedOp> ops;
        using (var recorder = OpRecorder.Start())
        {
            outputs = model.Forward(input);
            ops = recorder.Ops;
        }
        return new Trace(input, outputs[0], ops);
    }
}

/// <summary>One traced forward pass: its input, its main output and the ops between.</summary>
internal sealed record Trace(Tensor Input, Tensor Output, IReadOnlyList<RecordedOp> Ops);
