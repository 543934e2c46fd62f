using SharpSeg.Detection.Data;
using SharpSeg.Detection.Models;

namespace SharpSeg.Detection.Tests.Models;

/// <summary>
/// Instance masks travel as bytes (one a pixel, torchvision's uint8) from the dataset to the mask loss: the byte
/// projection equals the float RoIAlign path bit for bit, and turning a dataset target into a training target and resizing
/// it allocates about a byte a pixel, where a float32 [K, H, W] tensor would take four.
/// </summary>
public class ByteMaskTests
{
    private static InstanceMasks RandomMasks(int count, int height, int width, int seed)
    {
        var random = new Random(seed);
        var masks = new InstanceMasks(count, height, width);
        for (int n = 0; n < count; n++)
        {
            // A filled ellipse with ragged noise, so bilinear samples see edges in every direction.
            double cx = random.NextDouble() * width, cy = random.NextDouble() * height, rx = 3 + random.NextDouble() * width / 3, ry = 3 + random.NextDouble() * height / 3;
            var mask = masks[n];
            for (int y = 0; y < height; y++)
                for (int x = 0; x < width; x++)
                {
                    double dx = (x - cx) / rx, dy = (y - cy) / ry;
                    mask[y * width + x] = (byte)(dx * dx + dy * dy <= 1 + 0.2 * random.NextDouble() ? (n % 2 == 0 ? 1 : 255) : 0);
                }
        }
        return masks;
    }

    [Fact]
    public void ByteProjectionEqualsTheFloatPathBitForBit()
    {
        var masks = RandomMasks(3, 37, 53, seed: 1);
        var floats = Tensor.FromArray(masks.Data.Select(v => v != 0 ? 1f : 0f).ToArray(), 3, 37, 53);
        // Ordinary boxes, one beyond every edge, one thinner than a pixel, one far outside, fractional coordinates.
        float[] boxes =
        [
            3.25f, 4.5f, 30.75f, 20.125f,
            -6.5f, -3.2f, 60.1f, 41.9f,
            10.4f, 10.4f, 10.6f, 30.3f,
            70f, 50f, 90f, 80f,
            0f, 0f, 52.999f, 36.999f,
        ];
        int[] matched = [0, 1, 2, 0, 2];
        foreach (int size in new[] { 28, 7 })
        {
            var expected = MaskOps.ProjectMasksOnBoxes(floats, Tensor.FromArray(boxes, 5, 4), matched, size).ToArray();
            var actual = MaskOps.ProjectMasksOnBoxes(masks, Tensor.FromArray(boxes, 5, 4), matched, size).ToArray();
            Assert.Equal(expected.Select(BitConverter.SingleToInt32Bits), actual.Select(BitConverter.SingleToInt32Bits));
            Assert.Contains(expected, v => v > 0 && v < 1);
        }
        Assert.Contains("matched to mask 3", Assert.Throws<ArgumentException>(() =>
            MaskOps.ProjectMasksOnBoxes(masks, Tensor.FromArray([0f, 0, 4, 4], 1, 4), [3], 28)).Message);
    }

    [Fact]
    public void TrainingTargetsKeepMasksAtAByteAPixel()
    {
        const int count = 6, size = 256, resized = 320;
        var masks = RandomMasks(count, size, size, seed: 2);
        var boxes = Enumerable.Range(0, count).SelectMany(_ => new[] { 10f, 10, 200, 200 }).ToArray();
        var target = new DetectionTarget(boxes, [.. Enumerable.Repeat(1, count)], masks);
        // Warm up, so the measurement sees the data and not the first call's JIT work.
        DetectionGeometry.ResizeMasksNearest(RcnnTarget.From(target).MaskBytes!, resized, resized);

        long before = GC.GetAllocatedBytesForCurrentThread();
        var training = RcnnTarget.From(target);
        var scaled = DetectionGeometry.ResizeMasksNearest(training.MaskBytes!, resized, resized);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Null(training.Masks);
        Assert.Equal(count * resized * resized, scaled.Data.Length);
        // One byte copy at 256² (dropping crowds) and the resized one at 320²; float32 tensors would take four times that.
        long bytePixels = (long)count * (size * size + resized * resized);
        Assert.True(allocated < 1.25 * bytePixels, $"allocated {allocated} bytes for {bytePixels} mask pixels");
    }
}
