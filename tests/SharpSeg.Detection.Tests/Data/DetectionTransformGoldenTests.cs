using System.Text.Json;
using SharpSeg.Data;
using SharpSeg.Detection.Data;

namespace SharpSeg.Detection.Tests.Data;

/// <summary>
/// Box and mask geometry against torchvision 1.13 (Golden/detection_transforms.json, written by
/// tools/golden_detection_data.py): nearest mask interpolation, <c>resize_boxes</c>, the references' horizontal flip.
/// </summary>
public class DetectionTransformGoldenTests
{
    private static JsonElement Golden() =>
        JsonDocument.Parse(File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Golden", "detection_transforms.json"))).RootElement;

    private static float[] Floats(JsonElement e) => [.. e.EnumerateArray().Select(v => v.GetSingle())];

    private static DetectionSample Sample(JsonElement golden)
    {
        int height = golden.GetProperty("height").GetInt32(), width = golden.GetProperty("width").GetInt32();
        var masks = new InstanceMasks(3, height, width, [.. golden.GetProperty("masks").EnumerateArray().Select(v => v.GetByte())]);
        return new DetectionSample(new Image<float>(height, width, 3), new DetectionTarget(Floats(golden.GetProperty("boxes")), [1, 2, 1], masks));
    }

    [Fact]
    public void ResizeEqualsTorchvision()
    {
        var golden = Golden();
        foreach (var c in golden.GetProperty("resized").EnumerateArray())
        {
            int height = c.GetProperty("height").GetInt32(), width = c.GetProperty("width").GetInt32();
            var sample = Sample(golden);
            new DetectionResize(height, width).Apply(sample, new Random(0));
            Assert.Equal(Floats(c.GetProperty("boxes")), sample.Target.Boxes);
            Assert.Equal(c.GetProperty("masks").EnumerateArray().Select(v => v.GetByte()).ToArray(), sample.Target.Masks!.Data);
        }
    }

    [Fact]
    public void FlipEqualsTheReferences()
    {
        var golden = Golden();
        var sample = Sample(golden);
        new DetectionRandomHorizontalFlip(1).Apply(sample, new Random(0));
        Assert.Equal(Floats(golden.GetProperty("flipped_boxes")), sample.Target.Boxes);
    }
}
