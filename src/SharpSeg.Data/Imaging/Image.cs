using System.Numerics;

namespace SharpSeg.Data;

/// <summary>Element type of an <see cref="Image"/>'s samples.</summary>
public enum SampleType
{
    /// <summary>8-bit unsigned samples (most PNG/JPEG/BMP images, label masks).</summary>
    UInt8,
    /// <summary>16-bit unsigned samples (16-bit PNG, remote-sensing bands).</summary>
    UInt16,
    /// <summary>32-bit signed samples (label maps after decoding, class ids).</summary>
    Int32,
    /// <summary>32-bit float samples (images after conversion, NPY float data).</summary>
    Float32,
}

/// <summary>
/// A raster of <see cref="Height"/> × <see cref="Width"/> pixels with <see cref="Channels"/> interleaved
/// samples each (HWC order, as OpenCV and PIL hold images). Colour images are RGB unless the producer says
/// otherwise. Equivalent to the numpy <c>H×W×C</c> arrays that PaddleSeg's transforms receive.
/// </summary>
public abstract class Image
{
    /// <summary>Creates the shape part of an image.</summary>
    protected Image(int height, int width, int channels)
    {
        if (height <= 0 || width <= 0 || channels <= 0)
            throw new ArgumentException($"Image size must be positive, got {height}×{width}×{channels}.");
        Height = height;
        Width = width;
        Channels = channels;
    }

    /// <summary>Rows.</summary>
    public int Height { get; }

    /// <summary>Columns.</summary>
    public int Width { get; }

    /// <summary>Samples per pixel (1 gray or label, 3 RGB, 4 RGBA, N bands).</summary>
    public int Channels { get; }

    /// <summary>The sample type of <see cref="Image{T}.Pixels"/>.</summary>
    public abstract SampleType SampleType { get; }

    /// <summary>Copies the samples into a float image with the same values (no rescaling).</summary>
    public abstract Image<float> ToFloat();

    /// <summary>Copies the samples into an int image with the same values; float samples are truncated.</summary>
    public abstract Image<int> ToInt32();
}

/// <summary>An <see cref="Image"/> whose samples are of type <typeparamref name="T"/>, stored HWC.</summary>
/// <typeparam name="T"><see cref="byte"/>, <see cref="ushort"/>, <see cref="int"/> or <see cref="float"/>.</typeparam>
public sealed class Image<T> : Image where T : unmanaged, INumber<T>
{
    /// <summary>Allocates a zero-filled image.</summary>
    public Image(int height, int width, int channels)
        : this(height, width, channels, new T[checked(height * width * channels)])
    {
    }

    /// <summary>Wraps existing HWC samples (not copied).</summary>
    public Image(int height, int width, int channels, T[] pixels)
        : base(height, width, channels)
    {
        if (pixels.Length != height * width * channels)
            throw new ArgumentException(
                $"Image {height}×{width}×{channels} needs {height * width * channels} samples, got {pixels.Length}.");
        Pixels = pixels;
    }

    /// <summary>The samples in HWC order: index <c>(y * Width + x) * Channels + c</c>.</summary>
    public T[] Pixels { get; }

    /// <summary>Sample at row <paramref name="y"/>, column <paramref name="x"/>, channel <paramref name="c"/>.</summary>
    public T this[int y, int x, int c = 0]
    {
        get => Pixels[(y * Width + x) * Channels + c];
        set => Pixels[(y * Width + x) * Channels + c] = value;
    }

    /// <inheritdoc />
    public override SampleType SampleType => typeof(T) switch
    {
        var t when t == typeof(byte) => SampleType.UInt8,
        var t when t == typeof(ushort) => SampleType.UInt16,
        var t when t == typeof(int) => SampleType.Int32,
        var t when t == typeof(float) => SampleType.Float32,
        _ => throw new NotSupportedException($"Image sample type {typeof(T).Name} is not supported."),
    };

    /// <summary>A deep copy.</summary>
    public Image<T> Clone() => new(Height, Width, Channels, (T[])Pixels.Clone());

    /// <inheritdoc />
    public override Image<float> ToFloat() => Convert<float>();

    /// <inheritdoc />
    public override Image<int> ToInt32() => Convert<int>();

    private Image<TOut> Convert<TOut>() where TOut : unmanaged, INumber<TOut>
    {
        var result = new TOut[Pixels.Length];
        for (int i = 0; i < result.Length; i++)
            result[i] = TOut.CreateTruncating(Pixels[i]);
        return new Image<TOut>(Height, Width, Channels, result);
    }
}
