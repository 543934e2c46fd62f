using SharpSeg.Nn;
using SharpSeg.Nn.Interop;

namespace SharpSeg.Models;

/// <summary>
/// Loading pretrained backbone weights into a model whose input channel count differs from the checkpoint's (e.g. RGB
/// ImageNet weights into a 4-band remote-sensing model). Equivalent to timm's <c>adapt_input_conv</c> applied by
/// <c>load_pretrained</c>.
/// </summary>
public static class PretrainedWeights
{
    /// <summary>
    /// A first-convolution weight [out, S, kh, kw] adapted to <paramref name="inChannels"/> inputs: unchanged for S
    /// channels; summed over the input channels for one channel (a grey image that replicates RGB gives the same output);
    /// otherwise the S kernels reused cyclically (channel c takes kernel c mod S) and scaled by S/N, so an input whose N
    /// channels equal the mean image keeps its activation scale. Equivalent to timm's <c>adapt_input_conv</c>.
    /// </summary>
    public static Tensor AdaptInputChannels(Tensor weight, int inChannels)
    {
        ArgumentNullException.ThrowIfNull(weight);
        if (weight.Rank != 4) throw new ShapeMismatchException("AdaptInputChannels", $"expected a conv weight [out, in, kh, kw], got {weight.Shape}");
        ArgumentOutOfRangeException.ThrowIfLessThan(inChannels, 1);
        int source = weight.Shape[1];
        if (inChannels == source) return weight;
        if (inChannels == 1) return weight.Sum(1, keepDim: true);
        var kernels = new Tensor[inChannels];
        for (int c = 0; c < inChannels; c++) kernels[c] = weight.Narrow(1, c % source, 1);
        return Tensor.Cat(kernels, 1) * ((float)source / inChannels);
    }

    /// <summary>
    /// Loads a weight file (safetensors, PyTorch <c>.pth</c> or Paddle <c>.pdparams</c>; see <see cref="SharpSeg.Nn.Interop.WeightFile"/>) into <paramref name="module"/>: keys renamed by <paramref name="keyMap"/> (e.g.
    /// <see cref="ResNetVd.PaddleSegKeyMap"/>), the tensor at <paramref name="firstConvKey"/> adapted to the module's input
    /// channels when only those differ, keys matching <paramref name="ignore"/> left out (a classifier the module lacks),
    /// and keys accepted by <paramref name="allowShapeMismatch"/> kept as the module has them (a new head).
    /// Equivalent to timm's <c>load_pretrained(model, in_chans=…)</c>.
    /// </summary>
    public static LoadReport Load(Module module, string path, string firstConvKey, KeyMap? keyMap = null, bool strict = true,
        Func<string, bool>? ignore = null, Func<string, bool>? allowShapeMismatch = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        var tensors = WeightFile.Load(path);
        return Load(module, keyMap is null ? tensors : keyMap.Apply(tensors), firstConvKey, strict, ignore, allowShapeMismatch);
    }

    /// <summary>As <see cref="Load(Module, string, string, KeyMap?, bool, Func{string, bool}?, Func{string, bool}?)"/>, from a state dict already in this library's keys.</summary>
    public static LoadReport Load(Module module, IReadOnlyDictionary<string, Tensor> stateDict, string firstConvKey, bool strict = true,
        Func<string, bool>? ignore = null, Func<string, bool>? allowShapeMismatch = null)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(stateDict);
        ArgumentNullException.ThrowIfNull(firstConvKey);
        var own = module.StateDict();
        if (!own.TryGetValue(firstConvKey, out var target))
            throw new ArgumentException($"{module.GetType().Name} has no first convolution '{firstConvKey}'.", nameof(firstConvKey));

        var adapted = new Dictionary<string, Tensor>(stateDict.Count);
        foreach (var (key, tensor) in stateDict)
        {
            if (ignore?.Invoke(key) == true) continue;
            adapted[key] = key == firstConvKey && DiffersOnlyInInputChannels(tensor.Shape, target.Shape)
                ? AdaptInputChannels(tensor, target.Shape[1])
                : tensor;
        }
        return module.LoadStateDict(adapted, strict, allowShapeMismatch);
    }

    private static bool DiffersOnlyInInputChannels(Shape source, Shape target) =>
        source.Rank == 4 && target.Rank == 4 && source[1] != target[1]
        && source[0] == target[0] && source[2] == target[2] && source[3] == target[3];
}
