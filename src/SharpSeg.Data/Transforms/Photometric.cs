namespace SharpSeg.Data.Transforms;

/// <summary>
/// Standardizes each channel: <c>((x − min) / (max − min) − mean) / std</c>, with min 0 and max 255 unless
/// given (per-band min/max serve remote-sensing data). Equivalent to <c>paddleseg.transforms.Normalize(mean, std)</c>
/// and <c>paddlex.seg.transforms.Normalize(mean, std, min_val, max_val)</c>.
/// </summary>
public sealed class Normalize : ISegTransform
{
    /// <summary>Creates the transform; each list has one entry per channel, or one entry for every channel.</summary>
    /// <param name="mean">Subtracted after rescaling to [0, 1] (default 0.5).</param>
    /// <param name="std">Divides after the mean (default 0.5).</param>
    /// <param name="minValue">Per-band value mapped to 0 (default 0).</param>
    /// <param name="maxValue">Per-band value mapped to 1 (default 255).</param>
    public Normalize(IReadOnlyList<float>? mean = null, IReadOnlyList<float>? std = null,
        IReadOnlyList<float>? minValue = null, IReadOnlyList<float>? maxValue = null)
    {
        Mean = [.. mean ?? [0.5f, 0.5f, 0.5f]];
        Std = [.. std ?? [0.5f, 0.5f, 0.5f]];
        MinValue = [.. minValue ?? [0f]];
        MaxValue = [.. maxValue ?? [255f]];
        if (Mean.Count == 0 || Std.Count == 0 || MinValue.Count == 0 || MaxValue.Count == 0)
            throw new ArgumentException("Normalize: mean, std, minValue and maxValue need at least one value.");
        if (Std.Any(s => s == 0))
            throw new ArgumentException($"Normalize: std must be non-zero, got [{string.Join(", ", Std)}].");
    }

    /// <summary>Per-channel mean.</summary>
    public IReadOnlyList<float> Mean { get; }
    /// <summary>Per-channel standard deviation.</summary>
    public IReadOnlyList<float> Std { get; }
    /// <summary>Per-band minimum.</summary>
    public IReadOnlyList<float> MinValue { get; }
    /// <summary>Per-band maximum.</summary>
    public IReadOnlyList<float> MaxValue { get; }

    /// <inheritdoc />
    public void Apply(SegSample sample, Random random)
    {
        var image = sample.Image;
        int channels = image.Channels;
        Span<float> offset = stackalloc float[channels], range = stackalloc float[channels];
        Span<float> mean = stackalloc float[channels], std = stackalloc float[channels];
        for (int c = 0; c < channels; c++)
        {
            offset[c] = PerChannel(MinValue, c, channels, "Normalize", "min_val");
            range[c] = PerChannel(MaxValue, c, channels, "Normalize", "max_val") - offset[c];
            mean[c] = PerChannel(Mean, c, channels, "Normalize", "mean");
            std[c] = PerChannel(Std, c, channels, "Normalize", "std");
            if (range[c] == 0)
                throw new ArgumentException($"Normalize: maxValue equals minValue for channel {c}.");
        }
        var result = new float[image.Pixels.Length];
        for (int p = 0; p < result.Length; p += channels)
            for (int c = 0; c < channels; c++)
            {
                float rescaled = (image.Pixels[p + c] - offset[c]) / range[c];
                result[p + c] = (rescaled - mean[c]) / std[c];
            }
        sample.Image = new Image<float>(image.Height, image.Width, channels, result);
    }

    /// <summary>The value for <paramref name="channel"/>: one value serves every band, otherwise one per band, never cut or padded.</summary>
    internal static float PerChannel(IReadOnlyList<float> values, int channel, int channels, string transform, string parameter) =>
        values.Count == 1 ? values[0]
        : values.Count == channels ? values[channel]
        : throw new InvalidDataException(
            $"{transform}: {parameter} has {values.Count} values but the image has {channels} bands; give one value per band or a single value for all.");
}

/// <summary>
/// Clamps each band to [min, max]. Equivalent to <c>paddlex.seg.transforms.Clip(min_val, max_val)</c>.
/// </summary>
public sealed class Clip : ISegTransform
{
    /// <summary>Creates the transform; one value per band, or one value for every band.</summary>
    public Clip(IReadOnlyList<float>? minValue = null, IReadOnlyList<float>? maxValue = null)
    {
        MinValue = [.. minValue ?? [0f]];
        MaxValue = [.. maxValue ?? [255f]];
        if (MinValue.Count == 0 || MaxValue.Count == 0)
            throw new ArgumentException("Clip: minValue and maxValue need at least one value.");
    }

    /// <summary>Per-band lower bound.</summary>
    public IReadOnlyList<float> MinValue { get; }
    /// <summary>Per-band upper bound.</summary>
    public IReadOnlyList<float> MaxValue { get; }

