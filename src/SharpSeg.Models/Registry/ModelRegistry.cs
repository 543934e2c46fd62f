using System.Reflection;

namespace SharpSeg.Models;

/// <summary>
/// Marks a static factory <c>static IBackbone Create(BackboneOptions options)</c> as the backbone called
/// <paramref name="name"/> (timm's <c>@register_model</c>, PaddleSeg's <c>manager.BACKBONES</c>).
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = true)]
public sealed class RegisterBackboneAttribute(string name) : Attribute
{
    /// <summary>The registry name, e.g. <c>resnet50_vd</c>; looked up ignoring case (<c>ResNet50_vd</c> finds it too).</summary>
    public string Name { get; } = name;

    /// <summary>One line for <c>sharpseg models</c>, e.g. "PaddleSeg ResNet50_vd (deep stem, average-pool shortcuts)".</summary>
    public string Description { get; init; } = "";

    /// <summary>Other names of the same entry (e.g. PaddleX's <c>xception65</c> for <c>xception65_deeplab</c>), also looked up ignoring case.</summary>
    public string[] Aliases { get; init; } = [];
}

/// <summary>
/// Marks a static factory <c>static SegmentationModel Create(ModelOptions options)</c> as the model called
/// <paramref name="name"/> (PaddleSeg's <c>manager.MODELS</c>). The factory receives the options as given: a model
/// accepts its own options record or the base <see cref="ModelOptions"/> (then it uses its defaults).
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = true)]
public sealed class RegisterModelAttribute(string name) : Attribute
{
    /// <summary>The registry name, e.g. <c>deeplabv3p</c>; looked up ignoring case.</summary>
    public string Name { get; } = name;

    /// <summary>One line for <c>sharpseg models</c>, e.g. "PaddleX DeepLabv3p: ASPP encoder and a reduction-4 decoder".</summary>
    public string Description { get; init; } = "";

    /// <summary>Other names of the same model, also looked up ignoring case.</summary>
    public string[] Aliases { get; init; } = [];

    /// <summary>
    /// The model's own options record (e.g. <c>typeof(DeepLabV3PlusOptions)</c>); null = the base <see cref="ModelOptions"/>.
    /// Saved options are read back as this type by registry name, so checkpoints never depend on a CLR type name.
    /// </summary>
    public Type? Options { get; init; }
}

/// <summary>What kind of entry a registry name refers to.</summary>
public enum RegistryKind
{
    /// <summary>A feature extractor (<see cref="IBackbone"/>).</summary>
    Backbone,
    /// <summary>A segmentation model (<see cref="SegmentationModel"/>).</summary>
    Model,
}

/// <summary>One registered backbone or model: what <c>sharpseg models</c> lists and what Training and Cli read instead of naming models.</summary>
/// <param name="Name">The canonical registry name (lower case).</param>
/// <param name="Kind">Backbone or model.</param>
/// <param name="Factory">The method that builds it (for documentation and errors).</param>
/// <param name="OptionsType">The options record the entry reads: <see cref="BackboneOptions"/> for backbones, a model's own record or <see cref="ModelOptions"/>.</param>
/// <param name="Description">One line describing it.</param>
/// <param name="Aliases">Other names that find it (PaddleX's or torchvision's spelling).</param>
public sealed record RegistryEntry(string Name, RegistryKind Kind, MethodInfo Factory, Type OptionsType, string Description, IReadOnlyList<string> Aliases)
{
    /// <summary>Whether the model is built on a registered backbone chosen by name (its options derive from <see cref="BackboneModelOptions"/>).</summary>
    public bool TakesBackbone => Kind == RegistryKind.Model && typeof(BackboneModelOptions).IsAssignableFrom(OptionsType);

    /// <summary>The options a model takes, with their types and defaults (empty for a backbone).</summary>
    public IReadOnlyList<ModelOptionInfo> Options => Kind == RegistryKind.Model ? ModelOptionsBinder.Describe(OptionsType) : [];
}

/// <summary>
/// Every backbone and model of SharpSeg.Models, found once by scanning this assembly for
/// <see cref="RegisterBackboneAttribute"/> and <see cref="RegisterModelAttribute"/> factories. Names and aliases are looked
/// up ignoring case. Tests iterate <see cref="List"/> so a new entry is tested automatically (timm's registry-wide tests).
/// </summary>
public static class ModelRegistry
{
    /// <summary>The model a user gets without naming one: PaddleX's <c>DeepLabv3p</c>.</summary>
    public const string DefaultModel = "deeplabv3p";

    private static readonly Lazy<(IReadOnlyList<RegistryEntry> Entries, Dictionary<string, RegistryEntry> ByName)> Registry = new(Scan);

    /// <summary>All registered entries, sorted by kind and name.</summary>
    public static IReadOnlyList<RegistryEntry> List() => Registry.Value.Entries;

    /// <summary>The registered names of one kind, sorted.</summary>
    public static IReadOnlyList<string> Names(RegistryKind kind) => [.. List().Where(e => e.Kind == kind).Select(e => e.Name)];

