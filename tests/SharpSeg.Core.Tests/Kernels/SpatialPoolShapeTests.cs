using SharpSeg.Kernels;

namespace SharpSeg.Tests.Kernels;

public class SpatialPoolShapeTests
{
    [Theory]
    [InlineData(7, 3, 2, 1, 1, false, 4)]   // (7 + 2 − 2 − 1) / 2 + 1
    [InlineData(7, 3, 2, 1, 1, true, 4)]
    [InlineData(5, 2, 2, 0, 1, false, 2)]   // floor drops the lone last column
    [InlineData(5, 2, 2, 0, 1, true, 3)]    // ceil keeps a window starting at 4, inside the input
    [InlineData(5, 2, 3, 1, 1, false, 2)]
    [InlineData(5, 2, 3, 1, 1, true, 2)]    // ceil would start a third window at 5, in the right padding: dropped
    [InlineData(10, 3, 1, 0, 2, false, 6)]  // dilation 2: effective kernel 5
    [InlineData(112, 3, 2, 1, 1, false, 56)]
    [InlineData(4, 3, 2, 1, 1, true, 3)]    // last window [3, 6) starts inside the input
    public void OutputSizeFollowsTorchRule(int input, int kernel, int stride, int pad, int dilation, bool ceilMode, int expected)
    {
        Assert.Equal(expected, PoolShape.OutputSize(input, kernel, stride, pad, dilation, ceilMode));
    }

    [Theory]
    [InlineData(5, 2, 2, 2, 1)]   // padding above kernel / 2
    [InlineData(5, 0, 1, 0, 1)]   // empty kernel
    [InlineData(5, 2, 0, 0, 1)]   // zero stride
    [InlineData(2, 3, 1, 0, 2)]   // window larger than the input
    public void OutputSizeRejectsBadHyperparameters(int input, int kernel, int stride, int pad, int dilation)
    {
        var error = Assert.Throws<ArgumentException>(() => PoolShape.OutputSize(input, kernel, stride, pad, dilation, false));
        Assert.Contains("pooling", error.Message);
    }
}
