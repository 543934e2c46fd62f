using System.Runtime.CompilerServices;
using SharpSeg.Ops;

namespace SharpSeg.Core.Tests.Autograd;

/// <summary>
/// What a recorded graph keeps alive between forward and backward (issue 11): each node keeps only what its backward
/// reads, so activations nothing needs can be collected before Backward(), and the gradients stay exact.
/// </summary>
public class SavedTensorTests
{
    private static void CollectEverything()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (Tensor Loss, WeakReference Input) ReluOfIntermediate(Tensor x)
    {
        var beforeRelu = x * 2f - 1f;
        return ((beforeRelu.Relu() * 3f).Sum(), new WeakReference(beforeRelu.Storage));
    }

    [Fact]
    public void Relu_keeps_its_output_not_its_input_and_the_gradient_is_exact()
    {
        // 2x − 1 is −1, 0 (exactly), 0.5, 3: ReLU passes the gradient only where its input is strictly positive.
        var x = Tensor.FromArray(new float[] { 0f, 0.5f, 0.75f, 2f });
        x.RequiresGrad = true;
        var (loss, input) = ReluOfIntermediate(x);
        CollectEverything();
        Assert.False(input.IsAlive, "ReLU's input survived until backward");
        loss.Backward();
        Assert.Equal(new[] { 0f, 0f, 6f, 6f }, x.Grad!.ToArray());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Relu_and_relu6_gradients_at_the_boundaries(bool relu6)
    {
        var x = Tensor.FromArray(new float[] { -1f, -0f, 0f, 1e-30f, 3f, 6f, 7f, float.NaN });
        x.RequiresGrad = true;
        (relu6 ? x.Relu6() : x.Relu()).Sum().Backward();
        float[] expected = relu6 ? [0, 0, 0, 1, 1, 0, 0, 0] : [0, 0, 0, 1, 1, 1, 1, 0];
        Assert.Equal(expected, x.Grad!.ToArray());
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (Tensor Loss, WeakReference[] Intermediates) ShapeOnlyChain(Tensor x)
    {
        var scaled = x * 2f;
        var shifted = scaled + 1f;
        var joined = Tensor.Cat([shifted, shifted], 0);
        var pooled = joined.Reshape(2, 1, 2, 2).Permute(0, 1, 3, 2).Contiguous();
        var loss = (pooled.Sum() * 1f).Sum();
        return (loss, [new(scaled.Storage), new(shifted.Storage), new(joined.Storage)]);
    }

    [Fact]
    public void Add_concat_and_views_keep_no_input_data()
    {
        var x = Tensor.FromArray(new float[] { 1, 2, 3, 4 }, 2, 2);
        x.RequiresGrad = true;
        var (loss, intermediates) = ShapeOnlyChain(x);
        CollectEverything();
        Assert.All(intermediates, w => Assert.False(w.IsAlive, "an input of add, cat or a view survived until backward"));
        loss.Backward();
        // Each element reaches the loss twice (the concatenation) through ×2.
        Assert.Equal(new[] { 4f, 4f, 4f, 4f }, x.Grad!.ToArray());
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (Tensor Loss, WeakReference Input) MaskedIntermediate(Tensor x, Tensor mask)
    {
        var shifted = x + 1f;
        return ((shifted * mask).Sum(), new WeakReference(shifted.Storage));
    }

    [Fact]
    public void Multiplying_by_a_constant_keeps_only_the_constant()
    {
        var x = Tensor.FromArray(new float[] { 1, 2, 3 });
        x.RequiresGrad = true;
        var mask = Tensor.FromArray(new float[] { 0f, 2f, 0.5f });
        var (loss, input) = MaskedIntermediate(x, mask);
        CollectEverything();
        Assert.False(input.IsAlive, "the input of a product with a constant survived until backward");
        loss.Backward();
        Assert.Equal(new[] { 0f, 2f, 0.5f }, x.Grad!.ToArray());
    }

    [Fact]
    public void A_product_of_two_operands_that_need_gradients_still_gets_both()
    {
        var a = Tensor.FromArray(new float[] { 1, 2, 3 });
        var b = Tensor.FromArray(new float[] { 4, 5, 6 });
        a.RequiresGrad = b.RequiresGrad = true;
        ((a + 0f) * (b + 0f)).Sum().Backward();
        Assert.Equal(new[] { 4f, 5f, 6f }, a.Grad!.ToArray());
        Assert.Equal(new[] { 1f, 2f, 3f }, b.Grad!.ToArray());
    }

    [Fact]
    public void Flop_counter_counts_convolution_and_matmul_forward_and_backward()
    {
        var x = Tensor.Ones(1, 2, 5, 5);
        var w = Tensor.Ones(4, 2, 3, 3);
        x.RequiresGrad = w.RequiresGrad = true;
        var a = Tensor.Ones(2, 3);
        var b = Tensor.Ones(3, 4);
        a.RequiresGrad = b.RequiresGrad = true;
        FlopCounter.Reset();
        FlopCounter.Enabled = true;
        try
        {
            var y = Functional.Conv2d(x, w, padding: 1);
            Assert.Equal(2.0 * 4 * 5 * 5 * 2 * 9, FlopCounter.Flops);
            y.Sum().Backward();
            Assert.Equal(3 * 2.0 * 4 * 5 * 5 * 2 * 9, FlopCounter.Flops);

            FlopCounter.Reset();
            a.Matmul(b).Sum().Backward();
            // Forward 2·(2·4·3); backward dA = dY·Bᵀ and dB = Aᵀ·dY, the same size each.
            Assert.Equal(3 * 2.0 * 2 * 4 * 3, FlopCounter.Flops);
        }
        finally
        {
            FlopCounter.Enabled = false;
        }
    }
}
