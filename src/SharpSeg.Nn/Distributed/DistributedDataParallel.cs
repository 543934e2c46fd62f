using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace SharpSeg.Nn.Distributed;

/// <summary>
/// Data-parallel gradient averaging over the ranks of a <see cref="IProcessGroup"/>: PyTorch's
/// <c>torch.nn.parallel.DistributedDataParallel</c> reducer (PaddlePaddle's <c>paddle.DataParallel</c>). Every rank holds the
/// same model and runs forward and backward on its own batch; afterwards every parameter's gradient is the sum over ranks
/// divided by the rank count, identical on every rank, so the optimizer steps keep the replicas equal.
/// <para>
/// As in DDP, the trainable parameters are packed into buckets of about <c>bucketMegabytes</c> in reverse registration
/// order (the order backward finishes them), the same buckets on every rank. During backward a post-accumulate hook
/// (<see cref="Tensor.RegisterPostAccumulateGradHook"/>) copies each final gradient into its bucket; a bucket whose
/// gradients are all in starts its allreduce at once (<see cref="IProcessGroup.StartAllReduceSum"/>), in bucket order on
/// every rank, while backward continues with earlier layers. <see cref="FinishGradientReduction"/> waits for them all.
/// </para>
/// <para>
/// A parameter that got no gradient on a rank this step (a branch not taken) contributes zeros; each bucket also sums a
/// "had a gradient" flag per parameter, so a parameter no rank touched keeps a null <see cref="Tensor.Grad"/> (the optimizer
/// skips it), while one that some rank touched gets the average with zeros for the others — what DDP with
/// <c>find_unused_parameters=True</c> does, without its extra graph walk.
/// </para>
/// </summary>
public sealed class DistributedDataParallel : IDisposable
{
    private readonly Module _module;
    private readonly Bucket[] _buckets;
    private readonly Dictionary<Tensor, (Bucket Bucket, int Slot)> _slots = new(ReferenceEqualityComparer.Instance);
    private readonly List<IDisposable> _hooks = [];
    private readonly Tensor[] _buffers;
    private bool _armed;
    private int _nextBucket;

