using System.Globalization;
using SharpSeg.Data.Datasets;
using SharpSeg.Data.Transforms;
using SharpSeg.Models;
using SharpSeg.Nn.Losses;

namespace SharpSeg.Training.Config;

/// <summary>
/// A dataset section of a config (<c>train_dataset</c>, <c>val_dataset</c>) resolved: PaddleSeg's
/// <c>paddleseg.datasets.Dataset</c>/<c>Cityscapes</c>/<c>PascalVOC</c>/<c>ADE20K</c>/<c>OpticDiscSeg</c> arguments.
/// </summary>
/// <param name="Type">The PaddleSeg type name.</param>
/// <param name="DatasetRoot">The folder the data is in (<c>dataset_root</c>).</param>
/// <param name="FileList">The file list (<c>train_path</c>/<c>val_path</c>) of the list-based types, else null.</param>
/// <param name="NumClasses">Classes.</param>
/// <param name="Mode">PaddleSeg's <c>mode</c>: <c>train</c>, <c>val</c> or (Pascal VOC) <c>trainval</c>.</param>
/// <param name="Separator">Separator of the file list's two paths.</param>
/// <param name="IgnoreIndex">Ignored label value.</param>
/// <param name="ImageChannels">Channels images are read as (<c>img_channels</c>).</param>
/// <param name="Transforms">The <c>transforms</c> list.</param>
public sealed record DatasetConfig(string Type, string DatasetRoot, string? FileList, int NumClasses, string Mode, string Separator,
    int IgnoreIndex, int ImageChannels, Compose Transforms)
{
    /// <summary>Opens the dataset with its transforms.</summary>
    /// <exception cref="FileNotFoundException">A list or folder is missing (from the dataset itself).</exception>
    public SegDataset Open() => PaddleSegTables.OpenDataset(this, Transforms);
}

/// <summary>
/// A training run described by a PaddleSeg config file (<c>configs/**.yml</c>), resolved: the model, the datasets and
/// every training argument, ready for <see cref="Train"/> or for <see cref="Segmenter.Train"/> by hand. Equivalent to
/// PaddleSeg's <c>paddleseg.cvlibs.Config(path, learning_rate, batch_size, iters, opts)</c>; read with YamlDotNet.
/// <para>
/// Keys: <c>_base_</c> (inheritance, see <see cref="Load"/>), <c>batch_size</c> (default 1), <c>iters</c> or <c>epochs</c>,
/// <c>train_dataset</c>/<c>val_dataset</c> (<c>type</c>: Dataset, OpticDiscSeg, Cityscapes, PascalVOC or ADE20K; <c>dataset_root</c>,
/// <c>train_path</c>/<c>val_path</c>, <c>num_classes</c>, <c>mode</c>, <c>separator</c>, <c>ignore_index</c>,
/// <c>img_channels</c>, <c>transforms</c> with PaddleSeg's <c>type:</c> entries), <c>optimizer</c> (<c>type: sgd</c>,
/// <c>momentum</c>, <c>weight_decay</c>), <c>lr_scheduler</c> (<c>type: PolynomialDecay</c>, <c>learning_rate</c>,
/// <c>power</c>, <c>end_lr</c>, <c>warmup_iters</c>, <c>warmup_start_lr</c>), <c>loss</c> (<c>types</c>, <c>coef</c>) and
/// <c>model</c> (<c>type</c>, <c>backbone</c>, <c>num_classes</c>, <c>pretrained</c> and the model's own arguments).
/// <c>export</c> and <c>test_config</c> are accepted and ignored (<see cref="Notes"/> says so); any other key is an error.
/// </para>
/// <para>
/// <b>iters and epochs.</b> SharpSeg trains whole epochs (its checkpoints, evaluations and resume are per epoch), so
/// PaddleSeg's <c>iters</c> becomes ⌈iters / steps per epoch⌉ epochs, steps per epoch being ⌊training images / batch_size⌋
/// (the last partial batch is dropped, as PaddleSeg's loader does): the run makes at most one epoch's steps more than
/// <c>iters</c>, and the polynomial decay spans the steps actually made. <see cref="EpochsFor"/> gives the figure.
/// </para>
/// </summary>
public sealed record TrainingConfig
{
    /// <summary>The top-level keys read.</summary>
    private static readonly string[] TopLevelKeys =
        ["batch_size", "iters", "epochs", "train_dataset", "val_dataset", "optimizer", "lr_scheduler", "loss", "model"];

