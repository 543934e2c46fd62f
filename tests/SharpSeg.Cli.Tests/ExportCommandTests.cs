using SharpSeg.Data.Transforms;
using SharpSeg.Models;
using SharpSeg.Onnx;
using SharpSeg.Onnx.Proto;
using SharpSeg.Training;

namespace SharpSeg.Cli.Tests;

/// <summary>
/// <c>sharpseg export</c>: writes a valid ONNX file with the asked-for head and size; refuses contradictory options.
/// (ONNX Runtime runs the exports in SharpSeg.Onnx.Tests; this project stays free of native code.)
/// </summary>
public sealed class ExportCommandTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public ExportCommandTests()
    {
        var options = new DeepLabV3PlusOptions(3, Backbone: "mobilenetv2_x0.25", AsppOutChannels: 8, LowLevelChannels: 8);
        new Segmenter("deeplabv3p", 3, options: options) { Transforms = new Normalize() }.Save(_folder["model"]);
    }

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void ExportWritesAValidGraphWithTheLabelMapHeadAndFixedSize()
    {
        string path = _folder["out.onnx"];
        var result = CliRunner.Run("export", "--model-dir", _folder["model"], "-o", path, "--fixed-size", "40,24", "--with-argmax", "--opset", "18");
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains("opset 18", result.Output);

        var bytes = File.ReadAllBytes(path);
        Assert.Empty(OnnxModelChecker.Check(bytes));
        var model = ModelProto.Parser.ParseFrom(bytes);
        Assert.Equal(18, model.OpsetImport.Single().Version);
        Assert.Equal("label_map", model.Graph.Output.Single().Name);
        Assert.Equal([24L, 40L], model.Graph.Input.Single().Type.TensorType.Shape.Dim.Skip(2).Select(d => d.DimValue));
        Assert.Contains(model.MetadataProps, p => p.Key == Segmenter.OnnxMetadataKeys.NormalizeMean && p.Value == "[0.5,0.5,0.5]");
    }

    [Theory]
    [InlineData("--with-softmax", "--with-argmax")]
    [InlineData("--opset", "9")]
    [InlineData("--fixed-size", "0,5")]
    public void ContradictoryOrInvalidOptionsAreUsageErrors(string option, string value)
    {
        // --with-softmax takes no value, so the second "value" is the contradicting --with-argmax flag.
        var result = CliRunner.Run(["export", "--model-dir", _folder["model"], "-o", _folder["x.onnx"], option, value]);
        Assert.Equal(2, result.ExitCode);
        Assert.False(File.Exists(_folder["x.onnx"]));
    }
}
