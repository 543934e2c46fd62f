using SharpSeg.Nn.Optim;

namespace SharpSeg.Nn.Tests;

/// <summary>
/// <see cref="Conv2d.ForwardWithBatchNorm"/> and <see cref="Conv2d.Forward"/> in evaluation mode keep folded and packed
/// weights across calls: after an optimizer step, a training forward (new running statistics) or a state-dict load the
/// output must follow the new values, as the separate ops with a graph do.
/// </summary>
public sealed class ConvBatchNormFusionTests
{
    private sealed class Block : TensorModule
    {
        public Block(int seed)
        {
            var random = new Random(seed);
            Conv = Child("conv", new Conv2d(6, 8, 3, padding: 1));
            Bn = Child("bn", new BatchNorm2d(8));
            Head = Child("head", new Conv2d(8, 8, 1));
            Conv.ResetParameters(random);
            Head.ResetParameters(random);
            Init.Uniform(Bn.Weight!, 0.5, 1.5, random);
            Init.Uniform(Bn.Bias!, -0.5, 0.5, random);
        }

        public Conv2d Conv { get; }
        public BatchNorm2d Bn { get; }
        public Conv2d Head { get; }

        public override Tensor Forward(Tensor x)
        {
            var y = Conv.ForwardWithBatchNorm(x, Bn, FusedActivation.Relu);
            return Conv.ForwardWithBatchNorm(x, Bn, FusedActivation.Relu6, residual: Head.Forward(y));
        }

        /// <summary>The same function as separate ops, recorded in a graph (nothing cached, nothing fused).</summary>
        public Tensor Separate(Tensor x)
        {
            var y = Bn.Forward(Conv.Forward(x)).Relu();
            return (Bn.Forward(Conv.Forward(x)) + Head.Forward(y)).Relu6();
        }
    }

    private static Tensor Input(int seed) => Tensor.Randn(new Shape(2, 6, 9, 11), new Random(seed)) * 2f;

    private static float[] Inference(Block block, Tensor x)
    {
        using var _ = GradMode.NoGrad();
        return block.Forward(x).ToArray();
    }

