namespace SharpSeg.Nn;

/// <summary>Max pooling; stride defaults to the kernel size, padding counts as −∞. Equivalent to <c>torch.nn.MaxPool2d</c>.</summary>
public sealed class MaxPool2d(Size2 kernelSize, Size2? stride = null, Size2? padding = null, Size2? dilation = null, bool ceilMode = false)
    : TensorModule
{
    /// <summary>Window size.</summary>
    public Size2 KernelSize { get; } = kernelSize;

    /// <summary>Step between windows.</summary>
    public Size2 Stride { get; } = stride ?? kernelSize;

    /// <summary>Implicit −∞ padding on each side.</summary>
    public Size2 Padding { get; } = padding ?? 0;

    /// <summary>Spacing between window taps.</summary>
    public Size2 Dilation { get; } = dilation ?? 1;

    /// <summary>Whether the output size rounds up.</summary>
    public bool CeilMode { get; } = ceilMode;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => Functional.MaxPool2d(x, KernelSize, Stride, Padding, Dilation, CeilMode);
}

/// <summary>Average pooling; stride defaults to the kernel size. Equivalent to <c>torch.nn.AvgPool2d</c>.</summary>
public sealed class AvgPool2d(Size2 kernelSize, Size2? stride = null, Size2? padding = null, bool ceilMode = false, bool countIncludePad = true)
    : TensorModule
{
    /// <summary>Window size.</summary>
    public Size2 KernelSize { get; } = kernelSize;

    /// <summary>Step between windows.</summary>
    public Size2 Stride { get; } = stride ?? kernelSize;

    /// <summary>Zero padding on each side.</summary>
    public Size2 Padding { get; } = padding ?? 0;

    /// <summary>Whether the output size rounds up.</summary>
    public bool CeilMode { get; } = ceilMode;

    /// <summary>Whether padded zeros count in the divisor.</summary>
    public bool CountIncludePad { get; } = countIncludePad;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => Functional.AvgPool2d(x, KernelSize, Stride, Padding, CeilMode, CountIncludePad);
}

/// <summary>Average pooling to a fixed output size. Equivalent to <c>torch.nn.AdaptiveAvgPool2d</c>.</summary>
public sealed class AdaptiveAvgPool2d(Size2 outputSize) : TensorModule
{
    /// <summary>Output height and width.</summary>
    public Size2 OutputSize { get; } = outputSize;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => Functional.AdaptiveAvgPool2d(x, OutputSize);
}
