using System.Collections.ObjectModel;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace SharpSeg.Data.Transforms;

/// <summary>
/// Transform pipelines as JSON, so a model folder can keep the transforms its predictions need. The list has the
/// shape of PaddleX 1.x <c>model.yml</c> <c>Transforms</c> (<c>[{"Resize": {"target_size": [512, 512]}}, …]</c>);
/// reading also accepts the entries of a PaddleSeg config's <c>transforms:</c> list
/// (<c>{"type": "Resize", "target_size": [512, 512]}</c>). Names and parameters are PaddleSeg's (PaddleX's for
/// <see cref="Clip"/> and <see cref="Normalize"/>'s <c>min_val</c>/<c>max_val</c>); sizes are <c>[width, height]</c>,
/// and an <c>im_padding_value</c> may be PaddleX's per-channel list when its values are equal.
/// Equivalent to PaddleX's <c>model.yml</c> writing/<c>build_transforms</c> and PaddleSeg's
/// <c>manager.TRANSFORMS</c> registry.
/// </summary>
public static class TransformConfig
{
    private static readonly (string Name, (Interpolation Mode, bool Random) Value)[] InterpolationNames =
    [
        ("NEAREST", (Interpolation.Nearest, false)),
        ("LINEAR", (Interpolation.Linear, false)),
        ("CUBIC", (Interpolation.Cubic, false)),
        ("AREA", (Interpolation.Area, false)),
        ("RANDOM", (Interpolation.Linear, true)),
    ];

    private static readonly (string Name, BlurType Value)[] BlurTypeNames =
    [
        ("gaussian", BlurType.Gaussian),
        ("median", BlurType.Median),
        ("blur", BlurType.Box),
        ("random", BlurType.Random),
    ];

