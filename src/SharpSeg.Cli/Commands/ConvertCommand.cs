using System.CommandLine;
using SharpSeg.Nn;
using SharpSeg.Nn.Interop;
using Spectre.Console;

namespace SharpSeg.Cli.Commands;

/// <summary>
/// <c>sharpseg convert IN -o OUT.safetensors [--key-map paddleseg|none]</c>: reads any weight file <see cref="WeightFile"/>
/// reads (safetensors, a PyTorch <c>torch.save</c> checkpoint, a Paddle <c>.pdparams</c>) through the restricted
/// unpickler, optionally renames PaddleSeg's keys with <see cref="KeyMap.PaddleSeg"/>, and writes safetensors atomically.
/// Plays the role of the conversion scripts that call <c>torch.load</c> / <c>paddle.load</c> and
/// <c>safetensors.torch.save_file</c>, without running the file's pickle.
/// </summary>
internal static class ConvertCommand
{
    public static Command Create(IAnsiConsole console)
    {
        var input = new Argument<string>("input")
        {
            Description = "Weight file to read: .pth/.pt (torch.save zip), .pdparams (paddle.save) or .safetensors; the format is told by its first bytes.",
        };
        var output = new Option<string>("--output", "-o")
        {
            Description = "The safetensors file to write (atomically: a temporary file renamed into place).",
            Required = true,
        };
        var keyMap = new Option<string>("--key-map")
        {
            Description = "Key renaming: none (keep the file's names) or paddleseg (_conv → conv, _batch_norm → bn, _mean/_variance → running_mean/running_var, Linear weights transposed). " +
                          "PaddleSeg backbone files need no map for --pretrained: ResNet_vd, HRNet, MobileNetV3 and Xception recognise their PaddleSeg names.",
            DefaultValueFactory = _ => "none",
        };
        keyMap.AcceptOnlyFromAmong("none", "paddleseg");
        var command = new Command("convert", "Convert a PyTorch .pth/.pt or Paddle .pdparams weight file to safetensors, running none of its pickled code.")
        {
            input, output, keyMap,
        };
        command.SetAction(parse =>
        {
            string source = parse.GetValue(input)!;
            string target = parse.GetValue(output)!;
            if (!File.Exists(source)) throw new UsageException($"convert: input file '{source}' does not exist.");
            if (Directory.Exists(target)) throw new UsageException($"convert: --output '{target}' is a folder; name the .safetensors file to write.");
            if (Path.GetFullPath(source) == Path.GetFullPath(target)) throw new UsageException("convert: --output must differ from the input file.");

            var (format, tensors, storedTypes) = WeightFile.Read(source);
            if (parse.GetValue(keyMap) == "paddleseg") tensors = KeyMap.PaddleSeg.Apply(tensors);
            Safetensors.Save(target, tensors, new Dictionary<string, string> { ["format"] = "pt", ["converted_from"] = Path.GetFileName(source) });

            long bytes = tensors.Values.Sum(t => t.Numel * (t.DType == DType.Float32 ? 4L : 8L));
            int floats = tensors.Values.Count(t => t.DType == DType.Float32);
            console.WriteLine($"Converted {source} ({Describe(format)}) to {target}");
            console.WriteLine($"{tensors.Count} tensors ({floats} float32, {tensors.Count - floats} int64), {bytes} bytes of data.");
            // Say what changed: safetensors keeps float32, int32 and int64 only, so other stored types were widened.
            var converted = storedTypes.Values.Where(t => t is not ("F32" or "I64")).GroupBy(t => t).OrderBy(g => g.Key, StringComparer.Ordinal).ToList();
            if (converted.Count > 0)
                console.WriteLine("Converted: " + string.Join(", ", converted.Select(g => $"{g.Count()} {g.Key}")) +
                                  " tensors (floating point to float32, integers and booleans to int64).");
            return ExitCodes.Success;
        });
        return command;
    }

    private static string Describe(WeightFileFormat format) => format switch
    {
        WeightFileFormat.PyTorchZip => "PyTorch torch.save checkpoint",
        WeightFileFormat.Pickle => "pickled dict of arrays, Paddle .pdparams layout",
        _ => "safetensors",
    };
}