    /// <summary>The entry called <paramref name="name"/> (or one of its aliases, in any case), or null.</summary>
    public static RegistryEntry? Find(string name, RegistryKind kind)
    {
        ArgumentNullException.ThrowIfNull(name);
        return Registry.Value.ByName.TryGetValue(name, out var entry) && entry.Kind == kind ? entry : null;
    }

    /// <summary>The entry called <paramref name="name"/> (or one of its aliases, in any case).</summary>
    /// <exception cref="ArgumentException">No entry of that kind has that name; the message lists the registered ones.</exception>
    public static RegistryEntry Get(string name, RegistryKind kind) => Find(name, kind) ?? throw new ArgumentException(
        $"Unknown {kind.ToString().ToLowerInvariant()} '{name}'. Registered: {string.Join(", ", Names(kind))}.", nameof(name));

    /// <summary>Builds the backbone called <paramref name="name"/>. Equivalent to <c>timm.create_model(name, features_only=True)</c>.</summary>
    public static IBackbone CreateBackbone(string name, BackboneOptions? options = null) =>
        (IBackbone)Invoke(Get(name, RegistryKind.Backbone), options ?? new BackboneOptions());

    /// <summary>The options record the model called <paramref name="name"/> reads (its <see cref="RegisterModelAttribute.Options"/>).</summary>
    /// <exception cref="ArgumentException">No model has that name.</exception>
    public static Type ModelOptionsType(string name) => Get(name, RegistryKind.Model).OptionsType;

    /// <summary>
    /// The options of model <paramref name="name"/> for <paramref name="numClasses"/> classes with every other value at the
    /// model's default (PaddleX's constructor defaults, e.g. DeepLabV3+ on <c>MobileNetV2_x1.0</c> at output stride 16).
    /// </summary>
    public static ModelOptions DefaultOptions(string name, int numClasses) =>
        ModelOptionsBinder.Create(ModelOptionsType(name), numClasses, new Dictionary<string, string>());

    /// <summary>Builds the segmentation model called <paramref name="name"/>.</summary>
    public static SegmentationModel CreateModel(string name, ModelOptions options) =>
        (SegmentationModel)Invoke(Get(name, RegistryKind.Model), options);

    private static object Invoke(RegistryEntry entry, object options)
    {
        try
        {
            return entry.Factory.Invoke(null, [options])!;
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerException);
            throw;
        }
    }

    private static (IReadOnlyList<RegistryEntry>, Dictionary<string, RegistryEntry>) Scan()
    {
        var entries = new List<RegistryEntry>();
        foreach (var type in typeof(ModelRegistry).Assembly.GetTypes())
            foreach (var method in type.GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic))
            {
                foreach (var a in method.GetCustomAttributes<RegisterBackboneAttribute>())
                    entries.Add(new RegistryEntry(a.Name, RegistryKind.Backbone, Validated(method, typeof(BackboneOptions), typeof(IBackbone)),
                        typeof(BackboneOptions), a.Description, a.Aliases));
                foreach (var a in method.GetCustomAttributes<RegisterModelAttribute>())
                    entries.Add(new RegistryEntry(a.Name, RegistryKind.Model, Validated(method, typeof(ModelOptions), typeof(SegmentationModel)),
                        ValidatedOptions(a), a.Description, a.Aliases));
            }
        var byName = new Dictionary<string, RegistryEntry>(StringComparer.OrdinalIgnoreCase);
        foreach (var entry in entries)
        {
            if (entry.Name != entry.Name.ToLowerInvariant())
                throw new InvalidOperationException($"Registry name '{entry.Name}' ({entry.Factory.DeclaringType?.Name}) must be lower case; lookups ignore case.");
            foreach (string name in entry.Aliases.Prepend(entry.Name))
                if (!byName.TryAdd(name, entry))
                    throw new InvalidOperationException(
                        $"Registry name '{name}' is used by both {byName[name].Factory.DeclaringType?.Name}.{byName[name].Name} and {entry.Factory.DeclaringType?.Name}.{entry.Name}.");
        }
        return (entries.OrderBy(e => e.Kind).ThenBy(e => e.Name, StringComparer.Ordinal).ToArray(), byName);
    }

    private static MethodInfo Validated(MethodInfo method, Type options, Type result)
    {
        var parameters = method.GetParameters();
        if (parameters.Length != 1 || parameters[0].ParameterType != options || !result.IsAssignableFrom(method.ReturnType))
            throw new InvalidOperationException(
                $"{method.DeclaringType?.Name}.{method.Name} must be static {result.Name} {method.Name}({options.Name} options) to be registered.");
        return method;
    }

    private static Type ValidatedOptions(RegisterModelAttribute attribute) =>
        attribute.Options is null ? typeof(ModelOptions)
        : typeof(ModelOptions).IsAssignableFrom(attribute.Options) && !attribute.Options.IsAbstract ? attribute.Options
        : throw new InvalidOperationException($"Model '{attribute.Name}' names options type {attribute.Options.Name}, which is not a ModelOptions record.");
}
