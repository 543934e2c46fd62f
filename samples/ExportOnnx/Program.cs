// Exports a saved model to ONNX so that ONNX Runtime, OpenVINO or TensorRT can run it without SharpSeg
// (torch.onnx.export / PaddleSeg export.py + paddle2onnx).
// Usage: dotnet run -- MODEL_DIR OUT.onnx [--argmax]
//   The graph takes "image" [N, 3, H, W] float32 after the model's saved prediction transforms (its
//   metadata_props say which: sharpseg.transforms, sharpseg.normalize.mean/std) and returns logits, or with
//   --argmax the label map [N, H, W] int64. Batch, height and width stay dynamic.
using SharpSeg.Onnx;
using SharpSeg.Training;

if (args.Length < 2)
{
    Console.Error.WriteLine("usage: ExportOnnx MODEL_DIR OUT.onnx [--argmax]");
    return 2;
}
var segmenter = Segmenter.Load(args[0]);
var output = args.Contains("--argmax") ? OnnxOutput.LabelMap : OnnxOutput.Logits;

// Opset 17 is read by every current runtime; BatchNorm is folded into the convolutions it follows.
segmenter.ExportOnnx(args[1], opset: 17, output: output);

Console.WriteLine($"wrote {args[1]} ({new FileInfo(args[1]).Length:N0} bytes): {segmenter.ModelName}, {segmenter.NumClasses} classes, output {output}");
return 0;
