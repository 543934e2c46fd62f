using System.Collections;
using System.Globalization;

namespace SharpSeg.Nn;

/// <summary>
/// Runs its modules in order, each on the previous one's output. Children are named 0, 1, 2, … by position, counting
/// parameterless ones, so keys match PyTorch (<c>classifier.1.weight</c> after a Dropout). Equivalent to <c>torch.nn.Sequential</c>.
/// </summary>
public sealed class Sequential : TensorModule, IReadOnlyList<TensorModule>
{
    private readonly List<TensorModule> _modules = [];

    /// <summary>Creates the container from <paramref name="modules"/>, named by position.</summary>
    public Sequential(params IEnumerable<TensorModule> modules)
    {
        ArgumentNullException.ThrowIfNull(modules);
        // C# binds a lone Sequential argument as the collection itself, which would adopt its children and shift every key.
        if (modules is Sequential)
            throw new ArgumentException("new Sequential(x) with one Sequential x would take x's children; write new Sequential().Add(x).", nameof(modules));
        foreach (var module in modules) Add(module);
    }

    /// <summary>Appends <paramref name="module"/> under the next index. Equivalent to <c>sequential.append(module)</c>.</summary>
    public Sequential Add(TensorModule module)
    {
        _modules.Add(Child(_modules.Count.ToString(CultureInfo.InvariantCulture), module));
        return this;
    }

    /// <summary>The module at <paramref name="index"/>. Equivalent to <c>sequential[index]</c>.</summary>
    public TensorModule this[int index] => _modules[index];

    /// <summary>Number of modules.</summary>
    public int Count => _modules.Count;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x)
    {
        foreach (var module in _modules)
        {
            x = module.Forward(x);
            // Between layers no op is running: buffers that died in the layers so far can serve the next ones.
            Engine.RecycleDeadBuffers();
        }
        return x;
    }

    /// <inheritdoc/>
    public IEnumerator<TensorModule> GetEnumerator() => _modules.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>
/// Holds modules by position (named 0, 1, 2, …) without running them; the owner decides how. Equivalent to
/// <c>torch.nn.ModuleList</c>.
/// </summary>
/// <typeparam name="T">The element type, so owners iterate without casts.</typeparam>
public class ModuleList<T> : Module, IReadOnlyList<T> where T : Module
{
    private readonly List<T> _modules = [];

    /// <summary>Creates the list from <paramref name="modules"/>, named by position.</summary>
    public ModuleList(params IEnumerable<T> modules)
    {
        ArgumentNullException.ThrowIfNull(modules);
        foreach (var module in modules) Add(module);
    }

    /// <summary>Appends <paramref name="module"/> under the next index. Equivalent to <c>module_list.append(module)</c>.</summary>
    public ModuleList<T> Add(T module)
    {
        _modules.Add(Child(_modules.Count.ToString(CultureInfo.InvariantCulture), module));
        return this;
    }

    /// <summary>The module at <paramref name="index"/>.</summary>
    public T this[int index] => _modules[index];

    /// <summary>Number of modules.</summary>
    public int Count => _modules.Count;

    /// <inheritdoc/>
    public IEnumerator<T> GetEnumerator() => _modules.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>A <see cref="ModuleList{T}"/> of any modules. Equivalent to <c>torch.nn.ModuleList</c>.</summary>
public sealed class ModuleList(params IEnumerable<Module> modules) : ModuleList<Module>(modules);
