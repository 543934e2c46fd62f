using SharpSeg.Nn.Optim;

namespace SharpSeg.Nn.Tests.Optim;

public class GradientClippingTests
{
    private static Tensor WithGrad(float[] grad, params int[] shape)
    {
        var p = Tensor.Zeros(shape);
        p.RequiresGrad = true;
        p.Grad = Tensor.FromArray(grad, shape);
        return p;
    }

    [Fact]
    public void ClipGradNormScalesAllGradientsByTheGlobalNorm()
    {
        var a = WithGrad([3f, 4f], 2);
        var b = WithGrad([12f], 1, 1);
        var none = Tensor.Zeros(3);
        float total = GradientClipping.ClipGradNorm([a, none, b], maxNorm: 6.5);
        Assert.Equal(13f, total, 1e-6f);  // √(9 + 16 + 144)
        float scale = 6.5f / (13f + 1e-6f);
        Assert.Equal([3f * scale, 4f * scale], a.Grad!.ToArray(), (x, y) => Math.Abs(x - y) < 1e-6f);
        Assert.Equal(12f * scale, b.Grad!.ToArray()[0], 1e-6f);
        Assert.Null(none.Grad);
    }

    [Fact]
    public void ClipGradNormLeavesGradientsBelowTheLimitUntouched()
    {
        var a = WithGrad([3f, 4f], 2);
        Assert.Equal(5f, GradientClipping.ClipGradNorm([a], maxNorm: 5.5), 1e-6f);
        Assert.Equal([3f, 4f], a.Grad!.ToArray());
    }

    [Fact]
    public void ClipGradNormOfOrderInfinityUsesTheLargestMagnitude()
    {
        var a = WithGrad([3f, -8f], 2);
        var b = WithGrad([2f], 1);
        Assert.Equal(8f, GradientClipping.ClipGradNorm([a, b], maxNorm: 4, normType: double.PositiveInfinity));
        Assert.Equal(-4f, a.Grad!.ToArray()[1], 1e-5f);
        Assert.Equal(1f, b.Grad!.ToArray()[0], 1e-5f);
    }

    [Fact]
    public void ClipGradNormOfOrderOneSumsMagnitudes()
    {
        var a = WithGrad([3f, -4f], 2);
        Assert.Equal(7f, GradientClipping.ClipGradNorm([a], maxNorm: 100, normType: 1), 1e-6f);
    }

    [Fact]
    public void ANonFiniteNormThrowsOnlyWhenAsked()
    {
        var a = WithGrad([float.NaN, 1f], 2);
        Assert.True(float.IsNaN(GradientClipping.ClipGradNorm([a], maxNorm: 1)));
        Assert.Throws<ArgumentException>(() => GradientClipping.ClipGradNorm([a], maxNorm: 1, errorIfNonfinite: true));
    }

    [Fact]
    public void ClipGradValueClampsEveryElement()
    {
        var a = WithGrad([-3f, 0.5f, 2f, -0.25f, 1f, 7f, -7f, 0f, 0.99f, -1.01f], 10);
        GradientClipping.ClipGradValue([a], 1);
        Assert.Equal([-1f, 0.5f, 1f, -0.25f, 1f, 1f, -1f, 0f, 0.99f, -1f], a.Grad!.ToArray());
    }
}