    /// <summary>PaddleSeg keys accepted and deliberately ignored (they configure export and testing, not training).</summary>
    private static readonly string[] IgnoredKeys = ["export", "test_config"];

    /// <summary>The config file (full path).</summary>
    public required string SourceFile { get; init; }

    /// <summary>The registry name of the model (PaddleSeg's <c>model.type</c>, mapped).</summary>
    public required string Model { get; init; }

    /// <summary>The model's options record.</summary>
    public required ModelOptions ModelOptions { get; init; }

    /// <summary>Weights to start from (<c>model.pretrained</c> or <c>model.backbone.pretrained</c>), or null.</summary>
    public string? PretrainedWeights { get; init; }

    /// <summary>The training dataset.</summary>
    public required DatasetConfig TrainDataset { get; init; }

    /// <summary>The validation dataset, or null.</summary>
    public DatasetConfig? ValDataset { get; init; }

    /// <summary>Images per step (<c>batch_size</c>).</summary>
    public int BatchSize { get; init; } = 1;

    /// <summary>PaddleSeg's <c>iters</c>, or null when <see cref="Epochs"/> is given.</summary>
    public int? Iters { get; init; }

    /// <summary>Epochs (<c>epochs</c>, a SharpSeg key), or null when <see cref="Iters"/> is given.</summary>
    public int? Epochs { get; init; }

    /// <summary>Initial learning rate (<c>lr_scheduler.learning_rate</c>).</summary>
    public double LearningRate { get; init; } = 0.01;

    /// <summary>Exponent of the polynomial decay (<c>lr_scheduler.power</c>).</summary>
    public double DecayPower { get; init; } = 0.9;

    /// <summary>Learning rate at the last step (<c>lr_scheduler.end_lr</c>).</summary>
    public double EndLearningRate { get; init; }

    /// <summary>Linear warmup steps (<c>lr_scheduler.warmup_iters</c>).</summary>
    public int WarmupSteps { get; init; }

    /// <summary>Learning rate of the first warmup step (<c>lr_scheduler.warmup_start_lr</c>).</summary>
    public double WarmupStartLearningRate { get; init; }

    /// <summary>SGD momentum (<c>optimizer.momentum</c>, PaddleSeg's default 0.9).</summary>
    public double Momentum { get; init; } = 0.9;

    /// <summary>L2 weight decay (<c>optimizer.weight_decay</c>; PaddleSeg's default none = 0). SharpSeg keeps it off norms and biases.</summary>
    public double WeightDecay { get; init; }

    /// <summary>One loss and coefficient per model output (<c>loss</c>), or null for the default cross-entropy.</summary>
    public LossList? Losses { get; init; }

    /// <summary>What SharpSeg does differently from PaddleSeg for this config, or ignored; printed by <c>train --config</c>.</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];

    /// <summary>The merged configuration (after <c>_base_</c> and overrides) as YAML, what <c>train --dry-run</c> prints.</summary>
    public string ResolvedYaml { get; init; } = "";

    /// <summary>
    /// Reads <paramref name="path"/> and its <c>_base_</c> files, applies <paramref name="overrides"/> and resolves
    /// everything (registry names, option values, transforms, losses) without opening data or building the model.
    /// <para>
    /// Inheritance follows PaddleSeg's <c>config.py</c>: <c>_base_</c> is one path or a list, relative to the file naming it,
    /// resolved recursively; the file's keys win over its bases (an earlier base over a later one); mappings merge key by key,
    /// lists and other values replace; a mapping with <c>_inherited_: false</c> replaces the base's mapping whole.
    /// </para>
    /// </summary>
    /// <param name="path">The config file.</param>
    /// <param name="overrides">
    /// Values that replace the file's, as (dotted key path, YAML value text), e.g. <c>("lr_scheduler.learning_rate", "0.005")</c>
    /// or <c>("model.backbone.multi_grid", "[1, 2, 4]")</c>: PaddleSeg's <c>--opts</c>. A path may create a key; a null value removes it;
    /// a path starting with <c>?</c> applies only where its parent mapping exists (e.g. <c>?val_dataset.dataset_root</c>).
    /// </param>
    /// <exception cref="ConfigException">The file cannot be read or a value is wrong; the message names the file, line and key path.</exception>
    public static TrainingConfig Load(string path, IEnumerable<(string KeyPath, string? Value)>? overrides = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string file = Path.GetFullPath(path);
        var tree = ConfigFile.Load(file);
        foreach (var (keyPath, value) in overrides ?? [])
            tree = Override(tree, keyPath, value);
        return Resolve(tree, file);
    }

