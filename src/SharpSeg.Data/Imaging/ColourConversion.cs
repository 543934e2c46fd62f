namespace SharpSeg.Data;

/// <summary>Turns decoded samples into 3-channel colour for <see cref="ImageReadOptions.ForceRgb"/>.</summary>
internal static class ColourConversion
{
    /// <summary>Repeats gray into three channels and drops alpha, as <c>cv2.IMREAD_COLOR</c> does; keeps the channel order.</summary>
    public static Image<byte> ToThreeChannels(Image<byte> image)
    {
        int channels = image.Channels;
        if (channels == 3)
            return image;
        var source = image.Pixels;
        var rgb = new byte[image.Height * image.Width * 3];
        for (int i = 0, j = 0; j < rgb.Length; i += channels, j += 3)
        {
            if (channels <= 2)
                rgb[j] = rgb[j + 1] = rgb[j + 2] = source[i];
            else
                (rgb[j], rgb[j + 1], rgb[j + 2]) = (source[i], source[i + 1], source[i + 2]);
        }
        return new Image<byte>(image.Height, image.Width, 3, rgb);
    }
}