    private static void AssertClose(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 3e-5 * Math.Max(1, Math.Abs(expected[i])), $"{what}[{i}]: {expected[i]} vs {actual[i]}");
    }

    [Fact]
    public void Evaluation_output_follows_an_optimizer_step_and_the_new_running_statistics()
    {
        var block = new Block(1);
        var x = Input(2);
        block.Eval();
        var before = Inference(block, x);
        AssertClose(block.Separate(x).ToArray(), before, "before training");

        // One training step changes the weights (SGD) and the running statistics (BatchNorm's training forward).
        block.Train();
        var optimizer = new Sgd(block.Parameters(), 0.1, momentum: 0.9);
        (block.Forward(Input(3)) * Tensor.Randn(new Shape(2, 8, 9, 11), new Random(4))).Sum().Backward();
        optimizer.Step();
        block.Eval();

        var after = Inference(block, x);
        Assert.NotEqual(before, after);
        AssertClose(block.Separate(x).ToArray(), after, "after training");
    }

    [Fact]
    public void Evaluation_output_follows_a_state_dict_load()
    {
        var block = new Block(1);
        var other = new Block(7);
        foreach (var module in new[] { block, other }) module.Eval();
        Init.Uniform(other.Bn.RunningMean!, -1, 1, new Random(8));
        Init.Uniform(other.Bn.RunningVar!, 0.5, 2, new Random(9));
        var x = Input(5);
        var before = Inference(block, x);

        block.LoadStateDict(other.StateDict());
        var after = Inference(block, x);
        Assert.NotEqual(before, after);
        AssertClose(Inference(other, x), after, "loaded");
        AssertClose(other.Separate(x).ToArray(), after, "loaded, separate ops");
    }

    [Fact]
    public void Training_mode_runs_the_separate_ops_bit_for_bit()
    {
        var fusedApi = new Block(3);
        var separate = new Block(3);
        var x = Input(6);
        Assert.Equal(separate.Separate(x).ToArray(), fusedApi.Forward(x).ToArray());
        Assert.Equal(separate.Bn.RunningMean!.ToArray(), fusedApi.Bn.RunningMean!.ToArray());
        Assert.Equal(separate.Bn.RunningVar!.ToArray(), fusedApi.Bn.RunningVar!.ToArray());
    }

    [Fact]
    public void Training_ReLU_and_residual_ReLU_fused_into_the_batch_norm_give_the_separate_ops_gradients_bit_for_bit()
    {
        // relu(bn(conv(x))) then relu(bn(conv(x)) + head(y)): the two fused training forms (BatchNormRelu, BatchNormAddRelu).
        static (float[] Output, float[][] Grads, long Tracked) Step(bool fused)
        {
            var block = new Block(4);
            block.Train();
            var x = Input(7);
            Tensor output;
            if (fused)
            {
                var y = block.Conv.ForwardWithBatchNorm(x, block.Bn, FusedActivation.Relu);
                output = block.Conv.ForwardWithBatchNorm(x, block.Bn, FusedActivation.Relu, residual: block.Head.Forward(y));
            }
            else
            {
                var y = block.Bn.Forward(block.Conv.Forward(x)).Relu();
                output = (block.Bn.Forward(block.Conv.Forward(x)) + block.Head.Forward(y)).Relu();
            }
            (output * Tensor.Randn(output.Shape, new Random(8))).Sum().Backward();
            return (output.ToArray(), [.. block.Parameters().Select(p => p.Grad!.ToArray())], block.Bn.NumBatchesTracked);
        }

        var (fusedOutput, fusedGrads, fusedTracked) = Step(fused: true);
        var (separateOutput, separateGrads, separateTracked) = Step(fused: false);
        Assert.Equal(separateOutput, fusedOutput);
        Assert.Equal(separateGrads.Length, fusedGrads.Length);
        for (int i = 0; i < separateGrads.Length; i++) Assert.Equal(separateGrads[i], fusedGrads[i]);
        Assert.Equal(2, fusedTracked);
        Assert.Equal(separateTracked, fusedTracked);
    }

    [Fact]
    public void A_frozen_batch_norm_folds_in_inference_and_runs_as_its_own_ops_in_a_graph()
    {
        var random = new Random(11);
        var conv = new Conv2d(6, 8, 3, padding: 1);
        conv.ResetParameters(random);
        var frozen = new FrozenBatchNorm2d(8);
        Init.Uniform(frozen.Weight, 0.5, 1.5, random);
        Init.Uniform(frozen.Bias, -0.5, 0.5, random);
        Init.Uniform(frozen.RunningMean, -0.3, 0.3, random);
        Init.Uniform(frozen.RunningVar, 0.5, 2.0, random);
        var x = Input(12);
        var residual = Tensor.Randn(new Shape(2, 8, 9, 11), new Random(13));
        var expected = (frozen.Forward(conv.Forward(x)) + residual).Relu().ToArray();

        float[] fused;
        using (GradMode.NoGrad()) fused = conv.ForwardWithNorm(x, frozen, FusedActivation.Relu, residual).ToArray();
        AssertClose(expected, fused, "folded");

        // With a graph the input gradient flows through the frozen statistics exactly as through FrozenBatchNorm2d.
        var xg = x.Detach();
        xg.RequiresGrad = true;
        conv.ForwardWithNorm(xg, frozen, FusedActivation.Relu, residual).Sum().Backward();
        var xs = x.Detach();
        xs.RequiresGrad = true;
        (frozen.Forward(conv.Forward(xs)) + residual).Relu().Sum().Backward();
        AssertClose(xs.Grad!.ToArray(), xg.Grad!.ToArray(), "input gradient");
        Assert.Null(frozen.Weight.Grad);
    }
}
