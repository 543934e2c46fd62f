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

/// <summary>One registered name.</summary>
/// <param name="Name">The registry name.</param>
/// <param name="Kind">Backbone or model.</param>
/// <param name="Factory">The method that builds it (for documentation and errors).</param>
/// <param name="OptionsType">The options record the entry reads: <see cref="BackboneOptions"/> for backbones, a model's own record or <see cref="ModelOptions"/>.</param>
public sealed record RegistryEntry(string Name, RegistryKind Kind, MethodInfo Factory, Type OptionsType);

/// <summary>
/// Every backbone and model of SharpSeg.Models, found once by scanning this assembly for
/// <see cref="RegisterBackboneAttribute"/> and <see cref="RegisterModelAttribute"/> factories. Tests iterate
/// <see cref="List"/> so a new entry is tested automatically (timm's registry-wide tests).
/// </summary>
public static class ModelRegistry
{
    private static readonly Lazy<Dictionary<string, RegistryEntry>> Entries = new(Scan);

    /// <summary>All registered entries, sorted by kind and name.</summary>
    public static IReadOnlyList<RegistryEntry> List() =>
        Entries.Value.Values.OrderBy(e => e.Kind).ThenBy(e => e.Name, StringComparer.Ordinal).ToArray();

    /// <summary>Builds the backbone called <paramref name="name"/>. Equivalent to <c>timm.create_model(name, features_only=True)</c>.</summary>
    public static IBackbone CreateBackbone(string name, BackboneOptions? options = null) =>
        (IBackbone)Invoke(name, RegistryKind.Backbone, options ?? new BackboneOptions());

    /// <summary>The options record the model called <paramref name="name"/> reads (its <see cref="RegisterModelAttribute.Options"/>).</summary>
    /// <exception cref="ArgumentException">No model has that name.</exception>
    public static Type ModelOptionsType(string name) => Lookup(name, RegistryKind.Model).OptionsType;

    /// <summary>Builds the segmentation model called <paramref name="name"/>.</summary>
    public static SegmentationModel CreateModel(string name, ModelOptions options) =>
        (SegmentationModel)Invoke(name, RegistryKind.Model, options);

    private static RegistryEntry Lookup(string name, RegistryKind kind)
    {
        if (Entries.Value.TryGetValue(name, out var entry) && entry.Kind == kind) return entry;
        var known = Entries.Value.Values.Where(e => e.Kind == kind).Select(e => e.Name).Order(StringComparer.Ordinal);
        throw new ArgumentException($"Unknown {kind.ToString().ToLowerInvariant()} '{name}'. Registered: {string.Join(", ", known)}.", nameof(name));
    }

    private static object Invoke(string name, RegistryKind kind, object options)
    {
        var entry = Lookup(name, kind);
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

    private static Dictionary<string, RegistryEntry> Scan()
    {
        var entries = new Dictionary<string, RegistryEntry>(StringComparer.Ordinal);
        foreach (var type in typeof(ModelRegistry).Assembly.GetTypes())
            foreach (var method in type.GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic))
            {
                foreach (var a in method.GetCustomAttributes<RegisterBackboneAttribute>())
                    Add(entries, new RegistryEntry(a.Name, RegistryKind.Backbone, Validated(method, typeof(BackboneOptions), typeof(IBackbone)),
                        typeof(BackboneOptions)));
                foreach (var a in method.GetCustomAttributes<RegisterModelAttribute>())
                    Add(entries, new RegistryEntry(a.Name, RegistryKind.Model, Validated(method, typeof(ModelOptions), typeof(SegmentationModel)),
                        ValidatedOptions(a)));
            }
        return entries;
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

    private static void Add(Dictionary<string, RegistryEntry> entries, RegistryEntry entry)
    {
        if (!entries.TryAdd(entry.Name, entry))
            throw new InvalidOperationException($"Registry name '{entry.Name}' is used by both {entries[entry.Name].Factory.DeclaringType?.Name} and {entry.Factory.DeclaringType?.Name}.");
    }
}
