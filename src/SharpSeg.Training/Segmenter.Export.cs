using System.Globalization;
using System.Text.Json;
using SharpSeg.Data.Transforms;
using SharpSeg.Onnx;
using SharpSeg.Training.Checkpoints;

namespace SharpSeg.Training;

public sealed partial class Segmenter
{
    /// <summary>Metadata keys <see cref="ExportOnnx"/> writes into the model's <c>metadata_props</c>.</summary>
    public static class OnnxMetadataKeys
    {
        /// <summary>Registry name of the model, e.g. <c>deeplabv3p</c>.</summary>
        public const string Model = "sharpseg.model";
        /// <summary>The model options as JSON (as in a checkpoint's <c>state.json</c>).</summary>
        public const string ModelOptions = "sharpseg.model_options";
        /// <summary>Classes predicted (2 for a one-logit binary head).</summary>
        public const string NumClasses = "sharpseg.num_classes";
        /// <summary>Class names as a JSON array, when known.</summary>
        public const string ClassNames = "sharpseg.class_names";
        /// <summary>The prediction transforms as a JSON list (PaddleX <c>model.yml</c> style), <c>[]</c> when none.</summary>
        public const string Transforms = "sharpseg.transforms";
        /// <summary>The Normalize step's per-channel mean, JSON array, when the transforms have one.</summary>
        public const string NormalizeMean = "sharpseg.normalize.mean";
        /// <summary>The Normalize step's per-channel std, JSON array, when the transforms have one.</summary>
        public const string NormalizeStd = "sharpseg.normalize.std";
        /// <summary>The Normalize step's per-band minimum (mapped to 0), JSON array.</summary>
        public const string NormalizeMin = "sharpseg.normalize.min";
        /// <summary>The Normalize step's per-band maximum (mapped to 1), JSON array.</summary>
        public const string NormalizeMax = "sharpseg.normalize.max";
        /// <summary>What the graph returns: <c>logits</c>, <c>probabilities</c> or <c>label_map</c>.</summary>
        public const string Output = "sharpseg.output";
        /// <summary>Input layout: always <c>NCHW float32</c>, after the transforms.</summary>
        public const string InputLayout = "sharpseg.input_layout";
    }

    /// <summary>
    /// Exports the model to an ONNX file (written atomically): input <c>image</c> [N, C, H, W] float32 after the prediction
    /// transforms, output logits, probabilities (<paramref name="output"/> = Probabilities) or the label map; BatchNorm folded
    /// into the convolutions it follows; dynamic batch, height and width unless <paramref name="fixedSize"/> is given. The
    /// model's metadata (<c>metadata_props</c>, keys in <see cref="OnnxMetadataKeys"/>) holds the prediction transforms, the
    /// normalisation, class names and model options, so a deployer can prepare images the same way. Equivalent to
    /// <c>torch.onnx.export</c> and to PaddleSeg's <c>export.py --with_softmax/--with_argmax</c> plus <c>paddle2onnx</c>.
    /// </summary>
    /// <param name="path">The .onnx file to write.</param>
    /// <param name="opset">The ONNX opset (13 to 21).</param>
    /// <param name="dynamicSize">Whether height and width stay dynamic; false requires <paramref name="fixedSize"/>.</param>
    /// <param name="fixedSize">Fixed input width and height (implies <paramref name="dynamicSize"/> false).</param>
    /// <param name="output">What the graph returns.</param>
    /// <exception cref="ArgumentException">dynamicSize is false without a fixed size, or true with one.</exception>
    /// <exception cref="OnnxExportException">The model runs an op or a size that has no ONNX form (the message names the op).</exception>
    public void ExportOnnx(string path, int opset = 17, bool dynamicSize = true, (int Width, int Height)? fixedSize = null,
        OnnxOutput output = OnnxOutput.Logits)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!dynamicSize && fixedSize is null)
            throw new ArgumentException("ExportOnnx: dynamicSize is false, so give fixedSize (width, height).", nameof(fixedSize));
        if (dynamicSize && fixedSize is not null)
            throw new ArgumentException($"ExportOnnx: fixedSize {fixedSize} contradicts dynamicSize true; pass dynamicSize: false.", nameof(dynamicSize));
        OnnxExporter.Export(Model, path, new OnnxExportOptions
        {
            Opset = opset,
            FixedSize = fixedSize,
            Output = output,
            ModelName = ModelName,
            Metadata = OnnxMetadata(output),
        });
    }

    private Dictionary<string, string> OnnxMetadata(OnnxOutput output)
    {
        var metadata = new Dictionary<string, string>
        {
            [OnnxMetadataKeys.Model] = ModelName,
            [OnnxMetadataKeys.ModelOptions] = ModelOptionsJson.Serialize(Model.Options),
            [OnnxMetadataKeys.NumClasses] = NumClasses.ToString(CultureInfo.InvariantCulture),
            [OnnxMetadataKeys.Transforms] = TransformConfig.ToJson(Transforms),
            [OnnxMetadataKeys.Output] = output switch
            {
                OnnxOutput.Probabilities => "probabilities",
                OnnxOutput.LabelMap => "label_map",
                _ => "logits",
            },
            [OnnxMetadataKeys.InputLayout] = "NCHW float32",
        };
        if (ClassNames is { } names) metadata[OnnxMetadataKeys.ClassNames] = JsonSerializer.Serialize(names);
        if (FindNormalize(Transforms) is { } normalize)
        {
            metadata[OnnxMetadataKeys.NormalizeMean] = JsonSerializer.Serialize(normalize.Mean);
            metadata[OnnxMetadataKeys.NormalizeStd] = JsonSerializer.Serialize(normalize.Std);
            metadata[OnnxMetadataKeys.NormalizeMin] = JsonSerializer.Serialize(normalize.MinValue);
            metadata[OnnxMetadataKeys.NormalizeMax] = JsonSerializer.Serialize(normalize.MaxValue);
        }
        return metadata;
    }

    private static Normalize? FindNormalize(ISegTransform? transform) => transform switch
    {
        Normalize normalize => normalize,
        Compose compose => compose.Transforms.Select(FindNormalize).FirstOrDefault(n => n is not null),
        _ => null,
    };
}
