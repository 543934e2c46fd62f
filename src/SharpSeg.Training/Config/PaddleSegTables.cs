using System.Globalization;
using SharpSeg.Data.Datasets;
using SharpSeg.Data.Transforms;
using SharpSeg.Models;
using SharpSeg.Nn.Losses;

namespace SharpSeg.Training.Config;

/// <summary>
/// The mapping tables from PaddleSeg's component names (<c>type:</c> values of <c>model</c>, <c>backbone</c>,
/// <c>*_dataset</c> and <c>loss.types</c>) and their arguments to SharpSeg's registry entries, option records, datasets
/// and losses. The only place outside <c>SharpSeg.Models</c> where a model is named: a key PaddleSeg has and SharpSeg
/// cannot honour is refused here with the values that would work.
/// </summary>
internal static class PaddleSegTables
{
    /// <summary>
    /// PaddleSeg's <c>FCN</c> type (an alias of the registry's FCN-on-HRNet model), whose <c>backbone.type</c> names
    /// the HRNet width rather than a registered backbone.
    /// </summary>
    private const string FcnType = "FCN";
    private const string HRNetBackbonePrefix = "HRNet_W";

    /// <summary>
    /// Model keys SharpSeg reads itself (the rest go by name to the model's options record, see
    /// <see cref="ModelOptionsBinder"/>): PaddleSeg arguments whose meaning is fixed in SharpSeg and which are therefore
    /// checked against the value SharpSeg uses.
    /// </summary>
    private static readonly string[] CommonModelKeys = ["type", "num_classes", "pretrained", "backbone", "data_format"];

    /// <summary>The PaddleSeg model types accepted: every registry model by name or alias, plus FCN (with an HRNet backbone).</summary>
    public static IEnumerable<string> ModelTypes => ModelRegistry.Names(RegistryKind.Model).Append(FcnType);