    /// <inheritdoc />
    public void Apply(SegSample sample, Random random)
    {
        var image = sample.Image;
        int channels = image.Channels;
        var result = new float[image.Pixels.Length];
        for (int c = 0; c < channels; c++)
        {
            float low = Normalize.PerChannel(MinValue, c, channels, "Clip", "min_val");
            float high = Normalize.PerChannel(MaxValue, c, channels, "Clip", "max_val");
            if (low > high)
                throw new ArgumentException($"Clip: minValue {low} exceeds maxValue {high} for band {c}.");
            for (int i = c; i < result.Length; i += channels)
                result[i] = Math.Clamp(image.Pixels[i], low, high);
        }
        sample.Image = new Image<float>(image.Height, image.Width, channels, result);
    }
}

/// <summary>Kernel shapes of <see cref="RandomBlur"/>.</summary>
public enum BlurType
{
    /// <summary><c>cv2.GaussianBlur(ksize, sigma=0)</c>.</summary>
    Gaussian,
    /// <summary><c>cv2.medianBlur</c>.</summary>
    Median,
    /// <summary><c>cv2.blur</c> (box filter).</summary>
    Box,
    /// <summary>Per sample, a uniform draw below 0.3 picks Gaussian, below 0.6 median, else box (PaddleSeg's <c>'random'</c>).</summary>
    Random,
}

/// <summary>
/// With probability about <see cref="Probability"/> (one in <c>int(1/prob)</c>), blurs the image (as uint8) with
/// an odd kernel of 3–9 pixels. Equivalent to <c>paddleseg.transforms.RandomBlur(prob=0.1, blur_type='gaussian')</c>.
/// </summary>
public sealed class RandomBlur : ISegTransform
{
    /// <summary>Creates the transform.</summary>
    public RandomBlur(double probability = 0.1, BlurType blurType = BlurType.Gaussian)
    {
        Sampling.CheckProbability(probability, nameof(probability));
        Probability = probability;
        BlurType = blurType;
    }

    /// <summary>Chance of blurring.</summary>
    public double Probability { get; }
    /// <summary>Kernel shape.</summary>
    public BlurType BlurType { get; }

    /// <inheritdoc />
    public void Apply(SegSample sample, Random random)
    {
        int oneIn = Probability <= 0 ? 0 : Probability >= 1 ? 1 : (int)(1.0 / Probability);
        if (oneIn == 0 || random.RandInt(oneIn) != 0)
            return;
        int size = random.Next(3, 10);
        if (size % 2 != 1)
            size++;
        size = Math.Min(size, 9);
        var type = BlurType;
        if (type == BlurType.Random) type = RandomType(random.NextDouble());
        sample.Image = Blur(ImageOps.TruncateToByteRange(sample.Image), type, size);
    }

    /// <summary>The kernel PaddleSeg's <c>blur_type='random'</c> picks for a uniform draw <paramref name="select"/>.</summary>
    internal static BlurType RandomType(double select) => select < 0.3 ? BlurType.Gaussian : select < 0.6 ? BlurType.Median : BlurType.Box;

    /// <summary>The blur of a whole-number 0–255 image with an odd kernel size; OpenCV's 8-bit results exactly.</summary>
    internal static Image<float> Blur(Image<float> image, BlurType type, int size)
    {
        if (type == BlurType.Median)
            return ImageOps.MedianFilter(image, size);
        if (type == BlurType.Gaussian)
            return ImageOps.FixedPointFilter(image, GaussianKernelFixedPoint(size));
        // cv2.blur on uint8 sums the window as integers, then scales and rounds.
        var sums = ImageOps.SeparableFilter(image, Enumerable.Repeat(1f, size).ToArray());
        double scale = 1.0 / (size * size);
        for (int i = 0; i < sums.Pixels.Length; i++)
            sums.Pixels[i] = (float)Math.Round(sums.Pixels[i] * scale, MidpointRounding.ToEven);
        return sums;
    }

    /// <summary>
    /// OpenCV's bit-exact 8-bit Gaussian kernel (<c>getGaussianKernelBitExact</c>) in 1/256 units: fixed tables up
    /// to 7 taps, else sigma 0.15·size + 0.35, each side tap rounded, the centre taking the rest so the sum is 256.
    /// </summary>
    internal static int[] GaussianKernelFixedPoint(int size)
    {
        switch (size)
        {
            case 1: return [256];
            case 3: return [64, 128, 64];
            case 5: return [16, 64, 96, 64, 16];
            case 7: return [8, 28, 56, 72, 56, 28, 8];
        }
        double sigma = size * 0.15 + 0.35, scale = -0.125 / (sigma * sigma);
        int half = (size - 1) / 2;
        var values = new double[half];
        double sum = 0;
        for (int i = 0, x = 1 - size; i < half; i++, x += 2)
        {
            values[i] = Math.Exp(x * x * scale);
            sum += values[i];
        }
        sum = sum * 2 + 1;
        var kernel = new int[size];
        int sides = 0;
        for (int i = 0; i < half; i++)
        {
            kernel[i] = kernel[size - 1 - i] = (int)Math.Round(values[i] / sum * 256, MidpointRounding.ToEven);
            sides += kernel[i];
        }
        kernel[half] = 256 - 2 * sides;
        return kernel;
    }
}

