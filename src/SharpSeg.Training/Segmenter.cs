using SharpSeg.Data.Datasets;
using SharpSeg.Data;
using SharpSeg.Data.Transforms;
using SharpSeg.Models;
using SharpSeg.Nn.Optim;
using SharpSeg.Training.Checkpoints;
using SharpSeg.Training.Inference;
using SharpSeg.Training.Metrics;

namespace SharpSeg.Training;

/// <summary>
/// A segmentation model with everything to train, evaluate, save and predict with it, in the shape of PaddleX 1.x's
/// segmenters (<c>paddlex.seg.DeepLabv3p(num_classes, backbone, …)</c> with <c>train</c>, <c>evaluate</c>,
/// <c>predict</c>, <c>batch_predict</c>, <c>overlap_tile_predict</c>, <c>save_model</c> and <c>paddlex.load_model</c>).
/// Not thread-safe: one call at a time.
/// </summary>
public sealed partial class Segmenter
{
    /// <summary>
    /// Builds the registered model <paramref name="model"/> (e.g. <c>deeplabv3p</c>, <c>unet</c>, <c>hrnet</c>; any case or alias). Equivalent to
    /// <c>paddlex.seg.DeepLabv3p(num_classes=…, backbone=…)</c>. Weights are initialised from <see cref="Engine.Random"/>
    /// (seed it with <see cref="Engine.ManualSeed"/> for a reproducible start).
    /// </summary>
    /// <param name="model">Registry name of the model (<see cref="ModelRegistry"/>).</param>
    /// <param name="numClasses">
    /// Logit channels, overriding <see cref="ModelOptions.NumClasses"/> of <paramref name="options"/>: the class count, or
    /// 1 for PaddleX 1.x's one-channel head of a two-class problem (what <c>num_classes=2</c> with <c>use_bce_loss</c> or
    /// <c>use_dice_loss</c> builds; smp's <c>classes=1</c>), trained with BCE and/or Dice loss (see <see cref="HasBinaryHead"/>).
    /// </param>
    /// <param name="backbone">Registry name of the backbone for models that take one (e.g. <c>resnet50_vd</c>); null = the options' or the model's default.</param>
    /// <param name="options">The model's own options record (its registry entry's <see cref="RegistryEntry.OptionsType"/>); null = the model's defaults.</param>
    /// <param name="classNames">Class names in id order (PaddleX's <c>labels</c>), saved with checkpoints; null = none. Two for a binary head.</param>
    /// <exception cref="ArgumentException">The model is unknown, takes no backbone, or the class names do not match the class count.</exception>
    public Segmenter(string model, int numClasses, string? backbone = null, ModelOptions? options = null, IReadOnlyList<string>? classNames = null)
        : this(ModelRegistry.CreateModel(model, ResolveOptions(model, numClasses, backbone, options)), ModelRegistry.Get(model, RegistryKind.Model).Name,
            classNames)
    {
    }

    /// <summary>
    /// Wraps an already built model. <paramref name="modelName"/> is saved with checkpoints; <see cref="Load"/> can
    /// rebuild the model only when it is a registry name and the model's options record describes it. A model of one output
    /// channel is a binary head predicting two classes (see <see cref="HasBinaryHead"/>).
    /// </summary>
    /// <exception cref="ArgumentException">The name is empty or the class names do not match the class count.</exception>
    public Segmenter(SegmentationModel model, string modelName, IReadOnlyList<string>? classNames = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(modelName);
        int numClasses = ClassesOf(model.NumClasses);
        if (classNames is not null && classNames.Count != numClasses)
            throw new ArgumentException(
                $"Segmenter: {classNames.Count} class names given for a model of {numClasses} classes" +
                (model.NumClasses == 1 ? " (its one-channel binary head predicts background and foreground)." : "."), nameof(classNames));
        Model = model;
        ModelName = modelName;
        ClassNames = classNames is null ? null : [.. classNames];
    }

    /// <summary>The network.</summary>
    public SegmentationModel Model { get; }

    /// <summary>Registry name of the model, saved with checkpoints (PaddleX's <c>model.yml</c> <c>Model</c>).</summary>
    public string ModelName { get; }

    /// <summary>Classes predicted: the model's logit channels, or 2 for a <see cref="HasBinaryHead">binary head</see>.</summary>
    public int NumClasses => ClassesOf(Model.NumClasses);

    /// <summary>
    /// Whether the model has one output channel, a single foreground logit l for two classes: PaddleX 1.x's head for
    /// <c>num_classes=2</c> with <c>use_bce_loss</c>/<c>use_dice_loss</c> (mmseg's <c>out_channels=1, use_sigmoid=True</c>).
    /// It trains with BCE and/or Dice loss; prediction and evaluation see the two classes [1 − σ(l), σ(l)], label 1 where
    /// σ(l) &gt; 0.5.
    /// </summary>
    public bool HasBinaryHead => Model.NumClasses == 1;

    /// <summary>Class names in id order, or null (PaddleX's <c>labels</c>).</summary>
    public IReadOnlyList<string>? ClassNames { get; private set; }