    private static ConfigMap Override(ConfigMap map, string keyPath, string? value)
    {
        bool optional = keyPath.StartsWith('?');
        if (optional) keyPath = keyPath[1..];
        string[] keys = keyPath.Split('.');
        if (optional && !ParentExists(map, keys)) return map;
        if (keys.Any(k => k.Length == 0))
            throw new ConfigException(CommandLine, 0, keyPath, "is not a dotted key path such as lr_scheduler.learning_rate.");
        return Set(map, keys, value is null ? null : ParseValue(keyPath, value));
    }

    private static bool ParentExists(ConfigMap map, string[] keys)
    {
        ConfigNode? node = map;
        foreach (string key in keys[..^1])
            node = (node as ConfigMap)?[key];
        return node is ConfigMap;
    }

    private static ConfigMap Set(ConfigMap map, ReadOnlySpan<string> keys, ConfigNode? value)
    {
        if (keys.Length == 1)
            return value is null ? map.Without(keys[0]) : map.With(keys[0], value);
        var child = map[keys[0]] as ConfigMap ?? new ConfigMap(CommandLine, 0, []);
        return map.With(keys[0], Set(child, keys[1..], value));
    }

    /// <summary>An override's value text read with the file's YAML rules (so <c>[1, 2, 4]</c> is a list, <c>null</c> a null).</summary>
    private static ConfigNode ParseValue(string keyPath, string text)
    {
        try
        {
            return ConfigFile.ParseText($"value: {text}", CommandLine)["value"]!;
        }
        catch (ConfigException e)
        {
            throw new ConfigException(CommandLine, 0, keyPath, $"'{text}' is not a YAML value ({e.Message}).", e);
        }
    }

    /// <summary>Where an override's value came from, in error messages.</summary>
    private const string CommandLine = "command line";

