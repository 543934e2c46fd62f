using System.Text.Json;
using SharpSeg.Data.Transforms;
using SharpSeg.Models;
using SharpSeg.Training;
using Keys = SharpSeg.Training.Segmenter.OnnxMetadataKeys;

namespace SharpSeg.Onnx.Tests;

/// <summary><see cref="Segmenter.ExportOnnx"/>: the file, its metadata for a deployer, and its argument checks.</summary>
public sealed class SegmenterExportTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("sharpseg-onnx-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static Segmenter SmallSegmenter() =>
        new("deeplabv3p", 3, options: new DeepLabV3PlusOptions(3, Backbone: "mobilenetv2_x0.25", AsppOutChannels: 16, LowLevelChannels: 8),
            classNames: ["sky", "road", "car"])
        {
            Transforms = new Compose(new Resize(64, 48), new Normalize([0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f])),
        };

    [Fact]
    public void MetadataTellsTheDeployerHowToPrepareImagesAndReadOutputs()
    {
        var segmenter = SmallSegmenter();
        string path = Path.Combine(_folder, "model.onnx");
        segmenter.ExportOnnx(path, output: OnnxOutput.Probabilities);

        Assert.Equal(["model.onnx"], Directory.GetFiles(_folder).Select(Path.GetFileName));
        using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(path);
        var metadata = session.ModelMetadata.CustomMetadataMap;
        Assert.Equal("deeplabv3p", metadata[Keys.Model]);
        Assert.Equal("3", metadata[Keys.NumClasses]);
        Assert.Equal("probabilities", metadata[Keys.Output]);
        Assert.Equal("NCHW float32", metadata[Keys.InputLayout]);
        Assert.Equal(["sky", "road", "car"], JsonSerializer.Deserialize<string[]>(metadata[Keys.ClassNames])!);
        Assert.Equal([0.485f, 0.456f, 0.406f], JsonSerializer.Deserialize<float[]>(metadata[Keys.NormalizeMean])!);
        Assert.Equal([0.229f, 0.224f, 0.225f], JsonSerializer.Deserialize<float[]>(metadata[Keys.NormalizeStd])!);
        Assert.Equal([255f], JsonSerializer.Deserialize<float[]>(metadata[Keys.NormalizeMax])!);
        Assert.Equal(TransformConfig.ToJson(segmenter.Transforms), metadata[Keys.Transforms]);
        Assert.Equal(2, TransformConfig.FromJson(metadata[Keys.Transforms], "metadata").Transforms.Count);
        Assert.Contains("mobilenetv2_x0.25", metadata[Keys.ModelOptions]);
        Assert.Equal("deeplabv3p", session.ModelMetadata.GraphName);
    }

    [Fact]
    public void ExportedFileRunsLikeTheSegmentersModel()
    {
        var segmenter = SmallSegmenter();
        ExportParityTests.RandomizeNormalization(segmenter.Model, new Random(2));
        segmenter.Model.Eval();
        string path = Path.Combine(_folder, "model.onnx");
        segmenter.ExportOnnx(path, opset: 17, dynamicSize: false, fixedSize: (48, 64));

        using var session = OnnxRuntimeRunner.Session(File.ReadAllBytes(path));
        var image = Tensor.Randn(new Shape(2, 3, 64, 48), new Random(9));
        Tensor expected;
        using (GradMode.NoGrad()) expected = segmenter.Model.Forward(image)[0];
        var (actual, dims) = OnnxRuntimeRunner.RunFloat(session, image);
        ExportParityTests.AssertClose(expected.ToArray(), actual, dims, "exported segmenter");
    }

    [Fact]
    public void ContradictoryOrMissingSizeArgumentsAreRefused()
    {
        var segmenter = SmallSegmenter();
        string path = Path.Combine(_folder, "model.onnx");
        Assert.Contains("give fixedSize", Assert.Throws<ArgumentException>(() => segmenter.ExportOnnx(path, dynamicSize: false)).Message);
        Assert.Contains("contradicts", Assert.Throws<ArgumentException>(() => segmenter.ExportOnnx(path, fixedSize: (32, 32))).Message);
        Assert.Empty(Directory.GetFiles(_folder));
    }
}