    /// <summary>
    /// The registry model, its options and the pretrained weights a <c>model:</c> section describes.
    /// </summary>
    /// <param name="model">The section.</param>
    /// <param name="numClasses">Classes, synchronised between the model and the datasets beforehand.</param>
    /// <param name="lossCoefficients">The <c>loss.coef</c> list, which sets the number of Fast-SCNN outputs; null = none given.</param>
    public static (string Model, ModelOptions Options, string? Pretrained) ResolveModel(ConfigSection model, int numClasses,
        IReadOnlyList<double>? lossCoefficients)
    {
        string type = model.RequiredString("type", $"(a PaddleSeg model type: {string.Join(", ", ModelTypes)})");
        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var backbone = model.Section("backbone");
        string? pretrained = ReadPretrained(model, "pretrained");

        RegistryEntry entry;
        if (type.Equals(FcnType, StringComparison.OrdinalIgnoreCase))
        {
            entry = ModelRegistry.Get(FcnType, RegistryKind.Model);
            string backboneType = backbone?.RequiredString("type", "for FCN (an HRNet backbone, e.g. HRNet_W18)")
                ?? throw model.Missing("backbone", "for FCN (e.g. backbone: {type: HRNet_W18})");
            if (!backboneType.StartsWith(HRNetBackbonePrefix, StringComparison.OrdinalIgnoreCase)
                || ModelRegistry.Find(backboneType, RegistryKind.Backbone) is null)
                throw backbone.Error("type",
                    $"FCN is supported with an HRNet backbone only (SharpSeg's '{entry.Name}' model); got '{backboneType}'. Use one of " +
                    $"{string.Join(", ", ModelRegistry.Names(RegistryKind.Backbone).Where(n => n.StartsWith("hrnet_w", StringComparison.Ordinal)))}.");
            values["Width"] = backboneType[HRNetBackbonePrefix.Length..].ToLowerInvariant();
            if (backbone.Bool("has_se") is { } hasSe) values["HasSe"] = hasSe ? "true" : "false";
            if (backbone.Bool("align_corners") is { } backboneAlign) values["AlignCorners"] = backboneAlign ? "true" : "false";
            pretrained = MergePretrained(model, pretrained, backbone);
            backbone.RejectUnknown(["type", "has_se", "align_corners", "pretrained"]);
            if (model.Ints("backbone_indices") is { } indices && !(indices is [-1] or [0]))
                throw model.Error("backbone_indices", $"must be [-1] (FCN's head takes the HRNet's concatenated branches), got [{string.Join(", ", indices)}].");
            if (model.Node("channels") is { } channels)
                throw model.Error("channels", $"is not supported: SharpSeg's FCN head keeps the concatenated width (PaddleSeg's default, channels: null), got {ConfigSection.Describe(channels)}.");
        }
        else
        {
            entry = ModelRegistry.Find(type, RegistryKind.Model)
                ?? throw model.Error("type", $"unknown model type '{type}'; supported: {string.Join(", ", ModelTypes)}.");
            if (entry.TakesBackbone)
            {
                if (backbone is null)
                    throw model.Missing("backbone", $"for {type} (e.g. backbone: {{type: ResNet50_vd, output_stride: 8}})");
                ReadBackbone(backbone, values);
                pretrained = MergePretrained(model, pretrained, backbone);
                ReadDeepLabChecks(model, backbone);
            }
            else if (backbone is not null)
                throw model.Error("backbone", $"model '{entry.Name}' takes no backbone.");
            foreach (var option in ModelOptionsBinder.Describe(entry.OptionsType))
                if (option.PaddleSegFlag is { } flag && model.Bool(flag.Key) is { } set)
                    values[option.Name] = set ? flag.WhenTrue : flag.WhenFalse;
            if (entry.OptionsType == typeof(FastScnnOptions))
                ReadFastScnnOutputs(model, lossCoefficients, values);
        }

        if (model.String("data_format") is { } format && format != "NCHW")
            throw model.Error("data_format", $"must be NCHW (the only layout SharpSeg has), got '{format}'.");
        ReadOptionsByName(model, entry, values);
        try
        {
            return (entry.Name, ModelOptionsBinder.Create(entry.OptionsType, numClasses, values), pretrained);
        }
        catch (ArgumentException e)
        {
            throw new ConfigException(model.File, model.Map.Line, model.Path, $"{type}: {e.Message.Split(" (Parameter")[0]}", e);
        }
    }

    private static void ReadBackbone(ConfigSection backbone, Dictionary<string, string> values)
    {
        string name = backbone.RequiredString("type", "(a backbone, e.g. ResNet50_vd)");
        var found = ModelRegistry.Find(name, RegistryKind.Backbone)
            ?? throw backbone.Error("type", $"unknown backbone '{name}'; registered: {string.Join(", ", ModelRegistry.Names(RegistryKind.Backbone))}.");
        values[nameof(BackboneModelOptions.Backbone)] = found.Name;
        if (backbone.Int("output_stride", 1) is { } stride) values[nameof(BackboneModelOptions.OutputStride)] = stride.ToString(CultureInfo.InvariantCulture);
        if (backbone.Int("in_channels", 1) is { } channels) values[nameof(ModelOptions.InChannels)] = channels.ToString(CultureInfo.InvariantCulture);
        if (backbone.Ints("multi_grid") is { } grid)
        {
            // SharpSeg's ResNet_vd fixes multi_grid from the output stride (PaddleSeg's DeepLabV3P configs' values); other
            // grids would need a model option SharpSeg does not have yet.
            int outputStride = backbone.Int("output_stride") ?? 32;
            int[] fixedGrid = outputStride == 8 ? [1, 2, 4] : [1, 1, 1];
            if (!found.Name.EndsWith("_vd", StringComparison.Ordinal))
                throw backbone.Error("multi_grid", $"backbone '{found.Name}' has no multi-grid setting in SharpSeg; remove the key.");
            if (!grid.SequenceEqual(fixedGrid))
                throw backbone.Error("multi_grid",
                    $"SharpSeg's {found.Name} uses multi_grid [{string.Join(", ", fixedGrid)}] at output_stride {outputStride}; got [{string.Join(", ", grid)}]. Allowed: [{string.Join(", ", fixedGrid)}].");
        }
        backbone.Accept("pretrained");
        backbone.RejectUnknown(["type", "output_stride", "multi_grid", "in_channels", "pretrained"]);
    }

    /// <summary>DeepLabV3P's PaddleSeg arguments whose values SharpSeg derives itself: checked against what it uses.</summary>
    private static void ReadDeepLabChecks(ConfigSection model, ConfigSection backbone)
    {
        if (model.Ints("backbone_indices") is { } indices && !(indices is [0, 3] or [0, -1]))
            throw model.Error("backbone_indices",
                $"must be [0, 3]: SharpSeg's decoder takes the reduction-4 feature and the deepest one, got [{string.Join(", ", indices)}].");
        if (model.Ints("aspp_ratios") is { } ratios)
        {
            int stride = backbone.Int("output_stride") ?? 16;
            int[] used = stride == 8 ? [1, 12, 24, 36] : [1, 6, 12, 18];
            if (!ratios.SequenceEqual(used))
                throw model.Error("aspp_ratios",
                    $"SharpSeg's ASPP uses [{string.Join(", ", used)}] at output_stride {stride}; got [{string.Join(", ", ratios)}]. Allowed: [{string.Join(", ", used)}].");
        }
    }

    /// <summary>Fast-SCNN: PaddleSeg's <c>enable_auxiliary_loss</c> (default true) adds one auxiliary output, weighted by <c>loss.coef</c>.</summary>
    private static void ReadFastScnnOutputs(ConfigSection model, IReadOnlyList<double>? coefficients, Dictionary<string, string> values)
    {
        bool auxiliary = model.Bool("enable_auxiliary_loss") ?? true;
        int outputs = auxiliary ? 2 : 1;
        var weights = coefficients ?? (auxiliary ? [1.0, 0.4] : [1.0]);
        if (weights.Count != outputs)
            throw model.Error("enable_auxiliary_loss",
                $"gives {outputs} output{(outputs == 1 ? "" : "s")}, so loss.coef needs {outputs} entr{(outputs == 1 ? "y" : "ies")}, but it has {weights.Count}.");
        values["MultiLossWeight"] = string.Join(",", weights.Select(w => w.ToString("R", CultureInfo.InvariantCulture)));
    }

    /// <summary>Every remaining key of the section names an option of the model's record (PaddleSeg's snake_case of it).</summary>
    private static void ReadOptionsByName(ConfigSection model, RegistryEntry entry, Dictionary<string, string> values)
    {
        var options = ModelOptionsBinder.Describe(entry.OptionsType);
        // Keys read above, by the model's own declarations (PaddleSeg flags) or as fixed checks.
        var specific = new HashSet<string>(["backbone_indices", "aspp_ratios", "enable_auxiliary_loss", "channels"]);
        specific.UnionWith(options.Where(o => o.PaddleSegFlag is not null).Select(o => o.PaddleSegFlag!.Key));
        foreach (var (key, node) in model.Map.Entries)
        {
            if (CommonModelKeys.Contains(key) || specific.Contains(key)) continue;
            var option = options.FirstOrDefault(o => string.Equals(o.Name, key.Replace("_", ""), StringComparison.OrdinalIgnoreCase));
            if (option is null || !ReadByName(option))
                continue;
            model.Accept(key);
            values[option.Name] = node switch
            {
                ConfigScalar { Text: null } => "none",
                ConfigScalar scalar => scalar.Text!,
                ConfigList list => string.Join(",", list.Items.Select(i => (i as ConfigScalar)?.Text
                    ?? throw new ConfigException(i.File, i.Line, model.KeyPath(key), "must be a list of values."))),
                _ => throw model.Error(key, "must be a value or a list of values, not a mapping."),
            };
        }
        var accepted = CommonModelKeys.Concat(model.KnownKeys.Where(specific.Contains))
            .Concat(options.Where(ReadByName).Select(o => o.CliName.Replace('-', '_')));
        model.RejectUnknown(accepted.Distinct());
    }

    /// <summary>
    /// Whether a <c>model:</c> key of the option's snake_case name sets it: not the options PaddleSeg spells otherwise
    /// (the backbone section, a PaddleSeg flag, FCN's backbone type, the loss coefficients).
    /// </summary>
    private static bool ReadByName(ModelOptionInfo option) =>
        option.PaddleSegFlag is null && option.Name is not (nameof(BackboneModelOptions.Backbone) or nameof(BackboneModelOptions.OutputStride)
            or nameof(BackboneModelOptions.PretrainedBackbone) or "MultiLossWeight" or "Width");

    private static string? ReadPretrained(ConfigSection section, string key)
    {
        if (section.String(key) is not { } path) return null;
        if (path.Contains("://", StringComparison.Ordinal))
            throw section.Error(key, $"'{path}' is a URL; SharpSeg never downloads weights: give the path of a local .safetensors file.");
        return path;
    }

    /// <summary>
    /// <c>backbone.pretrained</c> and <c>model.pretrained</c> both become the run's pretrained weights file: a file of the
    /// backbone's weights alone goes to the backbone (see <see cref="Segmenter.Train"/>'s <c>pretrainWeights</c>).
    /// </summary>
    private static string? MergePretrained(ConfigSection model, string? modelPretrained, ConfigSection backbone)
    {
        string? backbonePretrained = ReadPretrained(backbone, "pretrained");
        if (modelPretrained is not null && backbonePretrained is not null)
            throw backbone.Error("pretrained", "give either model.pretrained (the whole model's weights) or backbone.pretrained, not both.");
        return modelPretrained ?? backbonePretrained;
    }

    // ---- datasets ----

    /// <summary>The dataset types accepted and the fixed class count of each benchmark (null = given by num_classes).</summary>
    public static readonly IReadOnlyDictionary<string, int?> DatasetTypes = new Dictionary<string, int?>(StringComparer.Ordinal)
    {
        ["Dataset"] = null,
        ["OpticDiscSeg"] = 2,
        ["Cityscapes"] = 19,
        ["PascalVOC"] = PascalVocDataset.NumVocClasses,
        ["ADE20K"] = 150,
    };

    /// <summary>Opens a dataset section (<c>train_dataset</c> or <c>val_dataset</c>) resolved by <see cref="TrainingConfig"/>.</summary>
    public static SegDataset OpenDataset(DatasetConfig d, ISegTransform transforms)
    {
        var mode = d.Mode == "train" || d.Mode == "trainval" ? DatasetMode.Train : DatasetMode.Val;
        return d.Type switch
        {
            "Dataset" => new FileListDataset(d.DatasetRoot, d.FileList!, d.NumClasses, mode, transforms, d.Separator, d.IgnoreIndex, d.ImageChannels),
            "OpticDiscSeg" => new FileListDataset(d.DatasetRoot, d.FileList!, d.NumClasses, mode, transforms),
            "Cityscapes" => new CityscapesDataset(d.DatasetRoot, mode, transforms),
            "PascalVOC" => new PascalVocDataset(Directory.Exists(Path.Combine(d.DatasetRoot, "VOC2012")) ? Path.Combine(d.DatasetRoot, "VOC2012") : d.DatasetRoot,
                mode, transforms, d.Mode),
            "ADE20K" => new Ade20kDataset(d.DatasetRoot, mode, transforms),
            _ => throw new InvalidOperationException($"dataset type {d.Type} has no mapping"),
        };
    }

    // ---- losses ----

    /// <summary>The loss types accepted (PaddleSeg's names).</summary>
    public static readonly IReadOnlyList<string> LossTypes =
        ["CrossEntropyLoss", "BCELoss", "DiceLoss", "OhemCrossEntropyLoss", "LovaszSoftmaxLoss", "LovaszHingeLoss", "MultiClassFocalLoss", "MixedLoss"];

    /// <summary>One entry of <c>loss.types</c> (or of a MixedLoss's <c>losses</c>) as a SharpSeg loss.</summary>
    public static ISegmentationLoss CreateLoss(ConfigSection section, int numClasses, int ignoreIndex, List<string> notes)
    {
        string type = section.RequiredString("type", $"(one of {string.Join(", ", LossTypes)})");
        if (section.Int("ignore_index") is { } ignore && ignore != ignoreIndex)
            throw section.Error("ignore_index", $"must equal the training dataset's ignore_index {ignoreIndex} (PaddleSeg requires the same), got {ignore}.");
        ISegmentationLoss loss;
        switch (type)
        {
            case "CrossEntropyLoss":
            {
                var weight = ReadClassWeight(section, numClasses);
                if (section.Double("top_k_percent_pixels") is { } topK && topK != 1.0)
                    throw section.Error("top_k_percent_pixels", $"only 1.0 (every pixel) is supported, got {topK}; OhemCrossEntropyLoss keeps the hard pixels.");
                if (section.Bool("avg_non_ignore") is false)
                    throw section.Error("avg_non_ignore", "only true is supported: the loss is averaged over the non-ignored pixels.");
                if (section.String("data_format") is { } format && format != "NCHW")
                    throw section.Error("data_format", $"must be NCHW, got '{format}'.");
                loss = new CrossEntropyLoss(weight, ignoreIndex, CrossEntropyNormalization.PixelCount);
                break;
            }
            case "BCELoss":
                foreach (string unsupported in new[] { "weight", "pos_weight", "edge_label" })
                    if (section.Node(unsupported) is { } value && value is not ConfigScalar { Text: "False" or "false" })
                        throw section.Error(unsupported, $"is not supported (SharpSeg's BCELoss takes ignore_index only), got {ConfigSection.Describe(value)}.");
                RequireTwoClasses(section, type, numClasses);
                loss = new BceLoss(ignoreIndex);
                break;
            case "DiceLoss":
                RequireTwoClasses(section, type, numClasses);
                if (section.Node("smooth") is { } smooth)
                    throw section.Error("smooth", $"is not supported: SharpSeg's DiceLoss is PaddleX's two-class formula with ε = 1e-5, got {ConfigSection.Describe(smooth)}.");
                if (section.Node("weight") is { } diceWeight)
                    throw section.Error("weight", $"is not supported by SharpSeg's DiceLoss, got {ConfigSection.Describe(diceWeight)}.");
                notes.Add($"{section.KeyPath("type")}: DiceLoss is PaddleX's two-class Dice on the foreground probability (PaddleSeg's DiceLoss averages a softmax Dice over both classes).");
                loss = new DiceLoss(ignoreIndex);
                break;
            case "OhemCrossEntropyLoss":
                loss = new OhemCrossEntropyLoss((float)(section.Double("thresh", 0, exclusive: true) ?? 0.7), section.Int("min_kept", 0) ?? 10000, ignoreIndex);
                break;
            case "LovaszSoftmaxLoss":
                loss = section.String("classes") switch
                {
                    null or "present" => new LovaszSoftmaxLoss(LovaszClasses.Present, ignoreIndex),
                    "all" => new LovaszSoftmaxLoss(LovaszClasses.All, ignoreIndex),
                    var other => throw section.Error("classes", $"must be 'present' or 'all', got '{other}'."),
                };
                break;
            case "LovaszHingeLoss":
                RequireTwoClasses(section, type, numClasses);
                loss = new LovaszHingeLoss(ignoreIndex);
                break;
            case "MultiClassFocalLoss":
                if (section.Int("num_class") is { } focalClasses && focalClasses != numClasses)
                    throw section.Error("num_class", $"must equal num_classes {numClasses}, got {focalClasses}.");
                loss = new MultiClassFocalLoss((float)(section.Double("alpha", 0) ?? 1.0), (float)(section.Double("gamma", 0) ?? 2.0), ignoreIndex);
                break;
            case "MixedLoss":
            {
                var list = section.List("losses") ?? throw section.Missing("losses", "for MixedLoss (a list of losses)");
                var coefficients = section.Numbers("coef") ?? throw section.Missing("coef", "for MixedLoss (one weight per loss)");
                if (coefficients.Count != list.Items.Count)
                    throw section.Error("coef", $"has {coefficients.Count} entries but losses has {list.Items.Count}; give one weight per loss.");
                var parts = list.Items.Select((item, i) => item is ConfigMap map
                    ? CreateLoss(new ConfigSection(map, $"{section.KeyPath("losses")}[{i}]", map.File), numClasses, ignoreIndex, notes)
                    : throw new ConfigException(item.File, item.Line, $"{section.KeyPath("losses")}[{i}]", "must be a mapping with a type.")).ToList();
                loss = new MixedLoss(parts, [.. coefficients.Select(c => (float)c)]);
                break;
            }
            default:
                throw section.Error("type", $"unknown loss type '{type}'; supported: {string.Join(", ", LossTypes)}.");
        }
        section.RejectUnknown();
        return loss;
    }

    private static ClassWeight? ReadClassWeight(ConfigSection section, int numClasses)
    {
        switch (section.Node("weight"))
        {
            case null:
                return null;
            case ConfigScalar { Text: "dynamic" }:
                return ClassWeight.Dynamic;
            case ConfigList:
                var weights = section.Numbers("weight")!;
                if (weights.Count != numClasses)
                    throw section.Error("weight", $"has {weights.Count} entries but there are {numClasses} classes.");
                return ClassWeight.Of([.. weights.Select(w => (float)w)]);
            case var other:
                throw section.Error("weight", $"must be a list of one weight per class or 'dynamic', got {ConfigSection.Describe(other)}.");
        }
    }

    private static void RequireTwoClasses(ConfigSection section, string type, int numClasses)
    {
        if (numClasses != 2)
            throw section.Error("type", $"{type} applies to two-class data only, but num_classes is {numClasses}.");
    }
}
