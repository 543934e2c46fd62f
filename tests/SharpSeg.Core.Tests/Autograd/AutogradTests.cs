using SharpSeg.Core.Tests.Support;

namespace SharpSeg.Core.Tests.Autograd;

public sealed class AutogradTests
{
    [Fact]
    public void A_tensor_used_twice_accumulates_both_paths()
    {
        var x = Tensor.FromArray(new float[] { 1, 2, 3 });
        x.RequiresGrad = true;
        // y = x·x + 3x  →  dy/dx = 2x + 3
        var y = x * x + x * 3f;
        y.Sum().Backward();
        Assert.Equal(new[] { 5f, 7f, 9f }, x.Grad!.ToArray());
    }

    [Fact]
    public void Gradients_accumulate_across_backward_calls_until_reset()
    {
        var w = Tensor.FromArray(new float[] { 2 });
        w.RequiresGrad = true;
        (w * 3f).Sum().Backward();
        (w * 4f).Sum().Backward();
        Assert.Equal(new[] { 7f }, w.Grad!.ToArray());
        w.Grad = null;
        (w * w).Sum().Backward();
        Assert.Equal(new[] { 4f }, w.Grad!.ToArray());
    }

    [Fact]
    public void NoGrad_records_nothing()
    {
        var x = Tensor.Ones(3);
        x.RequiresGrad = true;
        Tensor y;
        using (GradMode.NoGrad())
        {
            Assert.False(GradMode.IsEnabled);
            y = (x * 2f).Exp().Sum();
        }
        Assert.True(GradMode.IsEnabled);
        Assert.False(y.RequiresGrad);
        Assert.True(y.IsLeaf);
        Assert.Throws<InvalidOperationException>(() => y.Backward());
    }

    [Fact]
    public void Detach_cuts_the_graph_but_shares_data()
    {
        var x = Tensor.FromArray(new float[] { 1, 2 });
        x.RequiresGrad = true;
        var d = (x * 2f).Detach();
        Assert.False(d.RequiresGrad);
        var y = (x * d).Sum();
        y.Backward();
        Assert.Equal(new[] { 2f, 4f }, x.Grad!.ToArray());
    }

    [Fact]
    public void Backward_releases_the_graph()
    {
        var x = Tensor.FromArray(new float[] { 1, 2, 3 });
        x.RequiresGrad = true;
        var hidden = (x * 2f).Exp();
        var loss = hidden.Sum();
        var node = hidden.GradFn!;
        Assert.NotEmpty(node.Edges);
        loss.Backward();
        Assert.True(node.IsReleased);
        Assert.Empty(node.Edges);
        Assert.True(loss.GradFn!.IsReleased);
        var e = Assert.Throws<InvalidOperationException>(() => loss.Backward());
        Assert.Contains("released", e.Message);
    }

    [Fact]
    public void Released_activations_can_be_collected()
    {
        var x = Tensor.Ones(1000);
        x.RequiresGrad = true;
        var (loss, weak) = BuildGraph(x);
        loss.Backward();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Assert.False(weak.IsAlive, "the intermediate activation survived Backward()");
    }

    private static (Tensor Loss, WeakReference Activation) BuildGraph(Tensor x)
    {
        var activation = (x * 3f).Sigmoid();
        return ((activation * activation).Sum(), new WeakReference(activation.Detach().Storage));
    }

    [Fact]
    public void Non_scalar_backward_needs_a_gradient_of_matching_shape()
    {
        var x = Tensor.Ones(2, 2);
        x.RequiresGrad = true;
        var y = x * 2f;
        Assert.Throws<InvalidOperationException>(() => y.Backward());
        Assert.Throws<ShapeMismatchException>(() => y.Backward(Tensor.Ones(4)));
        y.Backward(Tensor.FromArray(new float[] { 1, 2, 3, 4 }, 2, 2));
        Assert.Equal(new[] { 2f, 4f, 6f, 8f }, x.Grad!.ToArray());
    }

    [Fact]
    public void RequiresGrad_is_only_settable_on_float_leaves()
    {
        var x = Tensor.Ones(2);
        x.RequiresGrad = true;
        var y = x * 2f;
        Assert.Throws<InvalidOperationException>(() => y.RequiresGrad = false);
        Assert.Throws<InvalidOperationException>(() => Tensor.FromArray(new long[] { 1 }).RequiresGrad = true);
    }

    [Fact]
    public void A_deep_graph_does_not_overflow_the_stack()
    {
        var x = Tensor.FromArray(new float[] { 1 });
        x.RequiresGrad = true;
        var y = x;
        for (int i = 0; i < 20000; i++) y = y + 1f;
        y.Sum().Backward();
        Assert.Equal(new[] { 1f }, x.Grad!.ToArray());
    }
}
