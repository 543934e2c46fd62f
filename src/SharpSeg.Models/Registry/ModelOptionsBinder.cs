using System.Collections;
using System.Globalization;
using System.Reflection;

namespace SharpSeg.Models;

/// <summary>One option of a model's options record, as <see cref="ModelOptionsBinder"/> reads it.</summary>
/// <param name="Name">The record's parameter name, e.g. <c>OutputStride</c>.</param>
/// <param name="Type">Its CLR type.</param>
/// <param name="DefaultValue">The record's default, or null when it has none or it is null.</param>
/// <param name="PaddleSegFlag">The PaddleSeg boolean argument that sets this option, if any (see <see cref="PaddleSegFlagAttribute"/>).</param>
public sealed record ModelOptionInfo(string Name, Type Type, object? DefaultValue, PaddleSegFlagAttribute? PaddleSegFlag = null)
{
    /// <summary>The command-line spelling, e.g. <c>output-stride</c>.</summary>
    public string CliName => ModelOptionsBinder.Kebab(Name);
}

/// <summary>
/// Names a value an enum member also accepts from text (e.g. PaddleX's <c>deconv</c> for
/// <see cref="UNetUpsampleMode.TransposedConv"/>), for <see cref="ModelOptionsBinder"/>.
/// </summary>
[AttributeUsage(AttributeTargets.Field)]
public sealed class ValueNameAttribute(params string[] names) : Attribute
{
    /// <summary>The accepted spellings.</summary>
    public IReadOnlyList<string> Names { get; } = names;
}

/// <summary>
/// Declares the PaddleSeg boolean model argument that chooses this option's value, where PaddleSeg spells the option as a
/// flag (e.g. PaddleSeg's <c>UNet(use_deconv=True)</c> for <see cref="UNetOptions.UpsampleMode"/>), so a config reader
/// maps it without naming the model.
/// </summary>
/// <param name="key">The PaddleSeg argument, e.g. <c>use_deconv</c>.</param>
/// <param name="whenTrue">The option's value (as text) when the argument is true.</param>
/// <param name="whenFalse">The option's value (as text) when the argument is false.</param>
[AttributeUsage(AttributeTargets.Parameter)]
public sealed class PaddleSegFlagAttribute(string key, string whenTrue, string whenFalse) : Attribute
{
    /// <summary>The PaddleSeg argument's name.</summary>
    public string Key { get; } = key;

    /// <summary>The option's value when the argument is true.</summary>
    public string WhenTrue { get; } = whenTrue;

    /// <summary>The option's value when the argument is false.</summary>
    public string WhenFalse { get; } = whenFalse;
}

/// <summary>
/// Builds any model's options record from text values by name, so a command line or a config file reaches every option
/// of every registered model without naming one: <c>OutputStride</c>, <c>output-stride</c> and PaddleX's
/// <c>output_stride</c> are the same option, matched ignoring case. The record's primary constructor supplies the
/// defaults. Equivalent to PaddleSeg's <c>--opts key=value</c> overrides applied to a model's arguments.
/// </summary>
public static class ModelOptionsBinder
{
    /// <summary>The options <paramref name="optionsType"/> takes, in constructor order, <c>NumClasses</c> excluded.</summary>
    public static IReadOnlyList<ModelOptionInfo> Describe(Type optionsType) =>
        [.. PrimaryConstructor(optionsType).GetParameters().Where(p => !IsNumClasses(p.Name!))
            .Select(p => new ModelOptionInfo(p.Name!, p.ParameterType, p.HasDefaultValue ? p.DefaultValue : null,
                p.GetCustomAttribute<PaddleSegFlagAttribute>()))];

    /// <summary>
    /// The record <paramref name="optionsType"/> for <paramref name="numClasses"/> classes with <paramref name="values"/>
    /// (option name → text) and every other option at its default.
    /// </summary>
    /// <exception cref="ArgumentException">An option is unknown, or a value does not parse; the message names the option, the value and what is accepted.</exception>
    public static ModelOptions Create(Type optionsType, int numClasses, IReadOnlyDictionary<string, string> values)
    {
        ArgumentNullException.ThrowIfNull(optionsType);
        ArgumentNullException.ThrowIfNull(values);
        if (!typeof(ModelOptions).IsAssignableFrom(optionsType))
            throw new ArgumentException($"{optionsType.Name} is not a ModelOptions record.", nameof(optionsType));
        var constructor = PrimaryConstructor(optionsType);
        var parameters = constructor.GetParameters();
        foreach (string key in values.Keys)
            if (!parameters.Any(p => Matches(p.Name!, key) && !IsNumClasses(p.Name!)))
                throw new ArgumentException(
                    $"{optionsType.Name} has no option '{key}'; it takes {string.Join(", ", Describe(optionsType).Select(o => o.CliName))}.", nameof(values));
        var arguments = new object?[parameters.Length];
        for (int i = 0; i < parameters.Length; i++)
        {
            var p = parameters[i];
            var given = values.FirstOrDefault(v => Matches(p.Name!, v.Key));
            arguments[i] = IsNumClasses(p.Name!) ? numClasses
                : given.Key is not null ? Parse(p.ParameterType, given.Value, $"{optionsType.Name}.{p.Name}")
                : p.HasDefaultValue ? p.DefaultValue
                : throw new ArgumentException($"{optionsType.Name}: option '{Kebab(p.Name!)}' has no default and was not given.", nameof(values));
        }
        return (ModelOptions)constructor.Invoke(arguments);
    }

