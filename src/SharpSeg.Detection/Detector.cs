using System.Text.Json;
using System.Text.Json.Serialization;
using SharpSeg.Detection.Models;
using SharpSeg.Training.Checkpoints;

namespace SharpSeg.Detection;

/// <summary>
/// A detection model with its construction settings and class names, ready to train, evaluate, predict and save: the
/// detection counterpart of <see cref="SharpSeg.Training.Segmenter"/>, with the same checkpoint folders, save-folder lock,
/// <c>metrics.jsonl</c>, TensorBoard files and resume rules. Equivalent to torchvision's detection reference scripts
/// (<c>references/detection/train.py</c>) around <c>torchvision.models.detection.fasterrcnn_resnet50_fpn</c>, and to
/// icevision's model + learner.
/// </summary>
public sealed partial class Detector
{
    /// <summary>Builds a freshly initialised model by registry name (see <see cref="DetectionModelRegistry"/>).</summary>
    /// <param name="model">Model name, e.g. <c>faster_rcnn</c>.</param>
    /// <param name="numClasses">Classes including the background (torchvision's <c>num_classes</c>).</param>
    /// <param name="backbone">Backbone name, e.g. <c>resnet50_fpn</c>; null = the model's default (<see cref="DetectionModelRegistry.DefaultBackboneFor"/>).</param>
    /// <param name="options">Image sizes, head widths, sample counts; null = torchvision's defaults.</param>
    /// <param name="classNames">Names by label, index 0 the background; null = <c>background</c>, <c>class1</c>, ….</param>
    /// <exception cref="ArgumentException">An unknown model or backbone, or class names that do not match the class count.</exception>
    public Detector(string model, int numClasses, string? backbone = null, DetectionModelOptions? options = null,
        IReadOnlyList<string>? classNames = null)
    {
        ModelOptions = options ?? new DetectionModelOptions();
        Model = DetectionModelRegistry.Create(model, numClasses, backbone, ModelOptions);
        ModelName = model;
        BackboneName = backbone ?? DetectionModelRegistry.DefaultBackboneFor(model);
        ClassNames = classNames is null
            ? ["background", .. Enumerable.Range(1, numClasses - 1).Select(i => $"class{i}")]
            : classNames.Count == numClasses
                ? [.. classNames]
                : throw new ArgumentException($"Detector: {classNames.Count} class names for {numClasses} classes (name index 0 the background).", nameof(classNames));
    }

    /// <summary>The registry name of the model (<c>faster_rcnn</c>).</summary>
    public string ModelName { get; }

    /// <summary>The registry name of the backbone (<c>resnet50_fpn</c>).</summary>
    public string BackboneName { get; }

    /// <summary>The construction settings.</summary>
    public DetectionModelOptions ModelOptions { get; }

    /// <summary>The network.</summary>
    public DetectionModel Model { get; }

    /// <summary>Classes including the background.</summary>
    public int NumClasses => Model.NumClasses;

    /// <summary>Class names by label; index 0 is the background.</summary>
    public IReadOnlyList<string> ClassNames { get; private set; }

    /// <summary>
    /// Saves the weights with the model name, backbone, construction settings and class names as a checkpoint folder
    /// (<c>model.safetensors</c> + <c>state.json</c>, written atomically), which <see cref="Load"/> rebuilds. Equivalent to
    /// <c>torch.save(model.state_dict())</c> plus the arguments needed to rebuild the model.
    /// </summary>
    public void Save(string folder) => Checkpoint.Save(folder, Model, NewState());

    /// <summary>
    /// Rebuilds a detector saved by <see cref="Save"/> or written by <see cref="Train"/> (<c>epoch_N</c>, <c>best_model</c>).
    /// </summary>
    /// <exception cref="CheckpointException">The folder is not a detector checkpoint, or its weights do not fit the recorded model.</exception>
    public static Detector Load(string folder)
    {
        var loaded = Checkpoint.Read(folder);
        var settings = ReadSettings(loaded.State, loaded.Folder);
        Detector detector;
        try
        {
            detector = new Detector(loaded.State.ModelName, loaded.State.NumClasses, settings.Backbone, settings.Options, loaded.State.ClassNames);
        }
        catch (ArgumentException e)
        {
            throw new CheckpointException(loaded.Folder, $"its recorded model cannot be built: {e.Message}", e);
        }
        loaded.Restore(detector.Model);
        return detector;
    }

    internal CheckpointState NewState() => new()
    {
        ModelName = ModelName,
        NumClasses = NumClasses,
        ModelOptionsJson = JsonSerializer.Serialize(new DetectorSettings(BackboneName, ModelOptions), SettingsJson),
        ClassNames = ClassNames,
    };

    internal static DetectorSettings ReadSettings(CheckpointState state, string folder)
    {
        try
        {
            return state.ModelOptionsJson is { } json
                ? JsonSerializer.Deserialize<DetectorSettings>(json, SettingsJson) ?? throw new JsonException("null settings")
                : throw new JsonException("no model_options: it was not written by a Detector");
        }
        catch (JsonException e)
        {
            throw new CheckpointException(folder, $"its detector settings cannot be read ({e.Message}).", e);
        }
    }

    private static readonly JsonSerializerOptions SettingsJson = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>What a checkpoint records besides the model name and class count.</summary>
    internal sealed record DetectorSettings(string Backbone, DetectionModelOptions Options);
}