    private static TrainingConfig Resolve(ConfigMap tree, string file)
    {
        var root = new ConfigSection(tree, "", file);
        var notes = new List<string>();
        foreach (string ignored in IgnoredKeys)
            if (root.Node(ignored) is not null)
                notes.Add($"{ignored}: ignored (PaddleSeg uses it for export and testing; see 'sharpseg predict' and 'sharpseg evaluate').");

        int batchSize = root.Int("batch_size", 1) ?? 1;
        int? iters = root.Int("iters", 1), epochs = root.Int("epochs", 1);
        if (iters is not null && epochs is not null)
            throw root.Error("epochs", "give either iters (PaddleSeg) or epochs, not both.");
        if (iters is null && epochs is null)
            throw root.Missing("iters", "(PaddleSeg's training length in steps; or epochs)");

        var modelSection = root.Section("model") ?? throw root.Missing("model", "(e.g. model: {type: DeepLabV3P, backbone: {type: ResNet50_vd}})");
        var trainSection = root.Section("train_dataset") ?? throw root.Missing("train_dataset", "to train");
        var valSection = root.Section("val_dataset");
        int numClasses = SyncNumClasses(modelSection, trainSection, valSection);

        var (ignoreIndex, lossSection) = (trainSection.Int("ignore_index", 0) ?? 255, root.Section("loss"));
        var lossCoefficients = lossSection?.Numbers("coef");
        var (model, options, pretrained) = PaddleSegTables.ResolveModel(modelSection, numClasses, lossCoefficients);
        var train = ReadDataset(trainSection, "train", numClasses, options.InChannels);
        var val = valSection is null ? null : ReadDataset(valSection, "val", numClasses, options.InChannels);

        var optimizer = root.Section("optimizer");
        string optimizerType = optimizer?.String("type") ?? "sgd";
        if (!optimizerType.Equals("sgd", StringComparison.OrdinalIgnoreCase))
            throw optimizer!.Error("type", $"only sgd (momentum SGD, PaddleSeg's default) is supported from a config, got '{optimizerType}'.");
        double momentum = optimizer?.Double("momentum", 0) ?? 0.9;
        double weightDecay = optimizer?.Double("weight_decay", 0) ?? 0;
        optimizer?.RejectUnknown(["type", "momentum", "weight_decay"]);

        var schedule = root.Section("lr_scheduler") ?? throw root.Missing("lr_scheduler", "(e.g. {type: PolynomialDecay, learning_rate: 0.01})");
        string scheduleType = schedule.RequiredString("type", "(PolynomialDecay)");
        if (scheduleType != "PolynomialDecay")
            throw schedule.Error("type", $"only PolynomialDecay is supported, got '{scheduleType}'.");
        double learningRate = schedule.Double("learning_rate", 0, exclusive: true) ?? throw schedule.Missing("learning_rate", "(the initial learning rate)");
        double power = schedule.Double("power", 0) ?? 0.9;
        double endLr = schedule.Double("end_lr", 0) ?? 0;
        int warmup = schedule.Int("warmup_iters", 0) ?? 0;
        double warmupStart = schedule.Double("warmup_start_lr", 0) ?? 0;
        if (schedule.Node("decay_steps") is not null)
            throw schedule.Error("decay_steps", "is set by SharpSeg to the run's steps after warmup (PaddleSeg's default); remove it.");
        schedule.RejectUnknown(["type", "learning_rate", "power", "end_lr", "warmup_iters", "warmup_start_lr"]);

        LossList? losses = null;
        if (lossSection is not null)
        {
            var types = lossSection.List("types") ?? throw lossSection.Missing("types", "(e.g. types: [{type: CrossEntropyLoss}])");
            var coefficients = lossCoefficients ?? throw lossSection.Missing("coef", "(one weight per model output, e.g. coef: [1])");
            if (types.Items.Count != 1 && types.Items.Count != coefficients.Count)
                throw lossSection.Error("types", $"has {types.Items.Count} entries and coef {coefficients.Count}: give one loss, or one per coef entry (PaddleSeg's rule).");
            var entries = new List<(ISegmentationLoss, float)>();
            for (int i = 0; i < coefficients.Count; i++)
            {
                var item = types.Items[types.Items.Count == 1 ? 0 : i];
                var itemSection = item is ConfigMap map ? new ConfigSection(map, $"loss.types[{(types.Items.Count == 1 ? 0 : i)}]", map.File)
                    : throw new ConfigException(item.File, item.Line, $"loss.types[{i}]", "must be a mapping with a type.");
                entries.Add((PaddleSegTables.CreateLoss(itemSection, numClasses, ignoreIndex, notes), (float)coefficients[i]));
            }
            lossSection.RejectUnknown(["types", "coef"]);
            losses = new LossList(entries);
        }

        root.Accept(IgnoredKeys);
        root.RejectUnknown(TopLevelKeys.Concat(IgnoredKeys).Append(ConfigFile.BaseKey));
        return new TrainingConfig
        {
            SourceFile = file,
            Model = model,
            ModelOptions = options,
            PretrainedWeights = pretrained,
            TrainDataset = train,
            ValDataset = val,
            BatchSize = batchSize,
            Iters = iters,
            Epochs = epochs,
            LearningRate = learningRate,
            DecayPower = power,
            EndLearningRate = endLr,
            WarmupSteps = warmup,
            WarmupStartLearningRate = warmupStart,
            Momentum = momentum,
            WeightDecay = weightDecay,
            Losses = losses,
            Notes = notes,
            ResolvedYaml = ConfigFile.ToYaml(tree),
        };
    }

