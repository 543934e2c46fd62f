using SharpSeg.Detection.Data;

namespace SharpSeg.Detection.Tests.Api;

/// <summary>The small Faster R-CNN the Detector API tests train in seconds: 64² images, a 32-wide FPN and a 64-wide box head.</summary>
internal static class TinyDetectors
{
    /// <summary>Options for 64×64 inputs with narrow FPN and head.</summary>
    public static DetectionModelOptions Options { get; } = DetectionModelOptions.SmallImages with { MinSize = 64, MaxSize = 64, FpnChannels = 32, RepresentationSize = 64 };

    /// <summary>The synthetic set's class names with background first.</summary>
    public static IReadOnlyList<string> ShapeNames { get; } = ["background", .. SyntheticDetectionDataset.ShapeClasses];

    /// <summary>A Faster R-CNN over resnet18_fpn for the four shape classes, its weights drawn after seeding the engine with <paramref name="seed"/>.</summary>
    public static Detector FasterRcnn(int seed = 1, IReadOnlyList<string>? names = null)
    {
        Engine.ManualSeed(seed);
        return new Detector("faster_rcnn", 4, "resnet18_fpn", Options, names ?? ShapeNames);
    }
}