/// <summary>
/// Photometric jitter in random order, each part applied with its own probability: brightness, contrast and
/// saturation by a factor in [1 − range, 1 + range] (PIL <c>ImageEnhance</c>, blending with black, the mean grey
/// and the per-pixel grey), hue by a shift in ±<c>hueRange</c> on PIL's 0–255 HSV hue, sharpness (PIL
/// <c>ImageFilter.SMOOTH</c> blend). Works on uint8 values like PaddleSeg (the image is truncated to 0–255 first);
/// gray images skip the saturation and hue parts, other channel counts are an error.
/// Equivalent to <c>paddleseg.transforms.RandomDistort(brightness_range=0.5, brightness_prob=0.5, contrast_range=0.5,
/// contrast_prob=0.5, saturation_range=0.5, saturation_prob=0.5, hue_range=18, hue_prob=0.5, sharpness_range=0.5,
/// sharpness_prob=0)</c>.
/// </summary>
public sealed class RandomDistort : ISegTransform
{
    /// <summary>Creates the transform.</summary>
    public RandomDistort(double brightnessRange = 0.5, double brightnessProbability = 0.5,
        double contrastRange = 0.5, double contrastProbability = 0.5,
        double saturationRange = 0.5, double saturationProbability = 0.5,
        double hueRange = 18, double hueProbability = 0.5,
        double sharpnessRange = 0.5, double sharpnessProbability = 0)
    {
        Sampling.CheckProbability(brightnessProbability, nameof(brightnessProbability));
        Sampling.CheckProbability(contrastProbability, nameof(contrastProbability));
        Sampling.CheckProbability(saturationProbability, nameof(saturationProbability));
        Sampling.CheckProbability(hueProbability, nameof(hueProbability));
        Sampling.CheckProbability(sharpnessProbability, nameof(sharpnessProbability));
        BrightnessRange = brightnessRange;
        BrightnessProbability = brightnessProbability;
        ContrastRange = contrastRange;
        ContrastProbability = contrastProbability;
        SaturationRange = saturationRange;
        SaturationProbability = saturationProbability;
        HueRange = hueRange;
        HueProbability = hueProbability;
        SharpnessRange = sharpnessRange;
        SharpnessProbability = sharpnessProbability;
    }

    /// <summary>Brightness factor spread around 1.</summary>
    public double BrightnessRange { get; }
    /// <summary>Chance of a brightness change.</summary>
    public double BrightnessProbability { get; }
    /// <summary>Contrast factor spread around 1.</summary>
    public double ContrastRange { get; }
    /// <summary>Chance of a contrast change.</summary>
    public double ContrastProbability { get; }
    /// <summary>Saturation factor spread around 1.</summary>
    public double SaturationRange { get; }
    /// <summary>Chance of a saturation change.</summary>
    public double SaturationProbability { get; }
    /// <summary>Largest hue shift, in PIL's 0–255 hue units.</summary>
    public double HueRange { get; }
    /// <summary>Chance of a hue shift.</summary>
    public double HueProbability { get; }
    /// <summary>Sharpness factor spread around 1.</summary>
    public double SharpnessRange { get; }
    /// <summary>Chance of a sharpness change.</summary>
    public double SharpnessProbability { get; }

    private enum Operation { Brightness, Contrast, Saturation, Hue, Sharpness }

    /// <inheritdoc />
    public void Apply(SegSample sample, Random random)
    {
        int channels = sample.Image.Channels;
        if (channels != 1 && channels != 3)
            throw new InvalidDataException(
                $"RandomDistort: image {sample.Source} has {channels} channels; only gray (1) or RGB (3) images can be distorted.");
        Operation[] order = [Operation.Brightness, Operation.Contrast, Operation.Saturation, Operation.Hue, Operation.Sharpness];
        random.Shuffle(order);

        var pixels = ImageOps.TruncateToByteRange(sample.Image);
        foreach (var operation in order)
        {
            var (range, probability) = operation switch
            {
                Operation.Brightness => (BrightnessRange, BrightnessProbability),
                Operation.Contrast => (ContrastRange, ContrastProbability),
                Operation.Saturation => (SaturationRange, SaturationProbability),
                Operation.Hue => (HueRange, HueProbability),
                _ => (SharpnessRange, SharpnessProbability),
            };
            if (random.NextDouble() >= probability)
                continue;
            double amount = operation == Operation.Hue ? random.Uniform(-range, range) : random.Uniform(1 - range, 1 + range);
            pixels = operation switch
            {
                Operation.Brightness => ColorOps.Brightness(pixels, amount),
                Operation.Contrast => ColorOps.Contrast(pixels, amount),
                Operation.Saturation => ColorOps.Saturation(pixels, amount),
                Operation.Hue => ColorOps.Hue(pixels, amount),
                _ => ColorOps.Sharpness(pixels, amount),
            };
        }
        sample.Image = pixels;
    }
}
