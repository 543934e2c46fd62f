using SharpSeg.Autograd;

namespace SharpSeg.Core.Tests.Autograd;

public sealed class GradHookTests
{
    private static Tensor Leaf(params float[] values)
    {
        var t = Tensor.FromArray(values);
        t.RequiresGrad = true;
        return t;
    }

    [Fact]
    public void Post_accumulate_hook_sees_the_final_gradient_of_a_leaf_used_twice_once_per_backward()
    {
        var a = Leaf(1, 2, 3);
        var seen = new List<float[]>();
        using var hook = a.RegisterPostAccumulateGradHook(t => seen.Add(t.Grad!.ToArray()));
        // d/da (a·a + 3a) = 2a + 3: both paths must be in before the hook runs.
        (a * a + a * 3f).Sum().Backward();
        Assert.Equal([[5f, 7f, 9f]], seen);

        a.Grad = null;
        (a * 2f).Sum().Backward();
        Assert.Equal(2, seen.Count);
        Assert.Equal([2f, 2f, 2f], seen[1]);
    }

    [Fact]
    public void Hook_of_a_leaf_near_the_output_runs_before_earlier_leaves_get_their_gradient()
    {
        // y = w2 · relu(w1 · x): backward reaches w2 first; DDP starts that bucket while w1 is still being differentiated.
        var x = Tensor.FromArray(new float[] { 1, -2, 3 });
        var w1 = Leaf(0.5f, 0.25f, 2f);
        var w2 = Leaf(3, 1, -1);
        var order = new List<string>();
        float[]? w1GradWhenW2Final = null;
        using var h1 = w1.RegisterPostAccumulateGradHook(_ => order.Add("w1"));
        using var h2 = w2.RegisterPostAccumulateGradHook(_ =>
        {
            order.Add("w2");
            w1GradWhenW2Final = w1.Grad?.ToArray();
        });
        (w2 * (w1 * x).Relu()).Sum().Backward();
        Assert.Equal(["w2", "w1"], order);
        Assert.Null(w1GradWhenW2Final);
        Assert.Equal([3f, 0f, -3f], w1.Grad!.ToArray());   // w2·x where w1·x > 0
        Assert.Equal([0.5f, 0f, 6f], w2.Grad!.ToArray());
    }

    [Fact]
    public void Disposed_hook_no_longer_runs_and_a_computed_tensor_refuses_hooks()
    {
        var a = Leaf(1, 2);
        int calls = 0;
        var hook = a.RegisterPostAccumulateGradHook(_ => calls++);
        (a * a).Sum().Backward();
        hook.Dispose();
        (a * a).Sum().Backward();
        Assert.Equal(1, calls);
        Assert.Throws<InvalidOperationException>(() => (a * 2f).RegisterPostAccumulateGradHook(_ => { }));
    }

    [Fact]
    public void Hook_runs_only_for_backward_passes_whose_graph_reaches_the_leaf()
    {
        var a = Leaf(1, 2);
        var b = Leaf(3, 4);
        int bCalls = 0;
        using var hook = b.RegisterPostAccumulateGradHook(_ => bCalls++);
        var unused = b * 2f;
        (a * a).Sum().Backward();
        Assert.Equal(0, bCalls);   // b is not in this graph at all: no hook, as in PyTorch
        // Reached through a zero-weighted branch: the gradient is zeros, but final, so the hook runs.
        (a * a + unused.Sum() * 0f).Sum().Backward();
        Assert.Equal(1, bCalls);
        Assert.Equal([0f, 0f], b.Grad!.ToArray());
    }

    [Fact]
    public void Custom_function_backward_matches_finite_differences()
    {
        // f(x) = x³ with a hand-written backward 3x²·g.
        var x = Leaf(0.5f, -1.5f, 2f);
        Tensor Cube(Tensor input)
        {
            Tensor output;
            using (GradMode.NoGrad()) output = input.Detach() * input.Detach() * input.Detach();
            return CustomFunction.Apply("Cube", output, [input], g => [g * input.Detach() * input.Detach() * 3f]);
        }
        var weights = Tensor.FromArray(new float[] { 1, 2, -1 });
        (Cube(x) * weights).Sum().Backward();
        var values = x.ToArray();
        var w = weights.ToArray();
        for (int i = 0; i < 3; i++)
        {
            const double h = 1e-3;
            double plus = Math.Pow(values[i] + h, 3) * w[i], minus = Math.Pow(values[i] - h, 3) * w[i];
            Assert.Equal((plus - minus) / (2 * h), x.Grad!.ToArray()[i], 3);
        }
        Assert.Throws<ArgumentException>(() => CustomFunction.Apply("Bad", x * 2f, [x], g => [g]));
    }
}
