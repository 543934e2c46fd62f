using SharpSeg.Data;

namespace SharpSeg.Training.Tests.Inference;

internal static class TestImages
{
    /// <summary>A 3-channel image of random byte values (so every pixel differs and any misplaced window shows).</summary>
    public static Image<byte> Random(int height, int width, int seed)
    {
        var pixels = new byte[height * width * 3];
        new System.Random(seed).NextBytes(pixels);
        return new Image<byte>(height, width, 3, pixels);
    }
}