    /// <summary>
    /// The transforms every image goes through before the model at prediction time, saved with the model: PaddleX 1.x's
    /// <c>test_transforms</c> (the <c>Transforms</c> list of <c>model.yml</c>), e.g. <c>Compose(Resize(512, 512), Normalize())</c>.
    /// <see cref="Predict(Image, TestTimeAugmentation?)"/> and the other prediction methods apply them, run the model, and undo their resizes and paddings
    /// on the outputs (the label map with nearest neighbour, the score map bilinearly), so predictions are at the original
    /// image size. Null = images are fed as float samples unchanged (the model pads to its size divisor itself).
    /// <see cref="Train"/> sets them when they are null: the evaluation dataset's transforms, or else the training
    /// transforms' <see cref="Normalize"/> and <see cref="Clip"/>.
    /// </summary>
    /// <exception cref="ArgumentException">Set to a transform whose result is random (e.g. <see cref="RandomHorizontalFlip"/>).</exception>
    public ISegTransform? Transforms
    {
        get => _transforms;
        set => _transforms = value is not null && TransformConfig.IsRandom(value)
            ? throw new ArgumentException(
                $"Segmenter.Transforms: prediction transforms must be deterministic, but {TransformConfig.ToJson(value)} contains a random transform.",
                nameof(value))
            : value;
    }

    private ISegTransform? _transforms;

    /// <summary>
    /// Saves the model for prediction (weights, model name and options, class names, <see cref="Transforms"/>) to
    /// <paramref name="folder"/> atomically, without optimizer state. Equivalent to PaddleX's <c>save_model(save_dir)</c>.
    /// </summary>
    public void Save(string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        Checkpoint.Save(folder, Model, DescribeModel());
    }

    /// <summary>
    /// Rebuilds a segmenter from a folder written by <see cref="Save"/> or by training (<c>epoch_N</c>,
    /// <c>best_model</c>): the registered model from its saved options, its weights, class names and prediction
    /// transforms. Equivalent to <c>paddlex.load_model(model_dir)</c>. The model is left in evaluation mode.
    /// </summary>
    /// <exception cref="CheckpointException">The folder is not a valid checkpoint, or its weights do not fit the model it names.</exception>
    public static Segmenter Load(string folder)
    {
        var loaded = Checkpoint.Read(folder);
        var state = loaded.State;
        ModelOptions options;
        SegmentationModel model;
        try
        {
            options = state.ModelOptionsJson is null ? new ModelOptions(state.NumClasses) : ModelOptionsJson.Deserialize(state.ModelOptionsJson, state.ModelName);
            model = ModelRegistry.CreateModel(state.ModelName, options);
        }
        catch (ArgumentException e)
        {
            throw new CheckpointException(loaded.Folder, $"its model '{state.ModelName}' cannot be rebuilt: {e.Message}", e);
        }
        if (model.NumClasses != state.NumClasses)
            throw new CheckpointException(loaded.Folder, $"state.json says {state.NumClasses} classes but its model options give {model.NumClasses}.");
        loaded.Restore(model);
        model.Eval();
        var segmenter = new Segmenter(model, state.ModelName,
            state.ClassNames is { Count: > 0 } names && names.Count == ClassesOf(state.NumClasses) ? names : null)
        {
            Transforms = ReadTransforms(state.TransformsJson, loaded.Folder),
        };
        return segmenter;
    }

    /// <summary>
    /// The part of a checkpoint's state that describes the model (name, options, classes, transforms). Its class count
    /// is the model options' (logit channels: 1 for a binary head), so state and options always agree.
    /// </summary>
    private CheckpointState DescribeModel() => new()
    {
        ModelName = ModelName,
        NumClasses = Model.NumClasses,
        ModelOptionsJson = ModelOptionsJson.Serialize(Model.Options),
        ClassNames = ClassNames,
        TransformsJson = TransformConfig.ToJson(Transforms),
    };

    /// <summary>Classes a model of <paramref name="logitChannels"/> output channels predicts: one channel is a binary head.</summary>
    private static int ClassesOf(int logitChannels) => logitChannels == 1 ? 2 : logitChannels;

    private static ISegTransform? ReadTransforms(string? json, string folder)
    {
        if (json is null) return null;
        Compose transforms;
        try
        {
            transforms = TransformConfig.FromJson(json, Path.Combine(folder, Checkpoint.StateFileName));
        }
        catch (TransformConfigException e)
        {
            throw new CheckpointException(folder, $"its prediction transforms cannot be rebuilt: {e.Message}", e);
        }
        if (TransformConfig.IsRandom(transforms))
            throw new CheckpointException(folder, $"its prediction transforms {json} contain a random transform.");
        return transforms.Transforms.Count == 0 ? null : transforms;
    }

    private static ModelOptions ResolveOptions(string model, int numClasses, string? backbone, ModelOptions? options)
    {
        ArgumentException.ThrowIfNullOrEmpty(model);
        ArgumentOutOfRangeException.ThrowIfLessThan(numClasses, 1, nameof(numClasses));
        var resolved = options is null ? ModelRegistry.DefaultOptions(model, numClasses) : options with { NumClasses = numClasses };
        if (backbone is null) return resolved;
        return resolved is BackboneModelOptions withBackbone
            ? withBackbone with { Backbone = backbone }
            : throw new ArgumentException(
                $"Segmenter: model '{model}' takes no backbone (got '{backbone}'); models that do: " +
                $"{string.Join(", ", ModelRegistry.List().Where(e => e.TakesBackbone).Select(e => e.Name))}.", nameof(backbone));
    }}
