namespace SharpSeg.Kernels;

internal sealed partial class ReferenceKernels
{
    public void MaxPool2dForward(in Pool2dGeometry g, ReadOnlySpan<float> x, Span<float> y, Span<int> argmax) => throw new NotImplementedException();
    public void MaxPool2dBackward(in Pool2dGeometry g, ReadOnlySpan<float> dy, ReadOnlySpan<int> argmax, Span<float> dx) => throw new NotImplementedException();
    public void AvgPool2dForward(in Pool2dGeometry g, bool countIncludePad, ReadOnlySpan<float> x, Span<float> y) => throw new NotImplementedException();
    public void AvgPool2dBackward(in Pool2dGeometry g, bool countIncludePad, ReadOnlySpan<float> dy, Span<float> dx) => throw new NotImplementedException();
    public void AdaptiveAvgPool2dForward(int batch, int channels, int inH, int inW, int outH, int outW, ReadOnlySpan<float> x, Span<float> y) => throw new NotImplementedException();
    public void AdaptiveAvgPool2dBackward(int batch, int channels, int inH, int inW, int outH, int outW, ReadOnlySpan<float> dy, Span<float> dx) => throw new NotImplementedException();
    public void BilinearForward(int planes, int inH, int inW, int outH, int outW, bool alignCorners, double scaleH, double scaleW, ReadOnlySpan<float> x, Span<float> y) => throw new NotImplementedException();
    public void BilinearBackward(int planes, int inH, int inW, int outH, int outW, bool alignCorners, double scaleH, double scaleW, ReadOnlySpan<float> dy, Span<float> dx) => throw new NotImplementedException();
    public void NearestForward(int planes, int inH, int inW, int outH, int outW, double scaleH, double scaleW, ReadOnlySpan<float> x, Span<float> y) => throw new NotImplementedException();
    public void NearestBackward(int planes, int inH, int inW, int outH, int outW, double scaleH, double scaleW, ReadOnlySpan<float> dy, Span<float> dx) => throw new NotImplementedException();
    public void ChannelMeanVar(int batch, int channels, int plane, ReadOnlySpan<float> x, Span<float> mean, Span<float> variance) => throw new NotImplementedException();
    public void ChannelNormalize(int batch, int channels, int plane, ReadOnlySpan<float> x, ReadOnlySpan<float> mean, ReadOnlySpan<float> invStd, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, bool relu, Span<float> y) => throw new NotImplementedException();
    public void BatchNormBackward(int batch, int channels, int plane, ReadOnlySpan<float> dy, ReadOnlySpan<float> x, ReadOnlySpan<float> mean, ReadOnlySpan<float> invStd, ReadOnlySpan<float> gamma, Span<float> dx, Span<float> dgamma, Span<float> dbeta) => throw new NotImplementedException();
    public void SoftmaxForward(int outer, int dim, int inner, bool log, ReadOnlySpan<float> x, Span<float> y) => throw new NotImplementedException();
    public void SoftmaxBackward(int outer, int dim, int inner, bool log, ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx) => throw new NotImplementedException();
}
