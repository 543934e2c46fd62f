namespace SharpSeg;

public sealed partial class Tensor
{
    /// <summary>A float tensor of zeros. Equivalent to <c>torch.zeros(shape)</c>.</summary>
    public static Tensor Zeros(params int[] shape) => Zeros(new Shape(shape));

    /// <summary>A tensor of zeros of the given type. Equivalent to <c>torch.zeros(shape, dtype=…)</c>.</summary>
    public static Tensor Zeros(Shape shape, DType dtype = DType.Float32) => new(Storage.Allocate(dtype, shape.Numel), shape);

    /// <summary>A float tensor of ones. Equivalent to <c>torch.ones(shape)</c>.</summary>
    public static Tensor Ones(params int[] shape) => Full(new Shape(shape), 1f);

    /// <summary>A float tensor of ones. Equivalent to <c>torch.ones(shape)</c>.</summary>
    public static Tensor Ones(Shape shape) => Full(shape, 1f);

    /// <summary>A float tensor filled with <paramref name="value"/>. Equivalent to <c>torch.full(shape, value)</c>.</summary>
    public static Tensor Full(Shape shape, float value)
    {
        var t = new Tensor(Storage.AllocateUninitialized(DType.Float32, shape.Numel), shape);
        t.Data.Fill(value);
        return t;
    }

    /// <summary>A zero-rank float tensor holding <paramref name="value"/>. Equivalent to <c>torch.tensor(value)</c>.</summary>
    public static Tensor Scalar(float value) => Full(new Shape(), value);

    /// <summary>
    /// start, start + step, … up to but excluding <paramref name="end"/>, as float. Equivalent to <c>torch.arange(start, end, step)</c>.
    /// </summary>
    public static Tensor Arange(float start, float end, float step = 1f)
    {
        if (step == 0 || (end - start) / step < 0) throw new ArgumentException($"Arange: step {step} does not lead from {start} to {end}.");
        int n = (int)Math.Ceiling((end - start) / (double)step);
        var t = new Tensor(Storage.AllocateUninitialized(DType.Float32, n), new Shape(n));
        var data = t.Data;
        for (int i = 0; i < n; i++) data[i] = start + i * step;
        return t;
    }

    /// <summary>0, 1, …, <paramref name="end"/> − 1 as float. Equivalent to <c>torch.arange(end)</c>.</summary>
    public static Tensor Arange(int end) => Arange(0, end);

    /// <summary>A float tensor holding a copy of <paramref name="data"/> in row-major order. Equivalent to <c>torch.tensor(data).reshape(shape)</c>.</summary>
    public static Tensor FromArray(float[] data, params int[] shape) => FromArrayOf(data, shape);

    /// <summary>An int32 tensor holding a copy of <paramref name="data"/>.</summary>
    public static Tensor FromArray(int[] data, params int[] shape) => FromArrayOf(data, shape);

    /// <summary>An int64 tensor holding a copy of <paramref name="data"/> (class labels). Equivalent to <c>torch.tensor(data, dtype=torch.long)</c>.</summary>
    public static Tensor FromArray(long[] data, params int[] shape) => FromArrayOf(data, shape);

    private static Tensor FromArrayOf<T>(T[] data, int[] shape) where T : unmanaged
    {
        var s = shape.Length == 0 ? new Shape(data.Length) : new Shape(shape);
        if (s.Numel != data.Length)
            throw new ShapeMismatchException("FromArray", $"{data.Length} values cannot fill shape {s}");
        return new Tensor(Storage.Wrap((T[])data.Clone()), s);
    }

    /// <summary>Uniform samples in [0, 1) from <paramref name="random"/> (or the engine's seeded generator). Equivalent to <c>torch.rand</c>.</summary>
    public static Tensor Rand(Shape shape, Random? random = null)
    {
        random ??= Engine.Random;
        var t = new Tensor(Storage.AllocateUninitialized(DType.Float32, shape.Numel), shape);
        var data = t.Data;
        for (int i = 0; i < data.Length; i++) data[i] = random.NextSingle();
        return t;
    }

    /// <summary>Standard normal samples (Box–Muller) from <paramref name="random"/> (or the engine's seeded generator). Equivalent to <c>torch.randn</c>.</summary>
    public static Tensor Randn(Shape shape, Random? random = null)
    {
        random ??= Engine.Random;
        var t = new Tensor(Storage.AllocateUninitialized(DType.Float32, shape.Numel), shape);
        var data = t.Data;
        for (int i = 0; i < data.Length; i += 2)
        {
            double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
            double radius = Math.Sqrt(-2.0 * Math.Log(u1)), angle = 2.0 * Math.PI * u2;
            data[i] = (float)(radius * Math.Cos(angle));
            if (i + 1 < data.Length) data[i + 1] = (float)(radius * Math.Sin(angle));
        }
        return t;
    }

    /// <summary>Zeros with this tensor's shape and type. Equivalent to <c>torch.zeros_like</c>.</summary>
    public Tensor ZerosLike() => Zeros(Shape, DType);

    /// <summary>Ones with this tensor's shape. Equivalent to <c>torch.ones_like</c>.</summary>
    public Tensor OnesLike() => Ones(Shape);
}
