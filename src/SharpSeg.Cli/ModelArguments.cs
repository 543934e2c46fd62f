using System.CommandLine;
using SharpSeg.Models;

namespace SharpSeg.Cli;

/// <summary>
/// The options that choose and configure a model: <c>--model</c>, the named model options (<c>--backbone</c>,
/// <c>--output-stride</c>, <c>--upsample</c>, <c>--width</c>, <c>--multi-loss-weight</c>, <c>--in-channels</c>), any other option of the model's
/// options record with <c>--model-option NAME=VALUE</c>, and PaddleX's <c>--use-bce-loss</c>/<c>--use-dice-loss</c>, which
/// also pick the head. Nothing here knows a model: the registry says which options each model takes
/// (<see cref="ModelOptionsBinder"/>), and a model that lacks a given option is a usage error listing the ones it has.
/// </summary>
internal sealed class ModelArguments
{
    public Option<string> Model { get; } = new("--model", "-m")
    {
        Description = "Registered model name (see 'sharpseg models'), e.g. deeplabv3p (the default), unet, hrnet, fastscnn.",
        DefaultValueFactory = _ => ModelRegistry.DefaultModel,
    };

    public Option<string?> Backbone { get; } = new("--backbone", "-b")
    {
        Description = "Backbone of a model that takes one (see 'sharpseg models'), e.g. MobileNetV2_x1.0 (deeplabv3p's default), resnet50_vd, xception65.",
    };

    public Option<string?> OutputStride { get; } = new("--output-stride")
    {
        Description = "Backbone output stride of a model that takes one: 8 or 16 for deeplabv3p (default 16).",
    };

    public Option<string?> Upsample { get; } = new("--upsample")
    {
        Description = "UNet decoder upsampling: bilinear (default) or deconv (PaddleX upsample_mode).",
    };

    public Option<string?> Width { get; } = new("--width")
    {
        Description = "HRNet width (PaddleX width): 18 (default), 30, 32, 40, 44, 48, 60, 64, 18_small_v1 or 18_small_v2.",
    };

    public Option<string?> InChannels { get; } = new("--in-channels")
    {
        Description = "Input bands of the model (PaddleX's input_channel), e.g. 4 for RGB+NIR or multi-band TIFF; default 3.",
    };

    public Option<string?> MultiLossWeight { get; } = new("--multi-loss-weight")
    {
        Description = "Fast-SCNN loss weights of the fusion, higher and lower branches, 1 to 3 values (PaddleX multi_loss_weight), e.g. 1,0.4,0.4.",
    };

    public Option<string[]> ModelOption { get; } = new("--model-option")
    {
        Description = "Any other option of the model as NAME=VALUE, repeatable (names as 'sharpseg models --options' lists them), e.g. aspp-out-channels=128.",
        AllowMultipleArgumentsPerToken = false,
    };

    public Option<bool> UseBceLoss { get; } = new("--use-bce-loss")
    {
        Description = "Binary cross-entropy loss (PaddleX use_bce_loss): two-class data only; a new model gets PaddleX's one-channel sigmoid head.",
    };

    public Option<bool> UseDiceLoss { get; } = new("--use-dice-loss")
    {
        Description = "Dice loss (PaddleX use_dice_loss), alone or added to --use-bce-loss: two-class data only, one-channel sigmoid head as above.",
    };

    /// <summary>The named model options and the options-record parameter each sets.</summary>
    private (Option<string?> Option, string Parameter)[] NamedOptions =>
    [
        (Backbone, nameof(BackboneModelOptions.Backbone)), (OutputStride, nameof(BackboneModelOptions.OutputStride)),
        (Upsample, "UpsampleMode"), (Width, "Width"), (MultiLossWeight, "MultiLossWeight"),
        (InChannels, nameof(ModelOptions.InChannels)),
    ];

