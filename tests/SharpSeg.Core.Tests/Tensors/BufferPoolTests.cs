namespace SharpSeg.Core.Tests.Tensors;

/// <summary>
/// <see cref="Engine.ReuseBuffers"/>: buffers of tensors that die in a scope serve later allocations of the same size,
/// tensors that escape keep their values, and results are bit-identical to running without a scope.
/// </summary>
public class BufferPoolTests
{
    // 32,768 floats = 128 KiB: above the pool's large-object threshold.
    private const int Large = 32 * 1024;

    [Fact]
    public void ABufferThatDiedInAScopeServesTheNextAllocationOfItsSize()
    {
        BufferPool.Clear();
        Array first = AllocateAndDrop(Large);
        using (Engine.ReuseBuffers())
        {
            var again = Tensor.Ones(new Shape(Large));
            Assert.Same(first, again.Storage.Data);
        }
    }

    [Fact]
    public void AZeroedAllocationFromThePoolIsZero()
    {
        BufferPool.Clear();
        Array first = AllocateAndDrop(Large, fill: 7f);
        using (Engine.ReuseBuffers())
        {
            var zeros = Tensor.Zeros(new Shape(Large));
            Assert.Same(first, zeros.Storage.Data);
            Assert.All(zeros.ToArray(), v => Assert.Equal(0f, v));
        }
    }

    [Fact]
    public void ATensorReturnedFromAScopeKeepsItsValuesWhileLaterScopesAllocateItsSize()
    {
        BufferPool.Clear();
        Tensor kept;
        using (Engine.ReuseBuffers()) kept = Tensor.Full(new Shape(Large), 3f);
        for (int i = 0; i < 3; i++)
        {
            using (Engine.ReuseBuffers())
            {
                var other = Tensor.Full(new Shape(Large), -1f);
                Assert.NotSame(kept.Storage.Data, other.Storage.Data);
            }
        }
        Assert.All(kept.ToArray(), v => Assert.Equal(3f, v));
    }

    [Fact]
    public void RecycleDeadBuffersPoolsABufferThatDiedBeforeTheScopeEnds()
    {
        BufferPool.Clear();
        using (Engine.ReuseBuffers())
        {
            Array first = FullArray(Large, 5f);
            GC.Collect();
            Engine.RecycleDeadBuffers();
            var again = Tensor.Ones(new Shape(Large));
            Assert.Same(first, again.Storage.Data);
            Assert.All(again.ToArray(), v => Assert.Equal(1f, v));
        }
    }

    [Fact]
    public void AScopeWithoutSafePointsStopsTrackingPastItsLimit()
    {
        BufferPool.Clear();
        long limit = BufferPool.MaximumTrackedBytes;
        BufferPool.MaximumTrackedBytes = 4L * Large * 4;
        try
        {
            using (Engine.ReuseBuffers())
            {
                for (int i = 0; i < 20; i++) Tensor.Ones(new Shape(Large));
                Assert.InRange(BufferPool.TrackedCount, 1, 4);
            }
        }
        finally
        {
            BufferPool.MaximumTrackedBytes = limit;
        }
    }

    [Fact]
    public void PooledBuffersOfASizeNoLongerAskedForAreDropped()
    {
        BufferPool.Clear();
        AllocateAndDrop(Large + 8);
        Assert.True(BufferPool.PooledBytes >= (Large + 8) * 4L);
        for (int i = 0; i <= BufferPool.IdleScopesBeforeTrim + 1; i++)
            using (Engine.ReuseBuffers()) { }
        Assert.Equal(0, BufferPool.PooledBytes);
    }

    [Fact]
    public void AScopeEndedTooOftenIsAClearError()
    {
        var scope = Engine.ReuseBuffers();
        scope.Dispose();
        var error = Assert.Throws<InvalidOperationException>(() => scope.Dispose());
        Assert.Contains("more times than it was started", error.Message);
    }

    [Fact]
    public void TrainingStepsInScopesGiveBitIdenticalWeightsToStepsWithout()
    {
        float[] plain = TrainTinyNet(reuse: false);
        float[] pooled = TrainTinyNet(reuse: true);
        Assert.Equal(plain, pooled);
    }

    /// <summary>Five SGD steps of conv-BN-ReLU-conv on 2×3×40×40 (activations above the pool threshold), each step in a scope or not.</summary>
    private static float[] TrainTinyNet(bool reuse)
    {
        BufferPool.Clear();
        var random = new Random(5);
        Tensor Parameter(params int[] shape)
        {
            var p = Tensor.Randn(new Shape(shape), random) * 0.2f;
            p.RequiresGrad = true;
            return p;
        }
        var (w1, b1, gamma, beta, w2) = (Parameter(16, 3, 3, 3), Parameter(16), Parameter(16), Parameter(16), Parameter(4, 16, 3, 3));
        Tensor[] parameters = [w1, b1, gamma, beta, w2];
        var (runningMean, runningVar) = (Tensor.Zeros(16), Tensor.Ones(16));
        var padding = new Size2(1, 1);
        for (int step = 0; step < 5; step++)
        {
            var input = Tensor.Randn(new Shape(2, 3, 40, 40), random);
            var target = Tensor.Randn(new Shape(2, 4, 40, 40), random);
            BufferScope? scope = reuse ? Engine.ReuseBuffers() : null;
            try
            {
                var hidden = Functional.BatchNorm(Functional.Conv2d(input, w1, b1, padding: padding), runningMean, runningVar, gamma, beta, training: true).Relu();
                var error = Functional.Conv2d(hidden, w2, padding: padding) - target;
                (error * error).Mean().Backward();
                using (GradMode.NoGrad())
                {
                    foreach (var p in parameters)
                    {
                        p.CopyFrom(p - p.Grad! * 0.05f);
                        p.Grad = null;
                    }
                }
            }
            finally
            {
                scope?.Dispose();
            }
        }
        return [.. parameters.SelectMany(p => p.ToArray()), .. runningMean.ToArray(), .. runningVar.ToArray()];
    }

    /// <summary>Allocates a tensor of <paramref name="length"/> floats in a scope and lets it die there; returns its array.</summary>
    private static Array AllocateAndDrop(int length, float fill = 1f)
    {
        Array data;
        using (Engine.ReuseBuffers()) data = FullArray(length, fill);
        // A stale register or stack slot can keep the tensor visible to the first scope's collection; the buffer is
        // then carried to the next scope on this thread, whose end pools it.
        using (Engine.ReuseBuffers()) { }
        Assert.Equal(0, BufferPool.TrackedCount);
        return data;
    }

    // Not inlined, so no stack slot of the caller still holds the tensor when its scope ends.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static Array FullArray(int length, float fill) => Tensor.Full(new Shape(length), fill).Storage.Data;
}
