using System.CommandLine;
using SharpSeg.Models;

namespace SharpSeg.Cli;

/// <summary>
/// The options that choose and configure a model (<c>--model</c>, <c>--backbone</c>, <c>--output-stride</c>,
/// <c>--upsample</c>, and PaddleX's <c>--use-bce-loss</c>/<c>--use-dice-loss</c>, which also pick the head), checked
/// against <see cref="ModelRegistry"/> before anything is built so a typo is a usage error that lists the registered names.
/// </summary>
internal sealed class ModelArguments
{
    public Option<string> Model { get; } = new("--model", "-m")
    {
        Description = "Registered model name (see 'sharpseg models'): deeplabv3p, unet, …",
        DefaultValueFactory = _ => "deeplabv3p",
    };

    public Option<string?> Backbone { get; } = new("--backbone", "-b")
    {
        Description = "Backbone of DeepLabV3+ (see 'sharpseg models'), e.g. resnet50_vd (the default) or resnet18_vd.",
    };

    public Option<int> OutputStride { get; } = new("--output-stride")
    {
        Description = "DeepLabV3+ backbone output stride: 8 or 16.",
        DefaultValueFactory = _ => 16,
    };

    public Option<string> Upsample { get; } = new("--upsample")
    {
        Description = "UNet decoder upsampling: bilinear or deconv (PaddleX upsample_mode).",
        DefaultValueFactory = _ => "bilinear",
    };

    public Option<bool> UseBceLoss { get; } = new("--use-bce-loss")
    {
        Description = "Binary cross-entropy loss (PaddleX use_bce_loss): two-class data only; a new model gets PaddleX's one-channel sigmoid head.",
    };

    public Option<bool> UseDiceLoss { get; } = new("--use-dice-loss")
    {
        Description = "Dice loss (PaddleX use_dice_loss), alone or added to --use-bce-loss: two-class data only, one-channel sigmoid head as above.",
    };

    /// <summary>Adds the model options to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        OutputStride.AcceptOnlyFromAmong("8", "16");
        Upsample.AcceptOnlyFromAmong("bilinear", "deconv");
        command.Options.Add(Model);
        command.Options.Add(Backbone);
        command.Options.Add(OutputStride);
        command.Options.Add(Upsample);
        command.Options.Add(UseBceLoss);
        command.Options.Add(UseDiceLoss);
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
    /// The model name and its options record for <paramref name="numClasses"/> classes: one output channel for two
    /// classes with a binary loss (<see cref="UsesBinaryLoss"/>), as PaddleX 1.x builds it.
    /// </summary>
    /// <exception cref="UsageException">
    /// The model or backbone is not registered, a backbone is given to a model without one, or a binary loss is asked for
    /// other than two classes.
    /// </exception>
    public (string Model, ModelOptions Options) Resolve(ParseResult parse, int numClasses)
    {
        if (UsesBinaryLoss(parse, numClasses)) numClasses = 1;
        string model = parse.GetValue(Model)!;
        string? backbone = parse.GetValue(Backbone);
        RequireRegistered(model, RegistryKind.Model, "--model");
        if (backbone is not null)
            RequireRegistered(backbone, RegistryKind.Backbone, "--backbone");
        ModelOptions options = model switch
        {
            "deeplabv3p" => new DeepLabV3PlusOptions(numClasses, Backbone: backbone ?? "resnet50_vd", OutputStride: parse.GetValue(OutputStride)),
            "unet" => new UNetOptions(numClasses,
                UpsampleMode: parse.GetValue(Upsample) == "deconv" ? UNetUpsampleMode.TransposedConv : UNetUpsampleMode.Bilinear),
            _ => new ModelOptions(numClasses),
        };
        if (backbone is not null && options is not DeepLabV3PlusOptions)
            throw new UsageException($"--backbone applies to deeplabv3p only; model '{model}' has a fixed encoder.");
        return (model, options);
    }

    /// <summary>Throws a <see cref="UsageException"/> listing the registered names when <paramref name="name"/> is not one.</summary>
    public static void RequireRegistered(string name, RegistryKind kind, string optionName)
    {
        var known = ModelRegistry.List().Where(e => e.Kind == kind).Select(e => e.Name).ToList();
        if (!known.Contains(name, StringComparer.Ordinal))
            throw new UsageException(
                $"{optionName}: unknown {(kind == RegistryKind.Model ? "model" : "backbone")} '{name}'. Registered: {string.Join(", ", known)}.");
    }
}
