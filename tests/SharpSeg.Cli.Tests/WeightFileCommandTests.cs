using System.IO.Compression;
using System.Text.RegularExpressions;
using SharpSeg.Nn;
using SharpSeg.Nn.Interop;

namespace SharpSeg.Cli.Tests;

/// <summary>
/// <c>sharpseg convert</c> and <c>train --pretrained</c> with the weight files users already have (issue 13): a torchvision
/// <c>mobilenet_v2(width_mult=0.25)</c> saved by <c>torch.save</c>, and a PaddleSeg-named MobileNetV3-small x0.35
/// <c>.pdparams</c> pickled as <c>paddle.save</c> does. Both were written by tools/gen_nn_golden_weightfiles.py (kept
/// gzipped; their values are patterned so the archives stay small).
/// </summary>
public sealed class WeightFileCommandTests
{
    private const string TorchvisionFile = "torchvision_mobilenet_v2_x0.25.pth";
    private const string PaddleFile = "paddleseg_mobilenetv3_small_x0_35.pdparams";

    private static string Unpacked(TempFolder folder, string name)
    {
        string target = folder[name];
        using var gzip = new GZipStream(File.OpenRead(Path.Combine(AppContext.BaseDirectory, "Golden", "WeightFiles", name + ".gz")), CompressionMode.Decompress);
        using var output = File.Create(target);
        gzip.CopyTo(output);
        return target;
    }

    private static string[] Synthetic(string backbone) =>
        ["--format", "synthetic", "--num-classes", "2", "--synthetic-size", "32,32", "--synthetic-train", "2", "--synthetic-val", "0",
         "--model", "deeplabv3p", "--backbone", backbone, "--batch-size", "2", "--epochs", "1", "--lr", "1e-9"];

    private static void AssertBitExact(Tensor expected, Tensor actual)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        Assert.Equal(expected.ToArray<float>().Select(BitConverter.SingleToInt32Bits), actual.ToArray<float>().Select(BitConverter.SingleToInt32Bits));
    }

    /// <summary>Training ran one step at learning rate 1e-9, so the convolution weights are the loaded ones to within rounding.</summary>
    private static void AssertClose(Tensor expected, Tensor actual)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        var want = expected.ToArray<float>();
        var got = actual.ToArray<float>();
        for (int i = 0; i < want.Length; i++) Assert.True(Math.Abs(want[i] - got[i]) <= 1e-6, $"element {i}: {got[i]}, expected {want[i]}");
    }

    [Fact]
    public void Convert_writes_a_torch_checkpoint_as_safetensors_with_the_same_tensors()
    {
        using var folder = new TempFolder();
        string source = Unpacked(folder, TorchvisionFile);

        var result = CliRunner.Run("convert", source, "-o", folder["mobilenet.safetensors"]);

        Assert.Equal(0, result.ExitCode);
        var original = WeightFile.Load(source);
        var converted = Safetensors.Read(folder["mobilenet.safetensors"]);
        Assert.Equal(original.Keys, converted.Tensors.Keys);
        foreach (var (key, tensor) in original)
        {
            if (tensor.DType == DType.Float32) AssertBitExact(tensor, converted.Tensors[key]);
            else Assert.Equal(tensor.ToArray<long>(), converted.Tensors[key].ToArray<long>());
        }
        Assert.Equal(TorchvisionFile, converted.Metadata["converted_from"]);
        int floats = original.Values.Count(t => t.DType == DType.Float32);
        long bytes = original.Values.Sum(t => t.Numel * (t.DType == DType.Float32 ? 4L : 8L));
        Assert.Contains($"Converted {source} (PyTorch torch.save checkpoint) to {folder["mobilenet.safetensors"]}\n" +
                        $"{original.Count} tensors ({floats} float32, {original.Count - floats} int64), {bytes} bytes of data.", result.Output);
        Assert.DoesNotContain("Converted:", result.Output); // torchvision stores float32 and int64, nothing to widen
    }

    [Fact]
    public void Convert_with_the_paddleseg_key_map_renames_batch_norm_statistics_and_drops_the_name_table()
    {
        using var folder = new TempFolder();
        string source = Unpacked(folder, PaddleFile);

        var result = CliRunner.Run("convert", source, "-o", folder["out.safetensors"], "--key-map", "paddleseg");

        Assert.Equal(0, result.ExitCode);
        var original = WeightFile.Load(source);
        var converted = Safetensors.Load(folder["out.safetensors"]);
        Assert.Equal(original.Count, converted.Count);
        Assert.DoesNotContain(converted.Keys, k => k.EndsWith("._mean", StringComparison.Ordinal) || k.Contains('@'));
        AssertBitExact(original["conv.bn._mean"], converted["conv.bn.running_mean"]);
        AssertBitExact(original["blocks.0.expand_conv.bn._variance"], converted["blocks.0.expand_conv.bn.running_var"]);
    }

    [Fact]
    public void Convert_refuses_a_missing_input_and_a_pickle_that_calls_a_global()
    {
        using var folder = new TempFolder();
        File.WriteAllBytes(folder["evil.pdparams"], [0x80, 2, .. "cposix\nsystem\nX\x02\0\0\0ls\x85R."u8]);

        var missing = CliRunner.Run("convert", folder["none.pth"], "-o", folder["x.safetensors"]);
        var evil = CliRunner.Run("convert", folder["evil.pdparams"], "-o", folder["x.safetensors"]);

        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("does not exist", missing.Error);
        Assert.Equal(1, evil.ExitCode);
        Assert.Contains($"error: {folder["evil.pdparams"]}: pickle opcode GLOBAL at byte 2: global 'posix.system' is not on the allow-list", evil.Error);
        Assert.False(File.Exists(folder["x.safetensors"]));
    }

    [Fact]
    public void Train_loads_a_torchvision_pth_into_the_backbone_directly()
    {
        using var folder = new TempFolder();
        string weights = Unpacked(folder, TorchvisionFile);

        var result = CliRunner.Run(["train", .. Synthetic("mobilenetv2_x0.25"), "--pretrained", weights, "--save-dir", folder["run"]]);

        Assert.True(result.ExitCode == 0, result.Error);
        var loaded = Regex.Match(result.Output, @"Pretrained weights: (\d+) tensors loaded, 0 missing");
        Assert.True(loaded.Success, result.Output);
        var model = Safetensors.Load(Path.Combine(folder["run"], "epoch_1", "model.safetensors"));
        var source = WeightFile.Load(weights);
        AssertClose(source["features.0.0.weight"], model["backbone.features.0.0.weight"]);
        AssertClose(source["features.17.conv.2.weight"], model["backbone.features.17.conv.2.weight"]);
    }

    [Fact]
    public void Train_loads_a_paddleseg_pdparams_backbone_through_its_key_map()
    {
        using var folder = new TempFolder();
        string weights = Unpacked(folder, PaddleFile);

        var result = CliRunner.Run(["train", .. Synthetic("mobilenetv3_small_x0_35"), "--pretrained", weights, "--save-dir", folder["run"]]);

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Matches(@"Pretrained weights: \d+ tensors loaded, 0 missing", result.Output);
        var model = Safetensors.Load(Path.Combine(folder["run"], "epoch_1", "model.safetensors"));
        var source = WeightFile.Load(weights);
        AssertClose(source["conv.conv.weight"], model["backbone.features.0.0.weight"]);
        AssertClose(source["blocks.10.linear_conv.conv.weight"], model["backbone.features.11.block.3.0.weight"]);
    }
}