    /// <summary>The value of option <paramref name="name"/> in <paramref name="options"/>.</summary>
    /// <exception cref="ArgumentException">The record has no such option.</exception>
    public static object? Get(ModelOptions options, string name)
    {
        ArgumentNullException.ThrowIfNull(options);
        var property = options.GetType().GetProperties().FirstOrDefault(p => Matches(p.Name, name))
            ?? throw new ArgumentException($"{options.GetType().Name} has no option '{name}'.", nameof(name));
        return property.GetValue(options);
    }

    /// <summary>Whether two option values are equal, lists element by element.</summary>
    public static bool ValuesEqual(object? a, object? b) =>
        a is IEnumerable x && b is IEnumerable y && a is not string
            ? x.Cast<object?>().SequenceEqual(y.Cast<object?>())
            : Equals(a, b);

    /// <summary>A value as text the way <see cref="Create"/> reads it back (lists and sizes comma-separated).</summary>
    public static string Format(object? value) => value switch
    {
        null => "none",
        string s => s,
        bool b => b ? "true" : "false",
        IEnumerable list => string.Join(",", list.Cast<object?>().Select(Format)),
        ValueTuple<int, int> size => $"{size.Item1},{size.Item2}",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    /// <summary><c>OutputStride</c> → <c>output-stride</c>.</summary>
    public static string Kebab(string name) =>
        string.Concat(name.Select((c, i) => char.IsUpper(c) && i > 0 && !char.IsUpper(name[i - 1]) ? "-" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));

    private static bool Matches(string parameter, string key) =>
        string.Equals(parameter, key.Replace("-", "").Replace("_", ""), StringComparison.OrdinalIgnoreCase);

    private static bool IsNumClasses(string name) => name == nameof(ModelOptions.NumClasses);

    private static ConstructorInfo PrimaryConstructor(Type type) =>
        type.GetConstructors().Where(c => c.GetParameters() is not [{ } only] || only.ParameterType != type)
            .OrderByDescending(c => c.GetParameters().Length).FirstOrDefault()
        ?? throw new ArgumentException($"{type.Name} has no public constructor.", nameof(type));

    private static object? Parse(Type type, string text, string option)
    {
        var underlying = Nullable.GetUnderlyingType(type);
        if (underlying is not null)
            return text.Trim().ToLowerInvariant() is "" or "none" or "null" ? null : Parse(underlying, text, option);
        try
        {
            if (type == typeof(string)) return text;
            if (type == typeof(int)) return int.Parse(text, NumberStyles.Integer, CultureInfo.InvariantCulture);
            if (type == typeof(double)) return double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
            if (type == typeof(float)) return float.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
            if (type == typeof(bool)) return ParseBool(text);
            if (type.IsEnum) return ParseEnum(type, text);
            if (type == typeof(ValueTuple<int, int>))
                return Items(text) is [var a, var b]
                    ? (int.Parse(a, CultureInfo.InvariantCulture), int.Parse(b, CultureInfo.InvariantCulture))
                    : throw new FormatException("expected two integers W,H");
            if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IReadOnlyList<>))
            {
                var element = type.GetGenericArguments()[0];
                var items = Items(text).Select(item => Parse(element, item, option)).ToArray();
                var array = Array.CreateInstance(element, items.Length);
                for (int i = 0; i < items.Length; i++) array.SetValue(items[i], i);
                return array;
            }
        }
        catch (Exception e) when (e is FormatException or OverflowException)
        {
            throw new ArgumentException($"{option}: '{text}' is not a valid {DescribeType(type)} ({e.Message}).", e);
        }
        throw new ArgumentException($"{option}: options of type {type.Name} cannot be given as text.");
    }

    private static string[] Items(string text) => text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);

    private static bool ParseBool(string text) => text.Trim().ToLowerInvariant() switch
    {
        "true" or "1" or "yes" or "on" => true,
        "false" or "0" or "no" or "off" => false,
        _ => throw new FormatException("expected true or false"),
    };

    private static object ParseEnum(Type type, string text)
    {
        foreach (var field in type.GetFields(BindingFlags.Public | BindingFlags.Static))
            if (string.Equals(field.Name, text, StringComparison.OrdinalIgnoreCase)
                || field.GetCustomAttribute<ValueNameAttribute>()?.Names.Contains(text, StringComparer.OrdinalIgnoreCase) == true)
                return field.GetValue(null)!;
        throw new FormatException($"expected one of {string.Join(", ", AcceptedEnumNames(type))}");
    }

    private static IEnumerable<string> AcceptedEnumNames(Type type) =>
        type.GetFields(BindingFlags.Public | BindingFlags.Static)
            .SelectMany(f => (f.GetCustomAttribute<ValueNameAttribute>()?.Names ?? []).Prepend(f.Name));

    private static string DescribeType(Type type) =>
        type.IsEnum ? $"{type.Name} ({string.Join(", ", AcceptedEnumNames(type))})"
        : type == typeof(ValueTuple<int, int>) ? "size W,H"
        : type.IsGenericType ? $"comma-separated list of {type.GetGenericArguments()[0].Name}"
        : type.Name;
}