    /// <summary>Adds the model options to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        command.AddOptions(Model);
        foreach (var (option, _) in NamedOptions) command.AddOptions(option);
        command.AddOptions(ModelOption, UseBceLoss, UseDiceLoss);
    }

    /// <summary>
    /// Whether <c>--use-bce-loss</c> or <c>--use-dice-loss</c> is given, which PaddleX 1.x answers with a one-channel
    /// binary head for two-class data.
    /// </summary>
    /// <exception cref="UsageException">A binary loss is asked for data of other than two classes.</exception>
    public bool UsesBinaryLoss(ParseResult parse, int numClasses)
    {
        bool binary = parse.GetValue(UseBceLoss) || parse.GetValue(UseDiceLoss);
        if (binary && numClasses != 2)
            throw new UsageException(
                $"--use-bce-loss and --use-dice-loss apply to two-class data only (PaddleX's one-channel binary head), but the dataset has {numClasses} classes.");
        return binary;
    }

    /// <summary>
    /// The model options given on the command line, as (the option as typed, options-record parameter, value text), in
    /// the order the named options are declared, then <c>--model-option</c> entries.
    /// </summary>
    /// <exception cref="UsageException">A <c>--model-option</c> is not NAME=VALUE.</exception>
    public IReadOnlyList<(string Label, string Parameter, string Value)> GivenOptions(ParseResult parse)
    {
        var given = new List<(string, string, string)>();
        foreach (var (option, parameter) in NamedOptions)
            if (parse.GetValue(option) is { } value)
                given.Add((option.Name, parameter, value));
        foreach (string entry in parse.GetValue(ModelOption) ?? [])
        {
            int equals = entry.IndexOf('=');
            if (equals <= 0)
                throw new UsageException($"--model-option must be NAME=VALUE, got '{entry}'.");
            given.Add(($"--model-option {entry[..equals]}", entry[..equals].Trim(), entry[(equals + 1)..].Trim()));
        }
        return given;
    }

    /// <summary>
    /// The model name and its options record for <paramref name="numClasses"/> classes: one output channel for two
    /// classes with a binary loss (<see cref="UsesBinaryLoss"/>), as PaddleX 1.x builds it.
    /// </summary>
    /// <exception cref="UsageException">
    /// The model or backbone is not registered, an option does not apply to the model or does not parse, or a binary loss
    /// is asked for other than two classes.
    /// </exception>
    public (string Model, ModelOptions Options) Resolve(ParseResult parse, int numClasses)
    {
        if (UsesBinaryLoss(parse, numClasses)) numClasses = 1;
        var entry = RequireRegistered(parse.GetValue(Model)!, RegistryKind.Model, "--model");
        if (parse.GetValue(Backbone) is { } backbone)
            RequireRegistered(backbone, RegistryKind.Backbone, "--backbone");
        var given = GivenOptions(parse);
        var accepted = ModelOptionsBinder.Describe(entry.OptionsType);
        foreach (var (label, parameter, _) in given)
            if (!accepted.Any(o => string.Equals(o.Name, parameter.Replace("-", "").Replace("_", ""), StringComparison.OrdinalIgnoreCase)))
                throw new UsageException(
                    $"{label} does not apply to model '{entry.Name}'; its options are {string.Join(", ", accepted.Select(o => o.CliName))}" +
                    (entry.TakesBackbone ? "." : " (it takes no backbone)."));
        try
        {
            var options = ModelOptionsBinder.Create(entry.OptionsType, numClasses, given.ToDictionary(g => g.Parameter, g => g.Value, StringComparer.OrdinalIgnoreCase));
            return (entry.Name, options);
        }
        catch (ArgumentException e)
        {
            throw new UsageException($"--model {entry.Name}: {e.Message.Split(" (Parameter")[0]}");
        }
    }

    /// <summary>The registry entry of <paramref name="name"/>; a <see cref="UsageException"/> listing the registered names when there is none.</summary>
    public static RegistryEntry RequireRegistered(string name, RegistryKind kind, string optionName) =>
        ModelRegistry.Find(name, kind) ?? throw new UsageException(
            $"{optionName}: unknown {(kind == RegistryKind.Model ? "model" : "backbone")} '{name}'. Registered: {string.Join(", ", ModelRegistry.Names(kind))}.");
}
