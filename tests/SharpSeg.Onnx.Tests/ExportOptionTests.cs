using SharpSeg.Models;
using SharpSeg.Onnx.Proto;

namespace SharpSeg.Onnx.Tests;

/// <summary>Output heads, fixed sizes, opsets, BatchNorm folding, the op-coverage model and refusals.</summary>
public class ExportOptionTests
{
    private static SegmentationModel SmallDeepLab(int numClasses, string backbone = "mobilenetv3_small_x0_35") =>
        ExportParityTests.Build("deeplabv3p", new DeepLabV3PlusOptions(numClasses, Backbone: backbone, AsppOutChannels: 16, LowLevelChannels: 8));

    private static Tensor Logits(SegmentationModel model, Tensor image)
    {
        using var _ = GradMode.NoGrad();
        return model.Forward(image)[0];
    }

    [Fact]
    public void SoftmaxHeadGivesSharpSegsProbabilitiesAndArgmaxHeadItsLabels()
    {
        var model = SmallDeepLab(4);
        var image = Tensor.Randn(new Shape(2, 3, 41, 30), new Random(3));
        var logits = Logits(model, image);

        using (var session = OnnxRuntimeRunner.Session(OnnxExporter.ExportToBytes(model, new OnnxExportOptions { Output = OnnxOutput.Probabilities })))
        {
            Assert.Equal("probabilities", session.OutputMetadata.Keys.Single());
            var (probabilities, dims) = OnnxRuntimeRunner.RunFloat(session, image);
            Assert.Equal([2, 4, 41, 30], dims);
            var expected = Functional.Softmax(logits, 1).ToArray();
            for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - probabilities[i]) <= 1e-5f, $"probability {i}");
        }

        using (var session = OnnxRuntimeRunner.Session(OnnxExporter.ExportToBytes(model, new OnnxExportOptions { Output = OnnxOutput.LabelMap })))
        {
            var (labels, dims) = OnnxRuntimeRunner.RunInt64(session, image);
            Assert.Equal([2, 41, 30], dims);
            Assert.Equal(logits.Argmax(1).ToArray<long>(), labels);
        }
    }

    [Fact]
    public void BinaryHeadExportsBackgroundForegroundProbabilitiesAndThresholdedLabels()
    {
        var model = SmallDeepLab(1);
        var image = Tensor.Randn(new Shape(1, 3, 33, 47), new Random(4));
        var logit = Logits(model, image).ToArray();

        using (var session = OnnxRuntimeRunner.Session(OnnxExporter.ExportToBytes(model, new OnnxExportOptions { Output = OnnxOutput.Probabilities })))
        {
            var (probabilities, dims) = OnnxRuntimeRunner.RunFloat(session, image);
            Assert.Equal([1, 2, 33, 47], dims);
            for (int i = 0; i < logit.Length; i++)
            {
                float foreground = 1f / (1f + MathF.Exp(-logit[i]));
                Assert.True(Math.Abs(probabilities[logit.Length + i] - foreground) <= 1e-5f, $"foreground {i}");
                Assert.True(Math.Abs(probabilities[i] - (1 - foreground)) <= 1e-5f, $"background {i}");
            }
        }

        using (var session = OnnxRuntimeRunner.Session(OnnxExporter.ExportToBytes(model, new OnnxExportOptions { Output = OnnxOutput.LabelMap })))
        {
            var (labels, dims) = OnnxRuntimeRunner.RunInt64(session, image);
            Assert.Equal([1, 33, 47], dims);
            Assert.Equal(logit.Select(l => l > 0 ? 1L : 0L), labels);
        }
    }

    [Fact]
    public void FixedSizeIsDeclaredAndTheBatchStaysDynamic()
    {
        var model = SmallDeepLab(3);
        var options = new OnnxExportOptions { FixedSize = (Width: 45, Height: 29) };
        var proto = ModelProto.Parser.ParseFrom(OnnxExporter.ExportToBytes(model, options));
        var dims = proto.Graph.Input[0].Type.TensorType.Shape.Dim;
        Assert.Equal("batch", dims[0].DimParam);
        Assert.Equal([3L, 29L, 45L], dims.Skip(1).Select(d => d.DimValue));
        ExportParityTests.AssertParity(model, options, (1, 29, 45), (3, 29, 45));
    }

    [Theory]
    [InlineData(13)]
    [InlineData(18)]
    [InlineData(21)]
    public void EachSupportedOpsetRunsTheSame(int opset)
    {
        var model = SmallDeepLab(3);
        var bytes = OnnxExporter.ExportToBytes(model, new OnnxExportOptions { Opset = opset });
        var proto = ModelProto.Parser.ParseFrom(bytes);
        Assert.Equal(opset, proto.OpsetImport.Single().Version);
        // Opset 13 has no HardSwish; 18 moved the reduce axes from attribute to input.
        Assert.Equal(opset >= 14, proto.Graph.Node.Any(n => n.OpType == "HardSwish"));
        var reduceMean = proto.Graph.Node.First(n => n.OpType == "ReduceMean");
        Assert.Equal(opset >= 18, reduceMean.Input.Count == 2);
        ExportParityTests.AssertParity(model, new OnnxExportOptions { Opset = opset });
    }

    [Fact]
    public void BatchNormFollowingAConvIsFoldedIntoIt()
    {
        var model = SmallDeepLab(3, backbone: "mobilenetv2_x0.25");
        var proto = ModelProto.Parser.ParseFrom(OnnxExporter.ExportToBytes(model));
        int batchNorms = model.Modules().Count(m => m is Nn.BatchNorm2d);
        Assert.True(batchNorms > 20);
        Assert.Equal(batchNorms, proto.Graph.Initializer.Count(i => i.Name.EndsWith(".folded_weight", StringComparison.Ordinal)));
        Assert.DoesNotContain(proto.Graph.Node, n => n.OpType == "BatchNormalization");
        Assert.Contains(proto.Graph.Initializer, i => i.Name.EndsWith(".folded_weight", StringComparison.Ordinal));
        Assert.DoesNotContain(proto.Graph.Initializer, i => i.Name.EndsWith("running_var", StringComparison.Ordinal));
    }

    [Fact]
    public void OpsBeyondTheZooExportAndMatch()
    {
        var model = new OpCoverageModel(3);
        ExportParityTests.RandomizeNormalization(model, new Random(7));
        model.Eval();
        var proto = ModelProto.Parser.ParseFrom(OnnxExporter.ExportToBytes(model));
        // The BatchNorm after the ReLU and the one whose conv output is used twice stay BatchNormalization nodes.
        Assert.Equal(2, proto.Graph.Node.Count(n => n.OpType == "BatchNormalization"));
        foreach (var op in new[] { "ConvTranspose", "Gemm", "MaxPool", "AveragePool", "Transpose", "Erf", "HardSigmoid", "HardSwish", "Softmax", "Pad" })
            Assert.Contains(proto.Graph.Node, n => n.OpType == op);
        ExportParityTests.AssertParity(model, new OnnxExportOptions(), (1, 37, 53), (2, 16, 71));
    }

    [Fact]
    public void ModelRefusingSmallInputsIsTracedLargerAndStaysDynamic()
    {
        // The image-pooling window of a 256×192 training crop at output stride 16 is 12×16 feature pixels.
        var model = ExportParityTests.Build("deeplabv3p", new DeepLabV3PlusOptions(3, Backbone: "mobilenetv2_x0.25", PoolingCropSize: (256, 192),
            AsppOutChannels: 8, LowLevelChannels: 8));
        ExportParityTests.AssertParity(model, new OnnxExportOptions(), (1, 200, 260), (2, 230, 300));
    }

    [Fact]
    public void SizeWithoutAnOnnxFormIsRefusedNamingTheOp()
    {
        var error = Assert.Throws<OnnxExportException>(() => OnnxExporter.ExportToBytes(new SpatialReshapeModel()));
        Assert.Contains("Reshape", error.Message);
        Assert.Contains("changes with the input", error.Message);
    }

    [Fact]
    public void TensorMadeOutsideTheRecordedOpsIsRefusedRatherThanFrozen()
    {
        var error = Assert.Throws<OnnxExportException>(() => OnnxExporter.ExportToBytes(new UnrecordedOpModel()));
        Assert.Contains("Conv2d", error.Message);
        Assert.Contains("computed outside the recorded ops", error.Message);
    }

    [Fact]
    public void OpsetOutsideTheSupportedRangeIsRefused()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => OnnxExporter.ExportToBytes(SmallDeepLab(2), new OnnxExportOptions { Opset = 11 }));
        Assert.Contains("opset 11", error.Message);
    }

    [Fact]
    public void ExportLeavesTheModelInItsTrainingMode()
    {
        var model = SmallDeepLab(2);
        model.Train();
        OnnxExporter.ExportToBytes(model);
        Assert.True(model.IsTraining);
    }
}