    /// <summary>PaddleSeg's <c>_check_sync_num_classes</c>: the model's, the datasets' and a benchmark's fixed count must agree.</summary>
    private static int SyncNumClasses(ConfigSection model, ConfigSection train, ConfigSection? val)
    {
        var seen = new List<(int Count, string Where, ConfigSection Section, string Key)>();
        void Add(ConfigSection? section, string key)
        {
            if (section is null) return;
            if (key == "type")
            {
                if (section.String("type") is { } type && PaddleSegTables.DatasetTypes.TryGetValue(type, out int? fixedCount) && fixedCount is { } count)
                    seen.Add((count, $"{section.Path} type {type}", section, key));
            }
            else if (section.Int(key, 1) is { } given)
                seen.Add((given, section.KeyPath(key), section, key));
        }
        Add(model, "num_classes");
        Add(train, "type");
        Add(train, "num_classes");
        Add(val, "type");
        Add(val, "num_classes");
        if (seen.Count == 0)
            throw model.Missing("num_classes", "in model, train_dataset or val_dataset");
        var first = seen[0];
        foreach (var other in seen.Skip(1))
            if (other.Count != first.Count)
                throw other.Section.Error(other.Key, $"gives {other.Count} classes but {first.Where} gives {first.Count}; they must agree.");
        return first.Count;
    }

    private static DatasetConfig ReadDataset(ConfigSection section, string split, int numClasses, int inChannels)
    {
        string type = section.RequiredString("type", $"({string.Join(", ", PaddleSegTables.DatasetTypes.Keys)})");
        if (!PaddleSegTables.DatasetTypes.ContainsKey(type))
            throw section.Error("type", $"unknown dataset type '{type}'; supported: {string.Join(", ", PaddleSegTables.DatasetTypes.Keys)}.");
        string root = section.RequiredString("dataset_root", "(the folder of the data)");
        string mode = section.String("mode") ?? split;
        string[] modes = type == "PascalVOC" && split == "train" ? ["train", "trainval"] : [split];
        if (!modes.Contains(mode))
            throw section.Error("mode", $"must be {string.Join(" or ", modes.Select(m => $"'{m}'"))} in {section.Path}, got '{mode}'.");
        string? list = null;
        string separator = " ";
        int ignoreIndex = 255, channels = inChannels;
        string listKey = split == "train" ? "train_path" : "val_path";
        if (type == "Dataset")
        {
            list = section.RequiredString(listKey, "for type Dataset (the file list)");
            separator = section.String("separator") ?? " ";
            ignoreIndex = section.Int("ignore_index", 0) ?? 255;
            channels = section.Int("img_channels", 1) ?? inChannels;
            if (channels != inChannels)
                throw section.Error("img_channels", $"is {channels} but the model takes {inChannels} input channels; they must agree.");
        }
        else if (type == "OpticDiscSeg")
            list = Path.Combine(root, split == "train" ? "train_list.txt" : "val_list.txt");
        if (type != "Dataset" && section.Int("ignore_index") is { } fixedIgnore && fixedIgnore != 255)
            throw section.Error("ignore_index", $"{type} uses 255, got {fixedIgnore}.");
        if (section.Bool("edge") is true)
            throw section.Error("edge", "edge labels are not supported.");
        var transformList = section.List("transforms") ?? throw section.Missing("transforms", "(e.g. transforms: [{type: Normalize}])");
        Compose transforms;
        try
        {
            transforms = TransformConfig.FromJson(ConfigFile.ToJson(transformList), section.KeyPath("transforms"));
        }
        catch (TransformConfigException e)
        {
            // Point at the entry (and its parameter) the transform reader blamed, in the file that wrote it.
            ConfigNode at = e.EntryIndex is { } index && index < transformList.Items.Count ? transformList.Items[index] : transformList;
            if (e.ParameterName is { } parameter && (at as ConfigMap)?[parameter] is { } value) at = value;
            string keyPath = section.KeyPath("transforms") + (e.EntryIndex is { } i ? $"[{i}]" : "") + (e.ParameterName is { } p ? $".{p}" : "");
            throw new ConfigException(at.File, at.Line, keyPath, (e.TransformName is { } name ? $"{name}: " : "") + e.Problem, e);
        }
        section.Accept("num_classes", "edge");
        section.RejectUnknown(type == "Dataset"
            ? ["type", "dataset_root", listKey, "num_classes", "mode", "separator", "ignore_index", "img_channels", "transforms"]
            : ["type", "dataset_root", "num_classes", "mode", "ignore_index", "transforms"]);
        return new DatasetConfig(type, root, list, numClasses, mode, separator, ignoreIndex, channels, transforms);
    }

