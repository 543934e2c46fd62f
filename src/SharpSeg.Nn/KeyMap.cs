using System.Text.RegularExpressions;

namespace SharpSeg.Nn;

/// <summary>
/// Translates a foreign state dict (other naming scheme, other layouts) into this library's keys: ordered rename rules
/// applied to every key in turn, rules that drop keys, then per-key tensor transforms chosen on the renamed key. Immutable;
/// each builder method returns a new map. Plays the role of the key-renaming code in torchvision/timm checkpoint filters
/// (<c>checkpoint_filter_fn</c>), kept as data instead of model code.
/// </summary>
public sealed class KeyMap
{
    private readonly IReadOnlyList<Rule> _renames;
    private readonly IReadOnlyList<Regex> _drops;
    private readonly IReadOnlyList<TensorTransform> _transforms;

    /// <summary>A map that changes nothing.</summary>
    public KeyMap() : this([], [], [])
    {
    }

    private KeyMap(IReadOnlyList<Rule> renames, IReadOnlyList<Regex> drops, IReadOnlyList<TensorTransform> transforms)
    {
        _renames = renames;
        _drops = drops;
        _transforms = transforms;
    }

    /// <summary>
    /// PaddleSeg/PaddleX naming to PyTorch's: the key segments <c>_conv</c> → <c>conv</c> and <c>_batch_norm</c> → <c>bn</c>,
    /// the BatchNorm statistics <c>_mean</c> → <c>running_mean</c> and <c>_variance</c> → <c>running_var</c>, and 2-D
    /// <c>weight</c> tensors (Paddle's Linear stores [in, out]) transposed to [out, in]. Paddle checkpoints have no
    /// <c>num_batches_tracked</c>; <see cref="BatchNorm2d"/> accepts their absence.
    /// </summary>
    public static KeyMap PaddleSeg { get; } = new KeyMap()
        .RenameRegex(@"(^|\.)_conv(?=\.|$)", "$1conv")
        .RenameRegex(@"(^|\.)_batch_norm(?=\.|$)", "$1bn")
        .ReplaceSuffix("._mean", ".running_mean")
        .ReplaceSuffix("._variance", ".running_var")
        .Transform((key, tensor) => tensor.Rank == 2 && (key == "weight" || key.EndsWith(".weight", StringComparison.Ordinal)),
            tensor => tensor.Transpose(0, 1).Contiguous(), "transpose Paddle Linear weight [in, out] to [out, in]");

    /// <summary>Adds a rule replacing every match of the regular expression <paramref name="pattern"/> with <paramref name="replacement"/> (<c>$1</c> groups allowed).</summary>
    public KeyMap RenameRegex(string pattern, string replacement)
    {
        var regex = new Regex(pattern, RegexOptions.CultureInvariant);
        return WithRename(new Rule($"s/{pattern}/{replacement}/", key => regex.Replace(key, replacement)));
    }

    /// <summary>Adds a rule replacing the leading <paramref name="from"/> of a key with <paramref name="to"/> (keys without it are unchanged).</summary>
    public KeyMap ReplacePrefix(string from, string to) =>
        WithRename(new Rule($"prefix {from} → {to}", key => key.StartsWith(from, StringComparison.Ordinal) ? to + key[from.Length..] : key));

    /// <summary>Adds a rule replacing the trailing <paramref name="from"/> of a key with <paramref name="to"/>.</summary>
    public KeyMap ReplaceSuffix(string from, string to) =>
        WithRename(new Rule($"suffix {from} → {to}", key => key.EndsWith(from, StringComparison.Ordinal) ? key[..^from.Length] + to : key));

    /// <summary>Adds a rule dropping every key (as named before renaming) that matches the regular expression <paramref name="pattern"/>.</summary>
    public KeyMap Drop(string pattern) =>
        new(_renames, [.. _drops, new Regex(pattern, RegexOptions.CultureInvariant)], _transforms);

    /// <summary>
    /// Adds a tensor transform applied to every entry whose renamed key and tensor satisfy <paramref name="applies"/>;
    /// <paramref name="description"/> names it in errors.
    /// </summary>
    public KeyMap Transform(Func<string, Tensor, bool> applies, Func<Tensor, Tensor> transform, string description)
    {
        ArgumentNullException.ThrowIfNull(applies);
        ArgumentNullException.ThrowIfNull(transform);
        return new(_renames, _drops, [.. _transforms, new TensorTransform(description, applies, transform)]);
    }

    private KeyMap WithRename(Rule rule) => new([.. _renames, rule], _drops, _transforms);

    /// <summary>The key after every rename rule, in order.</summary>
    public string MapKey(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        foreach (var rule in _renames) key = rule.Apply(key);
        return key;
    }

    /// <summary>
    /// The renamed and transformed dictionary, in source order. Throws, naming both source keys, when two keys map to
    /// the same name.
    /// </summary>
    public OrderedDictionary<string, Tensor> Apply(IEnumerable<KeyValuePair<string, Tensor>> source)
    {
        ArgumentNullException.ThrowIfNull(source);
        var result = new OrderedDictionary<string, Tensor>();
        var origins = new Dictionary<string, string>();
        foreach (var (key, tensor) in source)
        {
            if (_drops.Any(d => d.IsMatch(key))) continue;
            string mapped = MapKey(key);
            if (!origins.TryAdd(mapped, key))
                throw new ArgumentException($"Key map sends both '{origins[mapped]}' and '{key}' to '{mapped}'.", nameof(source));
            var value = tensor;
            foreach (var t in _transforms)
            {
                if (!t.Applies(mapped, value)) continue;
                try
                {
                    value = t.Function(value);
                }
                catch (Exception e) when (e is ArgumentException or InvalidOperationException)
                {
                    throw new ArgumentException($"Key map transform '{t.Description}' failed on '{key}' (→ '{mapped}', shape {value.Shape}): {e.Message}", nameof(source), e);
                }
            }
            result.Add(mapped, value);
        }
        return result;
    }

    private sealed record Rule(string Description, Func<string, string> Apply);

    private sealed record TensorTransform(string Description, Func<string, Tensor, bool> Applies, Func<Tensor, Tensor> Function);
}
