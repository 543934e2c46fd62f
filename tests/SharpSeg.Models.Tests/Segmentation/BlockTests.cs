using SharpSeg.Nn;

namespace SharpSeg.Models.Tests.Segmentation;

/// <summary>Shared blocks: keys, padding and values computed by hand.</summary>
public class BlockTests
{
    private static void SetBatchNorm(BatchNorm2d bn, float weight, float bias, float mean, float variance)
    {
        bn.Weight!.CopyFrom(Tensor.Full(bn.Weight.Shape, weight));
        bn.Bias!.CopyFrom(Tensor.Full(bn.Bias.Shape, bias));
        bn.RunningMean!.CopyFrom(Tensor.Full(bn.RunningMean.Shape, mean));
        bn.RunningVar!.CopyFrom(Tensor.Full(bn.RunningVar.Shape, variance));
    }

    [Fact]
    public void ConvBnActHasTorchKeysNoConvBiasAndSamePaddingForDilatedKernels()
    {
        var block = new ConvBnAct(2, 3, 3, dilation: 2);
        Assert.Equal(["conv.weight", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var", "bn.num_batches_tracked"], block.StateDict().Keys);
        Assert.Equal(new Size2(2, 2), block.Conv.Options.Padding);
        block.Eval();
        Assert.Equal(new Shape(1, 3, 9, 7), block.Forward(Tensor.Zeros(1, 2, 9, 7)).Shape);
        Assert.Contains("conv.bias", new ConvBnAct(2, 3, 1, bias: true).StateDict().Keys);
    }

    [Fact]
    public void ConvBnActComputesConvThenEvalBatchNormThenActivation()
    {
        // 1×1 conv with weight 2 on x = [−1, 3, −5]: [−2, 6, −10]; BN (γ 0.5, β 1, mean 2, var 4 − eps): 0.5·(y − 2)/2 + 1
        // = [0, 2, −2]; ReLU gives [0, 2, 0].
        var block = new ConvBnAct(1, 1, 1);
        block.Conv.Weight.CopyFrom(Tensor.Full(block.Conv.Weight.Shape, 2f));
        SetBatchNorm(block.Bn, 0.5f, 1f, 2f, 4f - 1e-5f);
        block.Eval();
        var x = Tensor.FromArray([-1f, 3f, -5f], 1, 1, 1, 3);
        Assert.Equal([0f, 2f, 0f], block.Forward(x).ToArray());

        var linear = new ConvBnAct(1, 1, 1, activation: Activation.None);
        linear.Conv.Weight.CopyFrom(Tensor.Full(linear.Conv.Weight.Shape, 2f));
        SetBatchNorm(linear.Bn, 0.5f, 1f, 2f, 4f - 1e-5f);
        linear.Eval();
        Assert.Equal([0f, 2f, -2f], linear.Forward(x).ToArray(), new ToleranceComparer(1e-5f));
    }

    [Fact]
    public void SeparableConvRunsDepthwiseThenPointwiseWithAnOptionalDepthwiseActivation()
    {
        // Two channels, a 3×3 map of −1 in channel 0 and +1 in channel 1, depthwise weights all 1: the centre sums to −9 and 9.
        // Pointwise weights (1, −1). BN are identities (γ 1, β 0, mean 0, var 1 − eps).
        SeparableConv Build(bool depthwiseActivation)
        {
            var block = new SeparableConv(2, 1, 3, depthwiseActivation: depthwiseActivation);
            block.Depthwise.Conv.Weight.CopyFrom(Tensor.Ones(block.Depthwise.Conv.Weight.Shape));
            block.Pointwise.Conv.Weight.CopyFrom(Tensor.FromArray([1f, -1f], 1, 2, 1, 1));
            SetBatchNorm(block.Depthwise.Bn, 1, 0, 0, 1 - 1e-5f);
            SetBatchNorm(block.Pointwise.Bn, 1, 0, 0, 1 - 1e-5f);
            block.Eval();
            return block;
        }
        var x = Tensor.Cat([Tensor.Full(new Shape(1, 1, 3, 3), -1f), Tensor.Ones(1, 1, 3, 3)], axis: 1);
        Assert.Equal(2, Build(true).Depthwise.Conv.Options.Groups);
        // Activated depthwise: relu(−9) = 0, relu(9) = 9; pointwise 0 − 9 = −9, relu → 0.
        Assert.Equal(0f, Build(true).Forward(x).ToArray()[4], 4);
        // Linear depthwise: −9 − 9 = −18, relu → 0; flip the pointwise sign to see it: −(−9) + 9 = 18.
        var linear = Build(false);
        linear.Pointwise.Conv.Weight.CopyFrom(Tensor.FromArray([-1f, 1f], 1, 2, 1, 1));
        Assert.Equal(18f, linear.Forward(x).ToArray()[4], 4);
        Assert.Equal(["depthwise.conv.weight", "depthwise.bn.weight"], linear.StateDict().Keys.Take(2));
    }

    [Fact]
    public void SqueezeExciteScalesEachChannelByItsGate()
    {
        // Channel means 1 and 3; reduce weights (1, 1), bias 0 → 4, ReLU 4; expand weights (0.5, −0.25), biases (0, 1) → (2, 0);
        // sigmoid gates σ(2), σ(0) = 0.5.
        var se = new SqueezeExcite(2, 1);
        se.ConvReduce.Weight.CopyFrom(Tensor.Ones(se.ConvReduce.Weight.Shape));
        se.ConvReduce.Bias!.CopyFrom(Tensor.Zeros(1));
        se.ConvExpand.Weight.CopyFrom(Tensor.FromArray([0.5f, -0.25f], 2, 1, 1, 1));
        se.ConvExpand.Bias!.CopyFrom(Tensor.FromArray([0f, 1f], 2));
        var x = Tensor.FromArray([0f, 2f, 1f, 5f], 1, 2, 1, 2);
        var y = se.Forward(x).ToArray();
        float g0 = 1 / (1 + MathF.Exp(-2));
        Assert.Equal([0f, 2 * g0, 0.5f, 2.5f], y, new ToleranceComparer(1e-6f));
        Assert.Equal(["conv_reduce.weight", "conv_reduce.bias", "conv_expand.weight", "conv_expand.bias"], se.StateDict().Keys);
    }

    [Fact]
    public void InvertedResidualAddsTheInputOnlyAtStride1WithEqualChannels()
    {
        var block = new InvertedResidual(4, 4, stride: 1, expandRatio: 6, seReducedChannels: 2);
        Assert.True(block.HasResidual);
        Assert.Equal(new Shape(24, 4, 1, 1), block.ConvPw!.Conv.Weight.Shape);
        Assert.Equal(24, block.ConvDw.Conv.Options.Groups);
        Assert.Equal(Activation.None, block.ConvPwl.Activation);
        // A zero projection scale makes the branch output exactly zero: the block returns its input.
        SetBatchNorm(block.ConvPwl.Bn, 0, 0, 0, 1);
        block.Eval();
        var x = Tensor.Randn(new Shape(1, 4, 5, 5), new Random(2));
        Assert.Equal(x.ToArray(), block.Forward(x).ToArray());

        var down = new InvertedResidual(4, 8, stride: 2, expandRatio: 1);
        Assert.False(down.HasResidual);
        Assert.Null(down.ConvPw);
        Assert.DoesNotContain(down.StateDict().Keys, k => k.StartsWith("conv_pw.", StringComparison.Ordinal));
        down.Eval();
        Assert.Equal(new Shape(1, 8, 3, 3), down.Forward(x).Shape);
    }

    private sealed class ToleranceComparer(float tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float a, float b) => Math.Abs(a - b) <= tolerance;

        public int GetHashCode(float value) => 0;
    }
}
