namespace SharpSeg.Onnx;

/// <summary>What the exported graph returns.</summary>
public enum OnnxOutput
{
    /// <summary>Raw logits [N, classes, H, W] float32, named <c>logits</c>.</summary>
    Logits,

    /// <summary>Class probabilities [N, classes, H, W] float32 (softmax over classes; [1 − σ, σ] for a one-logit binary head), named <c>probabilities</c>.</summary>
    Probabilities,

    /// <summary>The label map [N, H, W] int64 (argmax over classes; σ &gt; 0.5 for a one-logit binary head), named <c>label_map</c>.</summary>
    LabelMap,
}

/// <summary>
/// How <see cref="OnnxExporter"/> writes a model. Equivalent to the arguments of <c>torch.onnx.export</c>
/// (<c>opset_version</c>, <c>dynamic_axes</c>) and to PaddleSeg's <c>export.py --input_shape --with_softmax --with_argmax</c>.
/// </summary>
public sealed record OnnxExportOptions
{
    /// <summary>The ONNX operator set the graph targets (13 to 21).</summary>
    public int Opset { get; init; } = 17;

    /// <summary>
    /// Fixed input height and width, or null for dynamic height and width (the default). The batch size always stays
    /// dynamic. Equivalent to leaving the spatial axes out of <c>torch.onnx.export</c>'s <c>dynamic_axes</c>.
    /// </summary>
    public (int Width, int Height)? FixedSize { get; init; }

    /// <summary>What the graph returns: logits (default), probabilities or the label map.</summary>
    public OnnxOutput Output { get; init; } = OnnxOutput.Logits;

    /// <summary>Entries written to the model's <c>metadata_props</c> (the prediction transforms, class names, …).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();

    /// <summary>The name written as the graph's name and the model's <c>doc_string</c>, e.g. the registry name.</summary>
    public string ModelName { get; init; } = "sharpseg";
}

/// <summary>A model that cannot be written as ONNX, with the op and the reason.</summary>
public sealed class OnnxExportException(string message) : Exception(message);
