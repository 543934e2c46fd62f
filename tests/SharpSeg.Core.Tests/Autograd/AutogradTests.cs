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

    [Fact]
    public void Leaves_that_receive_the_same_gradient_get_buffers_of_their_own()
    {
        // Addition passes one gradient to both inputs: each leaf must still own its Grad, which clipping scales in place.
        var a = Tensor.FromArray(new float[] { 1, 2 });
        var b = Tensor.FromArray(new float[] { 3, 4 });
        a.RequiresGrad = b.RequiresGrad = true;
        ((a + b) * 3f).Sum().Backward();
        a.Grad!.AsSpan()[0] = 100f;
        Assert.Equal(new[] { 3f, 3f }, b.Grad!.ToArray());
        Assert.Equal(new[] { 100f, 3f }, a.Grad.ToArray());
    }

    [Fact]
    public void A_gradient_passed_to_Backward_is_copied_into_the_leaf()
    {
        var x = Tensor.FromArray(new float[] { 1, 2 });
        x.RequiresGrad = true;
        var seed = Tensor.FromArray(new float[] { 5, 6 });
        x.Backward(seed);
        seed.AsSpan()[0] = -1f;
        Assert.Equal(new[] { 5f, 6f }, x.Grad!.ToArray());

        // Through a view op whose backward hands the incoming gradient on unchanged.
        var y = Tensor.FromArray(new float[] { 1, 2, 3, 4 });
        y.RequiresGrad = true;
        var upstream = Tensor.FromArray(new float[] { 1, 2, 3, 4 }, 2, 2);
        y.Reshape(2, 2).Backward(upstream);
        upstream.AsSpan()[3] = -1f;
        Assert.Equal(new[] { 1f, 2f, 3f, 4f }, y.Grad!.ToArray());
    }

    [Fact]
    public void A_fresh_gradient_taken_by_a_leaf_has_the_values_a_copy_would_have()
    {
        // Multiplication allocates each input's gradient in its backward: the leaves take them without a copy.
        var a = Tensor.FromArray(new float[] { 1, 2, 3 });
        var b = Tensor.FromArray(new float[] { 4, 5, 6 });
        a.RequiresGrad = b.RequiresGrad = true;
        (a * b).Sum().Backward();
        Assert.Equal(new[] { 4f, 5f, 6f }, a.Grad!.ToArray());
        Assert.Equal(new[] { 1f, 2f, 3f }, b.Grad!.ToArray());
        a.Grad.AsSpan()[0] = 0f;
        Assert.Equal(new[] { 1f, 2f, 3f }, b.Grad.ToArray());
        Assert.Equal(new[] { 4f, 5f, 6f }, b.ToArray());
    }
}