    /// <summary>Buckets the module's trainable parameters and hooks them; no collective runs yet.</summary>
    /// <param name="module">The replica on this rank (the same architecture on every rank).</param>
    /// <param name="group">The ranks.</param>
    /// <param name="bucketMegabytes">Gradient bytes per bucket (DDP's <c>bucket_cap_mb</c>, default 25); a bucket closes once it reaches this.</param>
    public DistributedDataParallel(Module module, IProcessGroup group, double bucketMegabytes = 25)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(group);
        if (!(bucketMegabytes > 0) || double.IsInfinity(bucketMegabytes))
            throw new ArgumentOutOfRangeException(nameof(bucketMegabytes), bucketMegabytes, "DistributedDataParallel: the bucket size must be a positive number of megabytes.");
        _module = module;
        Group = group;
        long capFloats = Math.Max(1, (long)(bucketMegabytes * 1024 * 1024 / sizeof(float)));
        var buckets = new List<Bucket>();
        var current = new List<(string Name, Tensor Parameter)>();
        long floats = 0;
        foreach (var (name, parameter) in module.NamedParameters().Where(p => p.Parameter.RequiresGrad).Reverse())
        {
            current.Add((name, parameter));
            floats += parameter.Numel;
            if (floats >= capFloats)
            {
                buckets.Add(new Bucket([.. current]));
                current.Clear();
                floats = 0;
            }
        }
        if (current.Count > 0) buckets.Add(new Bucket([.. current]));
        _buckets = [.. buckets];
        _buffers = [.. module.NamedBuffers().Select(b => b.Buffer).Distinct(ReferenceEqualityComparer.Instance).Cast<Tensor>()];
        foreach (var bucket in _buckets)
            for (int slot = 0; slot < bucket.Parameters.Length; slot++)
            {
                var parameter = bucket.Parameters[slot];
                _slots[parameter] = (bucket, slot);
                _hooks.Add(parameter.RegisterPostAccumulateGradHook(OnGradientFinal));
            }
    }

    /// <summary>The ranks gradients are averaged over.</summary>
    public IProcessGroup Group { get; }

    /// <summary>The parameter names of each bucket, in the order buckets are reduced (DDP's bucket assignment).</summary>
    public IReadOnlyList<IReadOnlyList<string>> BucketParameterNames => [.. _buckets.Select(b => (IReadOnlyList<string>)b.Names)];

    /// <summary>
    /// Makes every rank's parameters and buffers (BatchNorm running statistics included) equal to rank
    /// <paramref name="root"/>'s, after checking that every rank has the same state-dict keys, shapes and types. Called before
    /// the first step, and after loading pretrained weights or resuming, as DDP broadcasts <c>module.state_dict()</c> from
    /// rank 0 at construction.
    /// </summary>
    /// <exception cref="InvalidOperationException">The ranks' models differ; the message names the first rank that differs.</exception>
    public void BroadcastState(int root = 0)
    {
        var tensors = _module.NamedParameters().Concat(_module.NamedBuffers().Select(b => (b.Name, Parameter: b.Buffer)))
            .DistinctBy(t => t.Parameter, ReferenceEqualityComparer.Instance).ToArray();
        var layout = new StringBuilder();
        foreach (var (name, tensor) in tensors) layout.Append(name).Append(' ').Append(tensor.DType).Append(' ').Append(tensor.Shape).Append('\n');
        var digests = Group.AllGather(SHA256.HashData(Encoding.UTF8.GetBytes(layout.ToString())));
        for (int rank = 0; rank < digests.Length; rank++)
            if (!digests[rank].AsSpan().SequenceEqual(digests[root]))
                throw new InvalidOperationException(
                    $"DistributedDataParallel: rank {rank}'s model has other parameters or buffers (names, shapes or types) than rank {root}'s; " +
                    "every rank must build the same model with the same options.");

        Broadcast([.. tensors.Select(t => t.Parameter)], root);
    }

    /// <summary>
    /// Makes every rank's buffers (BatchNorm running statistics) equal to rank <paramref name="root"/>'s: DDP's
    /// <c>broadcast_buffers=True</c>, done before every forward, so that without SyncBatchNorm every rank normalises and
    /// saves rank 0's statistics.
    /// </summary>
    public void BroadcastBuffers(int root = 0)
    {
        if (_buffers.Length > 0) Broadcast(_buffers, root);
    }

    private void Broadcast(Tensor[] tensors, int root)
    {
        var floats = tensors.Where(t => t.DType == DType.Float32).ToArray();
        var packed = new float[floats.Sum(t => t.Numel)];
        int offset = 0;
        foreach (var tensor in floats)
        {
            var values = tensor.IsContiguous ? tensor.AsSpan() : tensor.Contiguous().AsSpan();
            values.CopyTo(packed.AsSpan(offset));
            offset += values.Length;
        }
        if (packed.Length > 0) Group.Broadcast(packed.AsSpan(), root);
        offset = 0;
        foreach (var tensor in floats)
        {
            int count = (int)tensor.Numel;
            tensor.CopyFrom(Tensor.FromArray(packed.AsSpan(offset, count).ToArray()).Reshape(tensor.Shape.ToArray()));
            offset += count;
        }

        foreach (var tensor in tensors.Where(t => t.DType == DType.Int64))
        {
            var values = tensor.ToArray<long>();
            Group.Broadcast(MemoryMarshal.AsBytes(values.AsSpan()), root);
            tensor.CopyFrom(Tensor.FromArray(values).Reshape(tensor.Shape.ToArray()));
        }
        foreach (var tensor in tensors.Where(t => t.DType == DType.Int32))
        {
            var values = tensor.ToArray<int>();
            Group.Broadcast(MemoryMarshal.AsBytes(values.AsSpan()), root);
            tensor.CopyFrom(Tensor.FromArray(values).Reshape(tensor.Shape.ToArray()));
        }
    }

    /// <summary>
    /// Arms the hooks for the next backward pass: call before <see cref="Tensor.Backward"/> of each step (DDP's
    /// <c>prepare_for_backward</c> at the end of its forward). Backward passes run while not armed (none here) are ignored.
    /// </summary>
    public void PrepareForBackward()
    {
        foreach (var bucket in _buckets) bucket.Reset();
        _nextBucket = 0;
        _armed = true;
    }

    /// <summary>
    /// Completes the step's reduction: buckets whose parameters got no gradient in this backward are filled with zeros and
    /// started (still in bucket order), every bucket is waited for, and each parameter's <see cref="Tensor.Grad"/> becomes
    /// the sum over ranks divided by the rank count. Call after backward and before clipping or the optimizer step.
    /// </summary>
    /// <exception cref="InvalidOperationException"><see cref="PrepareForBackward"/> was not called for this step.</exception>
    public void FinishGradientReduction()
    {
        if (!_armed) throw new InvalidOperationException("DistributedDataParallel.FinishGradientReduction: call PrepareForBackward before the step's backward pass.");
        _armed = false;
        foreach (var bucket in _buckets)
            for (int slot = 0; slot < bucket.Parameters.Length; slot++)
                if (!bucket.IsReady(slot)) bucket.Fill(slot);
        LaunchReadyBuckets();
        float ranks = Group.Size;
        foreach (var bucket in _buckets)
        {
            bucket.Pending!.Wait();
            for (int slot = 0; slot < bucket.Parameters.Length; slot++)
            {
                var parameter = bucket.Parameters[slot];
                if (bucket.UsedFlag(slot) == 0) continue;
                if (parameter.Grad is not { IsContiguous: true, DType: DType.Float32 } grad || grad.Shape != parameter.Shape)
                    parameter.Grad = grad = Tensor.Zeros(parameter.Shape);
                var target = grad.AsSpan();
                var sum = bucket.Values(slot);
                for (int i = 0; i < target.Length; i++) target[i] = sum[i] / ranks;
            }
        }
    }

    /// <summary>Removes the gradient hooks from the parameters.</summary>
    public void Dispose()
    {
        foreach (var hook in _hooks) hook.Dispose();
        _hooks.Clear();
    }

    private void OnGradientFinal(Tensor parameter)
    {
        if (!_armed || !_slots.TryGetValue(parameter, out var place) || place.Bucket.IsReady(place.Slot)) return;
        place.Bucket.Fill(place.Slot);
        LaunchReadyBuckets();
    }

    /// <summary>Starts the complete buckets from the next unstarted one on, stopping at the first incomplete one: the same order on every rank.</summary>
    private void LaunchReadyBuckets()
    {
        while (_nextBucket < _buckets.Length && _buckets[_nextBucket].IsComplete)
        {
            var bucket = _buckets[_nextBucket++];
            bucket.Pending = Group.StartAllReduceSum(bucket.Buffer, 0, bucket.Buffer.Length);
        }
    }

    /// <summary>One bucket: its parameters' gradients back to back, then one "had a gradient" flag per parameter.</summary>
    private sealed class Bucket
    {
        private readonly int[] _offsets;
        private readonly bool[] _ready;
        private int _readyCount;

        public Bucket((string Name, Tensor Parameter)[] members)
        {
            Names = [.. members.Select(m => m.Name)];
            Parameters = [.. members.Select(m => m.Parameter)];
            _offsets = new int[Parameters.Length];
            long offset = 0;
            for (int i = 0; i < Parameters.Length; i++)
            {
                _offsets[i] = (int)offset;
                offset += Parameters[i].Numel;
            }
            if (offset + Parameters.Length > Array.MaxLength)
                throw new ArgumentException($"DistributedDataParallel: parameter '{Names[0]}' alone exceeds the largest bucket .NET can allocate.");
            FlagsOffset = (int)offset;
            Buffer = new float[offset + Parameters.Length];
            _ready = new bool[Parameters.Length];
        }

        public string[] Names { get; }
        public Tensor[] Parameters { get; }
        public float[] Buffer { get; }
        public IPendingReduction? Pending { get; set; }
        private int FlagsOffset { get; }

        public bool IsComplete => _readyCount == Parameters.Length;

        public bool IsReady(int slot) => _ready[slot];

        public void Reset()
        {
            Array.Clear(_ready);
            _readyCount = 0;
            Pending = null;
        }

        /// <summary>Copies the parameter's current gradient (zeros when it has none) into its slot.</summary>
        public void Fill(int slot)
        {
            var parameter = Parameters[slot];
            var target = Buffer.AsSpan(_offsets[slot], (int)parameter.Numel);
            if (parameter.Grad is { } grad)
            {
                (grad.IsContiguous ? grad : grad.Contiguous()).AsSpan().CopyTo(target);
                Buffer[FlagsOffset + slot] = 1;
            }
            else
            {
                target.Clear();
                Buffer[FlagsOffset + slot] = 0;
            }
            _ready[slot] = true;
            _readyCount++;
        }

        public ReadOnlySpan<float> Values(int slot) => Buffer.AsSpan(_offsets[slot], (int)Parameters[slot].Numel);

        public float UsedFlag(int slot) => Buffer[FlagsOffset + slot];
    }
}
