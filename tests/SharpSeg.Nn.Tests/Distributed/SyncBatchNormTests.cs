using SharpSeg.Nn.Distributed;

namespace SharpSeg.Nn.Tests.Distributed;

public sealed class SyncBatchNormTests
{
    private const int Channels = 3;

    /// <summary>Images [n, 3, 4, 5] with per-channel offsets, so mean and variance differ by channel.</summary>
    private static float[] Images(int n, int seed)
    {
        var random = new Random(seed);
        var values = new float[n * Channels * 20];
        for (int i = 0; i < values.Length; i++) values[i] = (float)(random.NextDouble() * 4 - 1 + (i / 20 % Channels));
        return values;
    }

    private static BatchNorm2d Norm()
    {
        var norm = new BatchNorm2d(Channels);
        norm.Weight!.CopyFrom(Tensor.FromArray([1.5f, -0.5f, 2f], Channels));
        norm.Bias!.CopyFrom(Tensor.FromArray([0.1f, 0.2f, -0.3f], Channels));
        return norm;
    }

    /// <summary>A loss weighting every output value differently, so dx is not trivially zero.</summary>
    private static Tensor Loss(Tensor y, int firstImage)
    {
        var weights = new float[y.Numel];
        int perImage = (int)(y.Numel / y.Shape[0]);
        for (int i = 0; i < weights.Length; i++) weights[i] = MathF.Sin(0.37f * (firstImage * perImage + i));
        return (y * Tensor.FromArray(weights, y.Shape.ToArray())).Sum();
    }

    private sealed record Outcome(float[] Y, float[] Dx, float[] DWeight, float[] DBias, float[] RunningMean, float[] RunningVar, long Tracked);

    private static Outcome Step(BatchNorm2d norm, float[] images, int n, int firstImage)
    {
        var x = Tensor.FromArray(images, n, Channels, 4, 5);
        x.RequiresGrad = true;
        var y = norm.Forward(x);
        Loss(y, firstImage).Backward();
        return new Outcome(y.ToArray(), x.Grad!.ToArray(), norm.Weight!.Grad!.ToArray(), norm.Bias!.Grad!.ToArray(),
            norm.RunningMean!.ToArray(), norm.RunningVar!.ToArray(), norm.NumBatchesTracked);
    }

    [Fact]
    public void Two_ranks_with_uneven_batches_normalise_and_differentiate_as_one_process_with_the_concatenated_batch()
    {
        int[] batch = [1, 3];
        var all = Images(4, seed: 7);
        var single = Step(Norm(), all, 4, 0);

        var ranks = ThreadProcessGroup.Run(2, group =>
        {
            var norm = Norm();
            Assert.Equal(1, SyncBatchNorm.ConvertModules(norm, group));
            int first = group.Rank == 0 ? 0 : batch[0];
            var mine = all.AsSpan(first * Channels * 20, batch[group.Rank] * Channels * 20).ToArray();
            return Step(norm, mine, batch[group.Rank], first);
        });

        var tolerance = new RelativeTolerance(1e-6f);
        Assert.Equal(single.Y, ranks[0].Y.Concat(ranks[1].Y), tolerance);
        Assert.Equal(single.Dx, ranks[0].Dx.Concat(ranks[1].Dx), tolerance);
        // Weight and bias gradients stay local (DDP sums them, here with a summed loss): their sum is the single process's.
        Assert.Equal(single.DWeight, ranks[0].DWeight.Zip(ranks[1].DWeight, (a, b) => a + b), new RelativeTolerance(1e-5f));
        Assert.Equal(single.DBias, ranks[0].DBias.Zip(ranks[1].DBias, (a, b) => a + b), new RelativeTolerance(1e-5f));
        foreach (var rank in ranks)
        {
            // Running statistics from the global mean and the global unbiased variance, identical on every rank.
            Assert.Equal(single.RunningMean, rank.RunningMean, tolerance);
            Assert.Equal(single.RunningVar, rank.RunningVar, tolerance);
            Assert.Equal(1L, rank.Tracked);
        }
    }

    [Fact]
    public void Input_gradient_matches_finite_differences()
    {
        var images = Images(2, seed: 3);
        var norm = Norm();
        var result = ThreadProcessGroup.Run(1, group =>
        {
            SyncBatchNorm.ConvertModules(norm, group);
            var analytic = Step(norm, images, 2, 0);
            double LossAt(float[] values)
            {
                using var _ = GradMode.NoGrad();
                return Loss(norm.Forward(Tensor.FromArray(values, 2, Channels, 4, 5)), 0).Item();
            }
            var numeric = new double[images.Length];
            for (int i = 0; i < images.Length; i += 7)
            {
                const float h = 1e-2f;
                var plus = images.ToArray();
                var minus = images.ToArray();
                plus[i] += h;
                minus[i] -= h;
                numeric[i] = (LossAt(plus) - LossAt(minus)) / (2 * h);
            }
            return (analytic.Dx, numeric);
        })[0];
        for (int i = 0; i < images.Length; i += 7)
            Assert.True(Math.Abs(result.Dx[i] - result.numeric[i]) < 2e-2, $"dx[{i}] = {result.Dx[i]}, finite difference {result.numeric[i]}");
    }

    [Fact]
    public void Conversion_keeps_state_dict_keys_and_evaluation_is_plain_batch_norm()
    {
        var net = new Sequential(new Conv2d(Channels, Channels, 1), Norm(), new Sequential(Norm()));
        var keys = net.StateDict().Keys.ToArray();
        var outcome = ThreadProcessGroup.Run(2, group =>
        {
            int converted = SyncBatchNorm.ConvertModules(net, group);
            return converted;
        });
        Assert.Equal([2, 2], outcome);
        Assert.Equal(keys, net.StateDict().Keys);
        Assert.All(net.Modules().OfType<BatchNorm2d>(), n => Assert.NotNull(n.SyncGroup));

        // Evaluation uses the running statistics and no collective: works outside any rank thread.
        net.Eval();
        var x = Tensor.FromArray(Images(2, seed: 1), 2, Channels, 4, 5);
        var converted = net.Forward(x).ToArray();
        SyncBatchNorm.RevertModules(net);
        Assert.All(net.Modules().OfType<BatchNorm2d>(), n => Assert.Null(n.SyncGroup));
        Assert.Equal(net.Forward(x).ToArray(), converted);
    }
}