    // Defaults of left-out parameters come from a default-constructed transform, so they cannot drift from the
    // constructors' (which are PaddleSeg's). Padding has no default size; a 1×1 one supplies the other defaults.
    private static readonly Spec[] Specs =
    [
        Define<Resize>("Resize",
            [new("target_size", "width", "height"), new("keep_ratio", "keepRatio"), new("size_divisor", "sizeDivisor"),
                new("interp", "interpolation", "randomInterpolation")],
            read: entry =>
            {
                var defaults = new Resize();
                var (width, height) = entry.Size("target_size", (defaults.Width, defaults.Height));
                var (interpolation, random) = entry.Choice("interp", (defaults.Interpolation, defaults.RandomInterpolation), InterpolationNames);
                return new Resize(width, height, entry.Bool("keep_ratio", defaults.KeepRatio),
                    entry.NullableInt("size_divisor", defaults.SizeDivisor), interpolation, random);
            },
            write: t => new()
            {
                ["target_size"] = Pair(t.Width, t.Height),
                ["keep_ratio"] = t.KeepRatio,
                ["size_divisor"] = t.SizeDivisor,
                ["interp"] = t.RandomInterpolation ? "RANDOM" : InterpolationNames.First(n => n.Value == (t.Interpolation, false)).Name,
            },
            isRandom: t => t.RandomInterpolation),

        Define<ResizeByLong>("ResizeByLong", [new("long_size", "longSize")],
            read: entry => new ResizeByLong(entry.RequiredInt("long_size")),
            write: t => new() { ["long_size"] = t.LongSize },
            isRandom: _ => false),

        Define<ResizeByShort>("ResizeByShort", [new("short_size", "shortSize"), new("max_size", "maxSize")],
            read: entry => new ResizeByShort(entry.RequiredInt("short_size"), MaxSize(entry.NullableInt("max_size", null))),
            write: t => new() { ["short_size"] = t.ShortSize, ["max_size"] = t.MaxSize },
            isRandom: _ => false),

        Define<ResizeRangeScaling>("ResizeRangeScaling", [new("min_value", "minValue"), new("max_value", "maxValue")],
            read: entry =>
            {
                var defaults = new ResizeRangeScaling();
                return new ResizeRangeScaling(entry.Int("min_value", defaults.MinValue), entry.Int("max_value", defaults.MaxValue));
            },
            write: t => new() { ["min_value"] = t.MinValue, ["max_value"] = t.MaxValue },
            isRandom: _ => true),

        Define<ResizeStepScaling>("ResizeStepScaling",
            [new("min_scale_factor", "minScaleFactor"), new("max_scale_factor", "maxScaleFactor"), new("scale_step_size", "scaleStepSize")],
            read: entry =>
            {
                var defaults = new ResizeStepScaling();
                return new ResizeStepScaling(entry.Double("min_scale_factor", defaults.MinScaleFactor),
                    entry.Double("max_scale_factor", defaults.MaxScaleFactor), entry.Double("scale_step_size", defaults.ScaleStepSize));
            },
            write: t => new()
            {
                ["min_scale_factor"] = t.MinScaleFactor,
                ["max_scale_factor"] = t.MaxScaleFactor,
                ["scale_step_size"] = t.ScaleStepSize,
            },
            isRandom: _ => true),

        Define<Normalize>("Normalize", [new("mean", "mean"), new("std", "std"), new("min_val", "minValue"), new("max_val", "maxValue")],
            read: entry =>
            {
                var defaults = new Normalize();
                return new Normalize(entry.Floats("mean", defaults.Mean), entry.Floats("std", defaults.Std),
                    entry.Floats("min_val", defaults.MinValue), entry.Floats("max_val", defaults.MaxValue));
            },
            write: t => new()
            {
                ["mean"] = Floats(t.Mean),
                ["std"] = Floats(t.Std),
                ["min_val"] = Floats(t.MinValue),
                ["max_val"] = Floats(t.MaxValue),
            },
            isRandom: _ => false),

        Define<Padding>("Padding",
            [new("target_size", "width", "height"), new("im_padding_value", "imagePaddingValue"), new("label_padding_value", "labelPaddingValue")],
            read: entry =>
            {
                var defaults = new Padding(1, 1);
                var (width, height) = entry.RequiredSize("target_size");
                return new Padding(width, height, entry.PaddingValue("im_padding_value", defaults.ImagePaddingValue),
                    entry.Int("label_padding_value", defaults.LabelPaddingValue));
            },
            write: t => new()
            {
                ["target_size"] = Pair(t.Width, t.Height),
                ["im_padding_value"] = t.ImagePaddingValue,
                ["label_padding_value"] = t.LabelPaddingValue,
            },
            isRandom: _ => false),

        Define<RandomPaddingCrop>("RandomPaddingCrop",
            [new("crop_size", "width", "height"), new("im_padding_value", "imagePaddingValue"),
                new("label_padding_value", "labelPaddingValue"), new("category_max_ratio", "categoryMaxRatio"),
                new("ignore_index", "ignoreIndex"), new("loop_times", "loopTimes")],
            read: entry =>
            {
                var defaults = new RandomPaddingCrop();
                var (width, height) = entry.Size("crop_size", (defaults.Width, defaults.Height));
                return new RandomPaddingCrop(width, height, entry.PaddingValue("im_padding_value", defaults.ImagePaddingValue),
                    entry.Int("label_padding_value", defaults.LabelPaddingValue),
                    entry.Double("category_max_ratio", defaults.CategoryMaxRatio),
                    entry.Int("ignore_index", defaults.IgnoreIndex), entry.Int("loop_times", defaults.LoopTimes));
            },
            write: t => new()
            {
                ["crop_size"] = Pair(t.Width, t.Height),
                ["im_padding_value"] = t.ImagePaddingValue,
                ["label_padding_value"] = t.LabelPaddingValue,
                ["category_max_ratio"] = t.CategoryMaxRatio,
                ["ignore_index"] = t.IgnoreIndex,
                ["loop_times"] = t.LoopTimes,
            },
            isRandom: _ => true),

        Define<RandomCenterCrop>("RandomCenterCrop", [new("retain_ratio", "retainWidthRatio", "retainHeightRatio")],
            read: entry =>
            {
                var defaults = new RandomCenterCrop();
                var (width, height) = entry.DoublePair("retain_ratio", (defaults.RetainWidthRatio, defaults.RetainHeightRatio));
                return new RandomCenterCrop(width, height);
            },
            write: t => new() { ["retain_ratio"] = new JsonArray(t.RetainWidthRatio, t.RetainHeightRatio) },
            isRandom: _ => true),

        Define<RandomHorizontalFlip>("RandomHorizontalFlip", [new("prob", "probability")],
            read: entry => new RandomHorizontalFlip(entry.Double("prob", new RandomHorizontalFlip().Probability)),
            write: t => new() { ["prob"] = t.Probability },
            isRandom: _ => true),

        Define<RandomVerticalFlip>("RandomVerticalFlip", [new("prob", "probability")],
            read: entry => new RandomVerticalFlip(entry.Double("prob", new RandomVerticalFlip().Probability)),
            write: t => new() { ["prob"] = t.Probability },
            isRandom: _ => true),

        Define<RandomBlur>("RandomBlur", [new("prob", "probability"), new("blur_type", "blurType")],
            read: entry =>
            {
                var defaults = new RandomBlur();
                return new RandomBlur(entry.Double("prob", defaults.Probability), entry.Choice("blur_type", defaults.BlurType, BlurTypeNames));
            },
            write: t => new() { ["prob"] = t.Probability, ["blur_type"] = BlurTypeNames.First(n => n.Value == t.BlurType).Name },
            isRandom: _ => true),

        Define<RandomRotation>("RandomRotation",
            [new("max_rotation", "maxRotation"), new("im_padding_value", "imagePaddingValue"), new("label_padding_value", "labelPaddingValue")],
            read: entry =>
            {
                var defaults = new RandomRotation();
                return new RandomRotation(entry.Double("max_rotation", defaults.MaxRotation),
                    entry.PaddingValue("im_padding_value", defaults.ImagePaddingValue), entry.Int("label_padding_value", defaults.LabelPaddingValue));
            },
            write: t => new()
            {
                ["max_rotation"] = t.MaxRotation,
                ["im_padding_value"] = t.ImagePaddingValue,
                ["label_padding_value"] = t.LabelPaddingValue,
            },
            isRandom: _ => true),

        Define<RandomScaleAspect>("RandomScaleAspect", [new("min_scale", "minScale"), new("aspect_ratio", "aspectRatio")],
            read: entry =>
            {
                var defaults = new RandomScaleAspect();
                return new RandomScaleAspect(entry.Double("min_scale", defaults.MinScale), entry.Double("aspect_ratio", defaults.AspectRatio));
            },
            write: t => new() { ["min_scale"] = t.MinScale, ["aspect_ratio"] = t.AspectRatio },
            isRandom: _ => true),

        Define<RandomDistort>("RandomDistort",
            [new("brightness_range", "brightnessRange"), new("brightness_prob", "brightnessProbability"),
                new("contrast_range", "contrastRange"), new("contrast_prob", "contrastProbability"),
                new("saturation_range", "saturationRange"), new("saturation_prob", "saturationProbability"),
                new("hue_range", "hueRange"), new("hue_prob", "hueProbability"),
                new("sharpness_range", "sharpnessRange"), new("sharpness_prob", "sharpnessProbability")],
            read: entry =>
            {
                var defaults = new RandomDistort();
                return new RandomDistort(
                    entry.Double("brightness_range", defaults.BrightnessRange), entry.Double("brightness_prob", defaults.BrightnessProbability),
                    entry.Double("contrast_range", defaults.ContrastRange), entry.Double("contrast_prob", defaults.ContrastProbability),
                    entry.Double("saturation_range", defaults.SaturationRange), entry.Double("saturation_prob", defaults.SaturationProbability),
                    entry.Double("hue_range", defaults.HueRange), entry.Double("hue_prob", defaults.HueProbability),
                    entry.Double("sharpness_range", defaults.SharpnessRange), entry.Double("sharpness_prob", defaults.SharpnessProbability));
            },
            write: t => new()
            {
                ["brightness_range"] = t.BrightnessRange,
                ["brightness_prob"] = t.BrightnessProbability,
                ["contrast_range"] = t.ContrastRange,
                ["contrast_prob"] = t.ContrastProbability,
                ["saturation_range"] = t.SaturationRange,
                ["saturation_prob"] = t.SaturationProbability,
                ["hue_range"] = t.HueRange,
                ["hue_prob"] = t.HueProbability,
                ["sharpness_range"] = t.SharpnessRange,
                ["sharpness_prob"] = t.SharpnessProbability,
            },
            isRandom: _ => true),

        Define<Clip>("Clip", [new("min_val", "minValue"), new("max_val", "maxValue")],
            read: entry =>
            {
                var defaults = new Clip();
                return new Clip(entry.Floats("min_val", defaults.MinValue), entry.Floats("max_val", defaults.MaxValue));
            },
            write: t => new() { ["min_val"] = Floats(t.MinValue), ["max_val"] = Floats(t.MaxValue) },
            isRandom: _ => false),
    ];