    /// <summary>
    /// Epochs of the run for a training set of <paramref name="trainImages"/> images: <see cref="Epochs"/>, or
    /// ⌈<see cref="Iters"/> / steps per epoch⌉ with ⌊images / <see cref="BatchSize"/>⌋ steps per epoch.
    /// </summary>
    /// <exception cref="ConfigException">The training set is smaller than one batch.</exception>
    public int EpochsFor(int trainImages)
    {
        if (Epochs is { } epochs) return epochs;
        int stepsPerEpoch = trainImages / BatchSize;
        if (stepsPerEpoch == 0)
            throw new ConfigException(SourceFile, 0, "batch_size", $"is {BatchSize} but the training set has only {trainImages} images: not one full batch.");
        return (int)Math.Ceiling(Iters!.Value / (double)stepsPerEpoch);
    }

    /// <summary>A line saying how <see cref="Iters"/> maps onto epochs for <paramref name="trainImages"/> images, or null with <see cref="Epochs"/>.</summary>
    public string? DescribeItersMapping(int trainImages)
    {
        if (Iters is not { } iters) return null;
        int steps = trainImages / BatchSize, epochs = EpochsFor(trainImages);
        return string.Create(CultureInfo.InvariantCulture,
            $"iters {iters}: {trainImages} images at batch_size {BatchSize} make {steps} steps per epoch, so {epochs} epochs = {(long)epochs * steps} steps " +
            $"(SharpSeg trains whole epochs; {(long)epochs * steps - iters} steps beyond iters).");
    }

    /// <summary>
    /// Builds the model the config describes (weights initialised from <see cref="Engine.Random"/>; <see cref="PretrainedWeights"/>
    /// are loaded by <see cref="Train"/>). Equivalent to PaddleSeg's <c>cfg.model</c>.
    /// </summary>
    /// <param name="classNames">Class names to save with the model, or null.</param>
    /// <exception cref="ArgumentException">The model refuses an option value (e.g. an output stride its backbone lacks).</exception>
    public Segmenter CreateSegmenter(IReadOnlyList<string>? classNames = null)
    {
        try
        {
            return new Segmenter(Model, ModelOptions.NumClasses, options: ModelOptions, classNames: classNames);
        }
        catch (ArgumentException e)
        {
            throw new ConfigException(SourceFile, 0, "model", e.Message.Split(" (Parameter")[0], e);
        }
    }

    /// <summary>
    /// The <see cref="TrainingOptions"/> this config sets (weight decay, momentum, warmup, end learning rate, losses) on top
    /// of <paramref name="options"/> (seed, workers, checkpoints and the other settings a config does not hold).
    /// </summary>
    public TrainingOptions ApplyTo(TrainingOptions? options = null) => (options ?? new TrainingOptions()) with
    {
        WeightDecay = WeightDecay,
        Momentum = Momentum,
        WarmupSteps = WarmupSteps,
        WarmupStartLearningRate = WarmupStartLearningRate,
        EndLearningRate = EndLearningRate,
        Losses = Losses,
        Loss = null,
        LossCoefficients = null,
    };

    /// <summary>
    /// Opens the datasets, builds the model and trains it: PaddleSeg's <c>tools/train.py --config</c>. The model is seeded
    /// from <see cref="TrainingOptions.Seed"/>; evaluation and checkpoints every <paramref name="saveIntervalEpochs"/> epochs.
    /// </summary>
    /// <returns>The trained segmenter and what training did.</returns>
    public (Segmenter Segmenter, TrainingResult Result) Train(string saveDir = "output", int saveIntervalEpochs = 1, TrainingOptions? options = null,
        IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var train = TrainDataset.Open();
        var val = ValDataset?.Open();
        var resolved = ApplyTo(options);
        Engine.ManualSeed(resolved.Seed);
        var segmenter = CreateSegmenter(train.ClassNames);
        var result = segmenter.Train(EpochsFor(train.Count), train, BatchSize, val, saveIntervalEpochs: saveIntervalEpochs, saveDir: saveDir,
            pretrainWeights: PretrainedWeights, learningRate: LearningRate, lrDecayPower: DecayPower, options: resolved, progress: progress,
            cancellationToken: cancellationToken);
        return (segmenter, result);
    }
}
