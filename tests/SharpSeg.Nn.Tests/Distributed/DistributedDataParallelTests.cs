using SharpSeg.Nn.Distributed;

namespace SharpSeg.Nn.Tests.Distributed;

public sealed class DistributedDataParallelTests
{
    /// <summary>conv → relu → conv, plus a head that only rank 1 uses, so one parameter is unused on rank 0 and one everywhere.</summary>
    private sealed class Net : TensorModule
    {
        public Net(int seed)
        {
            Engine.ManualSeed(seed);
            Conv1 = Child("conv1", new Conv2d(2, 4, 3, padding: 1));
            Conv2 = Child("conv2", new Conv2d(4, 3, 1));
            Extra = Child("extra", new Conv2d(4, 3, 1, bias: false));
            Unused = Child("unused", new Conv2d(4, 3, 1, bias: false));
        }

        public Conv2d Conv1 { get; }
        public Conv2d Conv2 { get; }
        public Conv2d Extra { get; }
        public Conv2d Unused { get; }
        public bool UseExtra { get; set; }

        public override Tensor Forward(Tensor x)
        {
            var h = Conv1.Forward(x).Relu();
            var y = Conv2.Forward(h);
            return UseExtra ? y + Extra.Forward(h) : y;
        }
    }

    private static Tensor Input(int seed) => Tensor.Randn(new Shape(2, 2, 5, 5), new Random(seed));

    private static Dictionary<string, float[]?> Gradients(Net net, Tensor input)
    {
        net.ZeroGrad();
        (net.Forward(input) * net.Forward(input)).Mean().Backward();
        return net.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter.Grad?.ToArray());
    }

    [Fact]
    public void Gradients_become_the_mean_over_ranks_and_weights_start_as_rank_zeros()
    {
        // The expected gradients: each rank's computed alone from rank 0's weights.
        var reference = new Net(seed: 1);
        var expected = new[] { Gradients(reference, Input(10)), Gradients(new Net(seed: 1) { UseExtra = true }, Input(11)) };

        var results = ThreadProcessGroup.Run(2, group =>
        {
            var net = new Net(seed: 1 + 4 * group.Rank) { UseExtra = group.Rank == 1 };   // different weights until the broadcast
            using var ddp = new DistributedDataParallel(net, group, bucketMegabytes: 48.0 / (1024 * 1024));
            ddp.BroadcastState();
            var input = Input(10 + group.Rank);
            net.ZeroGrad();
            ddp.PrepareForBackward();
            (net.Forward(input) * net.Forward(input)).Mean().Backward();
            ddp.FinishGradientReduction();
            return (Weights: net.StateDict().ToDictionary(p => p.Key, p => p.Value.ToArray()),
                Grads: net.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter.Grad?.ToArray()), ddp.BucketParameterNames);
        });

        var referenceWeights = reference.StateDict();
        foreach (var (weights, grads, buckets) in results)
        {
            foreach (var (key, value) in referenceWeights) Assert.Equal(value.ToArray(), weights[key]);
            foreach (string name in new[] { "conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias" })
            {
                var mean = expected[0][name]!.Zip(expected[1][name]!, (a, b) => (a + b) / 2).ToArray();
                Assert.Equal(mean, grads[name]!, new RelativeTolerance(1e-6f));
            }
            // Used by rank 1 only: averaged with rank 0's zeros. Used by no rank: no gradient, as if not trained this step.
            Assert.Equal(expected[1]["extra.weight"]!.Select(v => v / 2).ToArray(), grads["extra.weight"]!, new RelativeTolerance(1e-6f));
            Assert.Null(grads["unused.weight"]);
            // 48-byte (12-float) buckets in reverse registration order: every rank reduces the same buckets in the same order.
            Assert.Equal(["unused.weight"], buckets[0]);
            Assert.Equal(["extra.weight"], buckets[1]);
            Assert.Equal(["conv2.bias", "conv2.weight"], buckets[2]);
            Assert.Equal("conv1.weight", buckets[^1][^1]);
        }
    }

    [Fact]
    public void Buckets_start_reducing_during_backward_before_earlier_layers_are_differentiated()
    {
        var started = ThreadProcessGroup.Run(2, group =>
        {
            var recording = new RecordingGroup(group);
            Engine.ManualSeed(1);
            var first = new Conv2d(2, 4, 3, padding: 1);
            var net = new Sequential(first, new Conv2d(4, 3, 1));
            using var ddp = new DistributedDataParallel(net, recording, bucketMegabytes: 48.0 / (1024 * 1024));
            Assert.Equal([["1.bias", "1.weight"], ["0.bias", "0.weight"]], ddp.BucketParameterNames);
            recording.FirstLayerGrad = () => first.Weight.Grad;
            ddp.PrepareForBackward();
            net.Forward(Input(3)).Sum().Backward();
            int duringBackward = recording.StartedBeforeFirstLayerGrad;
            ddp.FinishGradientReduction();
            return duringBackward;
        });
        // The last layer's bucket started while the first layer had no gradient yet.
        Assert.All(started, count => Assert.Equal(1, count));
    }

    [Fact]
    public void Models_that_differ_across_ranks_are_refused()
    {
        var error = Assert.Throws<AggregateException>(() => ThreadProcessGroup.Run(2, group =>
        {
            TensorModule net = group.Rank == 0 ? new Conv2d(2, 4, 3) : new Conv2d(2, 4, 1);
            new DistributedDataParallel(net, group).BroadcastState();
            return 0;
        }));
        Assert.Contains(error.InnerExceptions, e => e.Message.Contains("rank 1's model has other parameters"));
    }

    private sealed class RecordingGroup(IProcessGroup inner) : IProcessGroup
    {
        public Func<Tensor?>? FirstLayerGrad { get; set; }
        public int StartedBeforeFirstLayerGrad { get; private set; }
        public int Rank => inner.Rank;
        public int Size => inner.Size;
        public void AllReduceSum(Span<float> values) => inner.AllReduceSum(values);
        public void AllReduceSum(Span<double> values) => inner.AllReduceSum(values);
        public void AllReduceSum(Span<long> values) => inner.AllReduceSum(values);
        public IPendingReduction StartAllReduceSum(float[] buffer, int offset, int count)
        {
            if (FirstLayerGrad?.Invoke() is null) StartedBeforeFirstLayerGrad++;
            return inner.StartAllReduceSum(buffer, offset, count);
        }
        public void Broadcast(Span<byte> data, int root) => inner.Broadcast(data, root);
        public void Broadcast(Span<float> data, int root) => inner.Broadcast(data, root);
        public byte[][] AllGather(ReadOnlySpan<byte> data) => inner.AllGather(data);
        public void Barrier() => inner.Barrier();
        public void Abort(string message, int errorCode = 1) => inner.Abort(message, errorCode);
        public void Dispose() { }
    }
}

internal sealed class RelativeTolerance(float tolerance) : IEqualityComparer<float>
{
    public bool Equals(float x, float y) => Math.Abs(x - y) <= tolerance * Math.Max(1, Math.Max(Math.Abs(x), Math.Abs(y)));
    public int GetHashCode(float obj) => 0;
}
