using System.CommandLine;
using SharpSeg.Onnx;
using Spectre.Console;

namespace SharpSeg.Cli.Commands;

/// <summary>
/// <c>sharpseg export</c>: writes a saved model as an ONNX file (<see cref="Training.Segmenter.ExportOnnx"/>), for ONNX
/// Runtime, OpenVINO or TensorRT. Equivalent to PaddleSeg's <c>export.py</c> plus <c>paddle2onnx</c>.
/// </summary>
internal static class ExportCommand
{
    public static Command Create(IAnsiConsole console)
    {
        var modelDir = EvaluateCommand.ModelDirOption();
        var output = new Option<string>("--output", "-o") { Description = "The .onnx file to write.", Required = true };
        var opset = new Option<int>("--opset")
        {
            Description = $"ONNX opset, {OnnxExporter.MinOpset} to {OnnxExporter.MaxOpset}.",
            DefaultValueFactory = _ => 17,
        };
        var fixedSize = new Option<string?>("--fixed-size")
        {
            Description = "Fixed input size W,H (default: dynamic height and width; the batch is always dynamic).",
        };
        var withSoftmax = new Option<bool>("--with-softmax") { Description = "Output class probabilities instead of logits." };
        var withArgmax = new Option<bool>("--with-argmax") { Description = "Output the int64 label map [N, H, W] instead of logits." };

        var command = new Command("export", "Export a saved model to ONNX (input 'image' [N, C, H, W] float32 after the saved transforms).");
        command.AddOptions(modelDir, output, opset, fixedSize, withSoftmax, withArgmax);
        command.SetAction(parse =>
        {
            if (parse.GetValue(withSoftmax) && parse.GetValue(withArgmax))
                throw new UsageException("--with-softmax and --with-argmax exclude each other: the graph has one output.");
            int opsetValue = parse.GetValue(opset);
            if (opsetValue is < OnnxExporter.MinOpset or > OnnxExporter.MaxOpset)
                throw new UsageException($"--opset must be {OnnxExporter.MinOpset} to {OnnxExporter.MaxOpset}, got {opsetValue}.");
            var size = parse.GetValue(fixedSize) is { } text ? SizeArgument.Parse(text, "--fixed-size") : ((int Width, int Height)?)null;
            var what = parse.GetValue(withArgmax) ? OnnxOutput.LabelMap : parse.GetValue(withSoftmax) ? OnnxOutput.Probabilities : OnnxOutput.Logits;
            string path = parse.GetValue(output)!;

            var segmenter = EvaluateCommand.LoadSegmenter(parse.GetValue(modelDir)!);
            segmenter.ExportOnnx(path, opsetValue, dynamicSize: size is null, fixedSize: size, output: what);
            string sizeText = size is { } s ? $"{s.Width}x{s.Height}" : "dynamic height and width";
            console.WriteLine($"Wrote {path}: {segmenter.ModelName}, opset {opsetValue}, {sizeText}, output {what}.");
            return ExitCodes.Success;
        });
        return command;
    }
}
