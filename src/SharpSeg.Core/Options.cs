namespace SharpSeg;

/// <summary>How <c>Functional.Interpolate</c> samples. Equivalent to the <c>mode</c> argument of <c>torch.nn.functional.interpolate</c>.</summary>
public enum InterpolationMode
{
    /// <summary>Torch's legacy <c>"nearest"</c>: source index = floor(destination index · in/out).</summary>
    Nearest,
    /// <summary><c>"bilinear"</c>, honouring <c>align_corners</c>.</summary>
    Bilinear,
}

/// <summary>How a loss combines its per-element values. Equivalent to torch's <c>reduction</c> argument.</summary>
public enum Reduction
{
    /// <summary>One loss per element, in the target's shape.</summary>
    None,
    /// <summary>Mean over the counted elements (weighted by class weight for cross-entropy, as torch does).</summary>
    Mean,
    /// <summary>Sum over all elements.</summary>
    Sum,
}

/// <summary>How <see cref="Functional.Pad"/> fills the border. Equivalent to the <c>mode</c> argument of <c>torch.nn.functional.pad</c>.</summary>
public enum PadMode
{
    /// <summary>A constant value.</summary>
    Constant,
    /// <summary>Mirror without repeating the edge (<c>"reflect"</c>: 3 2 | 1 2 3 | 2 1).</summary>
    Reflect,
    /// <summary>Repeat the edge value (<c>"replicate"</c>).</summary>
    Replicate,
}