    /// <summary>Names read but never written: PaddleX 1.x's spelling where it differs from PaddleSeg's.</summary>
    private static readonly Spec[] Aliases =
    [
        Define<RandomRotation>("RandomRotate",
            [new("rotate_range", "maxRotation"), new("im_padding_value", "imagePaddingValue"), new("label_padding_value", "labelPaddingValue")],
            read: entry =>
            {
                var defaults = new RandomRotation();
                return new RandomRotation(entry.Double("rotate_range", defaults.MaxRotation),
                    entry.PaddingValue("im_padding_value", defaults.ImagePaddingValue), entry.Int("label_padding_value", defaults.LabelPaddingValue));
            },
            write: _ => throw new InvalidOperationException("Aliases are never written."),
            isRandom: _ => true),
    ];

    private static readonly Dictionary<string, Spec> ByName = Specs.Concat(Aliases).ToDictionary(s => s.Name, StringComparer.Ordinal);
    private static readonly Dictionary<Type, Spec> ByType = Specs.ToDictionary(s => s.Type);

    private static readonly JsonDocumentOptions ParseOptions = new()
    {
        CommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    /// <summary>
    /// The transform names a config may use (PaddleSeg's spelling, PaddleX's for <c>Clip</c>), in a stable order:
    /// resizing, normalisation, padding and cropping, flips and other augmentations.
    /// </summary>
    public static IReadOnlyList<string> Names { get; } = Array.AsReadOnly(Specs.Select(s => s.Name).ToArray());

    /// <summary>
    /// The transform as a compact JSON list of single-key objects, PaddleX <c>model.yml</c>'s <c>Transforms</c>
    /// shape: <c>[{"Resize":{"target_size":[512,512],"keep_ratio":false,"size_divisor":null,"interp":"LINEAR"}}]</c>.
    /// A <see cref="Compose"/> is flattened (nested ones too) and <c>null</c> gives <c>[]</c>. Every constructor
    /// argument is written, floating-point values in their shortest round-trip form, so
    /// <c>FromJson(ToJson(t))</c> transforms every sample exactly as <c>t</c> does for the same <see cref="Random"/>.
    /// </summary>
    /// <exception cref="ArgumentException">A step is a transform type with no config form (e.g. a user's own <see cref="ISegTransform"/>).</exception>
    public static string ToJson(ISegTransform? transform)
    {
        var list = new JsonArray();
        foreach (var step in Flatten(transform))
        {
            var spec = SpecOf(step);
            list.Add(new JsonObject { [spec.Name] = spec.Write(step) });
        }
        return list.ToJsonString();
    }

    /// <summary>
    /// Builds the pipeline a JSON transform list describes. Each entry is <c>{"Name": {parameters}}</c> (PaddleX
    /// <c>model.yml</c>) or <c>{"type": "Name", parameters…}</c> (a PaddleSeg config's <c>transforms:</c> entry); left-out
    /// parameters take the C# constructor's defaults, which are PaddleSeg's. Sizes are <c>[width, height]</c> or one
    /// integer for both sides. Comments and trailing commas are allowed.
    /// </summary>
    /// <param name="json">The list.</param>
    /// <param name="source">Where the list came from (a file path or a description); error messages start with it.</param>
    /// <exception cref="TransformConfigException">
    /// Malformed JSON (with line and position), an entry of the wrong shape, an unknown transform or parameter (the
    /// message lists the accepted names), a value of the wrong JSON type, a missing required parameter, or a value the
    /// transform's constructor rejects.
    /// </exception>
    public static Compose FromJson(string json, string source)
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentNullException.ThrowIfNull(source);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, ParseOptions);
        }
        catch (JsonException e)
        {
            throw new TransformConfigException(source, null, null, null,
                $"malformed JSON at line {e.LineNumber + 1}, position {e.BytePositionInLine + 1}: {WithoutPosition(e.Message)}", e);
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Array)
                throw new TransformConfigException(source, null, null, null,
                    $"expected a JSON list of transforms such as [{{\"Resize\": {{\"target_size\": [512, 512]}}}}], got {Describe(root)}.");
            var transforms = new List<ISegTransform>();
            int index = 0;
            foreach (var item in root.EnumerateArray())
                transforms.Add(Build(item, source, index++));
            return new Compose(transforms);
        }
    }

    /// <summary>
    /// Whether the transform's result depends on the <see cref="Random"/> passed to <see cref="ISegTransform.Apply"/>,
    /// so prediction must refuse it: every augmentation (the <c>Random*</c> transforms, <see cref="ResizeRangeScaling"/>,
    /// <see cref="ResizeStepScaling"/>) whatever its parameters, and <see cref="Resize"/> with <c>interp='RANDOM'</c>.
    /// A <see cref="Compose"/> is random when any step is. PaddleX keeps such steps out of <c>eval_transforms</c>.
    /// </summary>
    /// <exception cref="ArgumentException">A step is a transform type with no config form, so whether it draws is unknown.</exception>
    public static bool IsRandom(ISegTransform transform)
    {
        ArgumentNullException.ThrowIfNull(transform);
        return Flatten(transform).Any(step => SpecOf(step).IsRandom(step));
    }

    /// <summary>A JSON value for an error message: its kind and (shortened) text.</summary>
    internal static string Describe(JsonElement value)
    {
        string text = value.GetRawText();
        if (text.Length > 60)
            text = text[..57] + "...";
        return value.ValueKind switch
        {
            JsonValueKind.Object => $"an object {text}",
            JsonValueKind.Array => $"a list {text}",
            JsonValueKind.String => $"a string {text}",
            JsonValueKind.Number => $"the number {text}",
            JsonValueKind.True or JsonValueKind.False => $"the boolean {text}",
            _ => "null",
        };
    }

    /// <summary>PaddleX disables <c>max_size</c> with a value ≤ 0 (its <c>if self.max_size > 0</c>).</summary>
    private static int? MaxSize(int? value) => value is > 0 ? value : null;

    private static IEnumerable<ISegTransform> Flatten(ISegTransform? transform)
    {
        if (transform is Compose compose)
            return compose.Transforms.SelectMany(Flatten);
        return transform is null ? [] : [transform];
    }

    private static Spec SpecOf(ISegTransform transform) =>
        ByType.TryGetValue(transform.GetType(), out var spec)
            ? spec
            : throw new ArgumentException(
                $"TransformConfig: {transform.GetType().FullName} has no config form; the known transforms are {string.Join(", ", Names)}.",
                nameof(transform));

    private static ISegTransform Build(JsonElement item, string source, int index)
    {
        var (name, parameters) = ReadEntry(item, source, index);
        if (!ByName.TryGetValue(name, out var spec))
            throw new TransformConfigException(source, index, name, null,
                $"unknown transform; the known transforms are {string.Join(", ", Names)}.");
        foreach (var parameter in parameters.Keys)
            if (!spec.Parameters.Any(p => p.Name == parameter))
                throw new TransformConfigException(source, index, name, parameter,
                    $"unknown parameter; {name} accepts {string.Join(", ", spec.Parameters.Select(p => p.Name))}.");

        var entry = new TransformConfigEntry(source, index, name, parameters);
        try
        {
            return spec.Read(entry);
        }
        catch (ArgumentException e)
        {
            throw Rejected(entry, spec, e);
        }
    }

    /// <summary>Splits an entry into its transform name and parameters, in either accepted shape.</summary>
    private static (string Name, Dictionary<string, JsonElement> Parameters) ReadEntry(JsonElement item, string source, int index)
    {
        const string Shapes = "{\"Name\": {parameters}} or {\"type\": \"Name\", parameters…}";
        if (item.ValueKind != JsonValueKind.Object)
            throw new TransformConfigException(source, index, null, null, $"expected {Shapes}, got {Describe(item)}.");

        if (item.TryGetProperty("type", out var type))
        {
            if (type.ValueKind != JsonValueKind.String)
                throw new TransformConfigException(source, index, null, "type", $"expected a transform name, got {Describe(type)}.");
            string name = type.GetString()!;
            var parameters = Properties(item, source, index, name);
            parameters.Remove("type");
            return (name, parameters);
        }

        var keys = Properties(item, source, index, null);
        if (keys.Count != 1)
            throw new TransformConfigException(source, index, null, null,
                $"expected {Shapes}, got an object with {keys.Count} keys{(keys.Count == 0 ? "" : $" ({string.Join(", ", keys.Keys)})")}.");
        var (transformName, value) = keys.First();
        return value.ValueKind switch
        {
            JsonValueKind.Object => (transformName, Properties(value, source, index, transformName)),
            JsonValueKind.Null => (transformName, []),
            _ => throw new TransformConfigException(source, index, transformName, null,
                $"expected its parameters as an object, got {Describe(value)}."),
        };
    }

    private static Dictionary<string, JsonElement> Properties(JsonElement json, string source, int index, string? name)
    {
        var result = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var property in json.EnumerateObject())
            if (!result.TryAdd(property.Name, property.Value))
                throw new TransformConfigException(source, index, name, property.Name, "given more than once.");
        return result;
    }

    /// <summary>A constructor's rejection, blamed on the config parameter behind its argument where it names one.</summary>
    private static TransformConfigException Rejected(TransformConfigEntry entry, Spec spec, ArgumentException e)
    {
        string reason = e.Message;
        if (e.ParamName is not null)
        {
            int suffix = reason.IndexOf($" (Parameter '{e.ParamName}')", StringComparison.Ordinal);
            if (suffix >= 0)
                reason = reason[..suffix];
        }
        var parameter = spec.Parameters.FirstOrDefault(p => e.ParamName is not null && p.ConstructorNames.Contains(e.ParamName))?.Name;
        if (parameter is not null)
        {
            string given = entry.Parameters.TryGetValue(parameter, out var value) ? value.GetRawText() : "the default";
            return entry.Error(parameter, $"{given} rejected: {reason}", e);
        }
        string values = entry.Parameters.Count == 0
            ? "the defaults"
            : string.Join(", ", entry.Parameters.Select(p => $"{p.Key}={p.Value.GetRawText()}"));
        return entry.Error(null, $"{values} rejected: {reason}", e);
    }

    private static string WithoutPosition(string message)
    {
        int cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        return cut >= 0 ? message[..cut] : message;
    }

    private static JsonArray Pair(int width, int height) => new(width, height);

    private static JsonArray Floats(IReadOnlyList<float> values) => [.. values.Select(v => (JsonNode)v)];

    private static Spec Define<T>(string name, Parameter[] parameters, Func<TransformConfigEntry, T> read,
        Func<T, JsonObject> write, Func<T, bool> isRandom) where T : ISegTransform =>
        new(name, typeof(T), parameters, entry => read(entry), t => write((T)t), t => isRandom((T)t));

    /// <summary>A config parameter and the constructor arguments it sets (to blame it for their rejection).</summary>
    private sealed record Parameter(string Name, params string[] ConstructorNames);

    private sealed record Spec(string Name, Type Type, IReadOnlyList<Parameter> Parameters,
        Func<TransformConfigEntry, ISegTransform> Read, Func<ISegTransform, JsonObject> Write, Func<ISegTransform, bool> IsRandom);
}
