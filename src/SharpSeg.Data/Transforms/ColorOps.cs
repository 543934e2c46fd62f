namespace SharpSeg.Data.Transforms;

/// <summary>
/// Pillow's colour operations on whole-number 0–255 images, reproduced to the rounding: <c>ImageEnhance</c> is
/// <c>Image.blend(degenerate, image, factor)</c>, which truncates (and clips when the factor leaves [0, 1]).
/// </summary>
internal static class ColorOps
{
    /// <summary><c>ImageEnhance.Brightness(im).enhance(factor)</c>: blend with black.</summary>
    public static Image<float> Brightness(Image<float> image, double factor) =>
        Blend(image, factor, constant: 0f, degenerate: null);

    /// <summary><c>ImageEnhance.Contrast(im).enhance(factor)</c>: blend with the rounded mean luma.</summary>
    public static Image<float> Contrast(Image<float> image, double factor)
    {
        double sum = 0;
        int pixels = image.Height * image.Width;
        for (int p = 0; p < pixels; p++)
            sum += Luma(image, p);
        float mean = (int)(sum / pixels + 0.5);
        return Blend(image, factor, constant: mean, degenerate: null);
    }

    /// <summary><c>ImageEnhance.Color(im).enhance(factor)</c>: blend with each pixel's luma (identity on gray).</summary>
    public static Image<float> Saturation(Image<float> image, double factor)
    {
        if (image.Channels == 1)
            return image;
        var gray = new float[image.Pixels.Length];
        for (int p = 0; p < image.Height * image.Width; p++)
            gray.AsSpan(p * image.Channels, image.Channels).Fill(Luma(image, p));
        return Blend(image, factor, constant: 0f, degenerate: gray);
    }

    /// <summary><c>ImageEnhance.Sharpness(im).enhance(factor)</c>: blend with <c>ImageFilter.SMOOTH</c>.</summary>
    public static Image<float> Sharpness(Image<float> image, double factor)
    {
        var smooth = Smooth(image);
        return Blend(image, factor, constant: 0f, degenerate: smooth.Pixels);
    }

    /// <summary>
    /// PaddleSeg's <c>functional.hue</c>: RGB → Pillow HSV (hue 0–255), hue += delta stored back as uint8 (truncated,
    /// wrapping), HSV → RGB. Gray images are returned unchanged.
    /// </summary>
    public static Image<float> Hue(Image<float> image, double delta)
    {
        if (image.Channels == 1)
            return image;
        var result = new Image<float>(image.Height, image.Width, 3);
        Span<byte> hsv = stackalloc byte[3];
        Span<byte> rgb = stackalloc byte[3];
        for (int i = 0; i < image.Pixels.Length; i += 3)
        {
            RgbToHsv((byte)image.Pixels[i], (byte)image.Pixels[i + 1], (byte)image.Pixels[i + 2], hsv);
            hsv[0] = unchecked((byte)(int)(hsv[0] + delta));
            HsvToRgb(hsv[0], hsv[1], hsv[2], rgb);
            result.Pixels[i] = rgb[0];
            result.Pixels[i + 1] = rgb[1];
            result.Pixels[i + 2] = rgb[2];
        }
        return result;
    }

    /// <summary>Pillow's <c>convert("L")</c> of pixel <paramref name="p"/>: (19595 R + 38470 G + 7471 B + 2¹⁵) ≫ 16.</summary>
    private static float Luma(Image<float> image, int p)
    {
        if (image.Channels == 1)
            return image.Pixels[p];
        int i = p * image.Channels;
        return ((int)image.Pixels[i] * 19595 + (int)image.Pixels[i + 1] * 38470 + (int)image.Pixels[i + 2] * 7471 + 0x8000) >> 16;
    }

    /// <summary>
    /// Pillow's <c>ImagingBlend</c>: <c>(uint8)(degenerate + alpha (image − degenerate))</c> in float, the
    /// degenerate image given per sample or as one constant.
    /// </summary>
    private static Image<float> Blend(Image<float> image, double factor, float constant, float[]? degenerate)
    {
        float alpha = (float)factor;
        var result = new Image<float>(image.Height, image.Width, image.Channels);
        for (int i = 0; i < image.Pixels.Length; i++)
        {
            float from = degenerate is null ? constant : degenerate[i];
            float blended = from + alpha * (image.Pixels[i] - from);
            result.Pixels[i] = blended <= 0 ? 0 : blended >= 255 ? 255 : MathF.Truncate(blended);
        }
        return result;
    }

    /// <summary>Pillow's 3×3 <c>SMOOTH</c> filter (weights 1, centre 5, over 13); the one-pixel border is copied.</summary>
    private static Image<float> Smooth(Image<float> image)
    {
        int h = image.Height, w = image.Width, channels = image.Channels;
        var result = image.Clone();
        for (int y = 1; y < h - 1; y++)
            for (int x = 1; x < w - 1; x++)
                for (int c = 0; c < channels; c++)
                {
                    float sum = 0;
                    for (int dy = -1; dy <= 1; dy++)
                        for (int dx = -1; dx <= 1; dx++)
                            sum += image[y + dy, x + dx, c] * (dy == 0 && dx == 0 ? 5f / 13f : 1f / 13f);
                    result[y, x, c] = sum <= 0 ? 0 : sum >= 255 ? 255 : (int)(sum + 0.5f);
                }
        return result;
    }

    /// <summary>Pillow's <c>rgb2hsv_row</c> (hue and saturation scaled to 0–255, truncated).</summary>
    internal static void RgbToHsv(byte r, byte g, byte b, Span<byte> hsv)
    {
        byte max = Math.Max(r, Math.Max(g, b)), min = Math.Min(r, Math.Min(g, b));
        hsv[2] = max;
        if (max == min)
        {
            hsv[0] = 0;
            hsv[1] = 0;
            return;
        }
        float cr = max - min, s = cr / max;
        float rc = (max - r) / cr, gc = (max - g) / cr, bc = (max - b) / cr;
        float h = r == max ? bc - gc : g == max ? 2f + rc - bc : 4f + gc - rc;
        h = (float)((h / 6.0 + 1.0) % 1.0);
        hsv[0] = (byte)Math.Clamp((int)(h * 255.0), 0, 255);
        hsv[1] = (byte)Math.Clamp((int)(s * 255.0), 0, 255);
    }

    /// <summary>Pillow's <c>hsv2rgb</c>.</summary>
    internal static void HsvToRgb(byte h, byte s, byte v, Span<byte> rgb)
    {
        if (s == 0)
        {
            rgb[0] = rgb[1] = rgb[2] = v;
            return;
        }
        int i = (int)Math.Floor(h * 6.0 / 255.0);
        double f = h * 6.0 / 255.0 - i, fs = s / 255.0;
        byte p = ClipRound(v * (1.0 - fs)), q = ClipRound(v * (1.0 - fs * f)), t = ClipRound(v * (1.0 - fs * (1.0 - f)));
        (rgb[0], rgb[1], rgb[2]) = (i % 6) switch
        {
            0 => (v, t, p),
            1 => (q, v, p),
            2 => (p, v, t),
            3 => (p, q, v),
            4 => (t, p, v),
            _ => (v, p, q),
        };
    }

    // C's round() rounds half away from zero.
    private static byte ClipRound(double value) => (byte)Math.Clamp((int)Math.Round(value, MidpointRounding.AwayFromZero), 0, 255);
}
