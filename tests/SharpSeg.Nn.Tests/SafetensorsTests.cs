using System.Buffers.Binary;
using System.Text;

namespace SharpSeg.Nn.Tests;

public sealed class SafetensorsTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("sharpseg-nn-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string TempPath(string name) => Path.Combine(_folder, name);

    /// <summary>A file with the given JSON header (padded to 8 bytes) followed by <paramref name="dataBytes"/> counting bytes.</summary>
    private string Craft(string name, string json, int dataBytes)
    {
        var header = Encoding.UTF8.GetBytes(json);
        int padded = (header.Length + 7) / 8 * 8;
        var bytes = new byte[8 + padded + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)padded);
        header.CopyTo(bytes, 8);
        bytes.AsSpan(8 + header.Length, padded - header.Length).Fill((byte)' ');
        for (int i = 0; i < dataBytes; i++) bytes[8 + padded + i] = (byte)i;
        string path = TempPath(name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static SafetensorsFormatException LoadFails(string path)
    {
        var e = Assert.Throws<SafetensorsFormatException>(() => Safetensors.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Equal(path, e.FileName);
        return e;
    }

    [Fact]
    public void ReadsEveryDTypeConvertedToFloat32OrInt64()
    {
        var content = Safetensors.Read(Golden.PathOf("dtypes.safetensors"));
        var t = content.Tensors;
        Assert.Equal(["f32", "f16", "bf16", "f64", "i64", "i64_scalar", "i32", "i16", "i8", "u8", "bool", "empty"], t.Keys);
        Assert.Equal("dtype fixture", content.Metadata["note"]);

        Assert.Equal(new Shape(2, 2), t["f32"].Shape);
        Assert.Equal([1f, 2f, 3f, 4f], t["f32"].ToArray());
        Assert.Equal(new Shape(2, 3), t["f16"].Shape);
        var f16 = t["f16"].ToArray();
        Assert.Equal([1.5f, -2f, 65504f, MathF.Pow(2, -24)], f16[..4]);
        Assert.Equal(int.MinValue, BitConverter.SingleToInt32Bits(f16[4]));
        Assert.Equal(float.PositiveInfinity, f16[5]);
        Assert.Equal([1f, -3.5f, MathF.Pow(2, 100), 0.15625f, float.NegativeInfinity], t["bf16"].ToArray());
        Assert.Equal([0.1f, 0f, -123.25f, float.PositiveInfinity], t["f64"].ToArray());
        Assert.All(new[] { "f32", "f16", "bf16", "f64", "empty" }, k => Assert.Equal(DType.Float32, t[k].DType));

        Assert.Equal([1L << 62, -1L, 3L], t["i64"].ToArray<long>());
        Assert.Equal(0, t["i64_scalar"].Rank);
        Assert.Equal(42L, t["i64_scalar"].ToArray<long>()[0]);
        Assert.Equal([(long)int.MinValue, int.MaxValue, 0, -5], t["i32"].ToArray<long>());
        Assert.Equal([-32768L, 32767, 7], t["i16"].ToArray<long>());
        Assert.Equal([-128L, 127, -1], t["i8"].ToArray<long>());
        Assert.Equal([0L, 255, 128], t["u8"].ToArray<long>());
        Assert.Equal([1L, 0, 1], t["bool"].ToArray<long>());
        Assert.Equal(new Shape(0, 3), t["empty"].Shape);
    }

    [Fact]
    public void SaveThenLoadIsBitExactIncludingMetadata()
    {
        var nan = BitConverter.Int32BitsToSingle(0x7FC0_1234);
        var tensors = new OrderedDictionary<string, Tensor>
        {
            ["weights"] = Tensor.FromArray([nan, -0f, float.Epsilon, float.MaxValue, -1.25f, 3e-39f], 2, 3),
            ["counts"] = Tensor.FromArray([long.MinValue, long.MaxValue, 0L]),
            ["steps"] = Tensor.FromArray([7L]).Reshape(),
            ["empty"] = Tensor.Zeros(0, 4),
            ["indices"] = Tensor.FromArray([int.MinValue, 5]),
        };
        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["note"] = "ünïcödé \"quoted\"" };
        string path = TempPath("round.safetensors");
        Safetensors.Save(path, tensors, metadata);

        var bytes = File.ReadAllBytes(path);
        long headerLength = BinaryPrimitives.ReadInt64LittleEndian(bytes);
        Assert.Equal(0, headerLength % 8);
        Assert.Equal('}', Encoding.UTF8.GetString(bytes, 8, (int)headerLength).TrimEnd(' ').Last());

        var read = Safetensors.Read(path);
        Assert.Equal(tensors.Keys, read.Tensors.Keys);
        Assert.Equal(metadata, read.Metadata);
        Assert.Equal(tensors["weights"].ToArray().Select(BitConverter.SingleToInt32Bits), read.Tensors["weights"].ToArray().Select(BitConverter.SingleToInt32Bits));
        Assert.Equal(tensors["counts"].ToArray<long>(), read.Tensors["counts"].ToArray<long>());
        Assert.Equal(0, read.Tensors["steps"].Rank);
        Assert.Equal(new Shape(0, 4), read.Tensors["empty"].Shape);
        Assert.Equal(DType.Int64, read.Tensors["indices"].DType);
        Assert.Equal([(long)int.MinValue, 5], read.Tensors["indices"].ToArray<long>());

        string again = TempPath("again.safetensors");
        Safetensors.Save(again, read.Tensors.Where(p => p.Key != "indices"), read.Metadata);
        Safetensors.Save(path, tensors.Where(p => p.Key != "indices"), metadata);
        Assert.Equal(File.ReadAllBytes(path), File.ReadAllBytes(again));
    }

    [Fact]
    public void ResavingTheTorchFixtureReproducesItsBytes()
    {
        var content = Safetensors.Read(Golden.PathOf("tiny_resnet.safetensors"));
        string path = TempPath("resaved.safetensors");
        Safetensors.Save(path, content.Tensors, content.Metadata);
        Assert.Equal(File.ReadAllBytes(Golden.PathOf("tiny_resnet.safetensors")), File.ReadAllBytes(path));
    }

    [Fact]
    public void ModuleSaveLoadRoundTripRestoresEveryTensor()
    {
        var source = new TinyResNet();
        source.Forward(Tensor.Randn(new Shape(2, 3, 16, 16), new Random(1)));
        string path = TempPath("model.safetensors");
        source.SaveSafetensors(path, new Dictionary<string, string> { ["epoch"] = "3" });
        var target = new TinyResNet();
        Assert.True(target.LoadSafetensors(path).IsExactMatch);
        foreach (var (key, value) in source.StateDict())
            Assert.Equal(value.ToArray(), target.StateDict()[key].ToArray());
        Assert.Equal("3", Safetensors.Read(path).Metadata["epoch"]);
    }

    [Fact]
    public void CorruptHeaderIsReportedWithTheFileName()
    {
        Assert.Contains("not valid JSON", LoadFails(Craft("json.safetensors", "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], ", 4)).Message);
        Assert.Contains("must be a JSON object", LoadFails(Craft("array.safetensors", "[1, 2]", 0)).Message);
        Assert.Contains("unknown dtype \"F7\"", LoadFails(Craft("dtype.safetensors", "{\"a\":{\"dtype\":\"F7\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4)).Message);
        Assert.Contains("data_offsets", LoadFails(Craft("nooffsets.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4)).Message);
        Assert.Contains("non-negative", LoadFails(Craft("negative.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4)).Message);

        string path = TempPath("short.safetensors");
        File.WriteAllBytes(path, [1, 2, 3]);
        Assert.Contains("too short", LoadFails(path).Message);

        path = TempPath("length.safetensors");
        var bytes = new byte[64];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, 1000);
        File.WriteAllBytes(path, bytes);
        Assert.Contains("runs past the end", LoadFails(path).Message);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, ulong.MaxValue);
        File.WriteAllBytes(path, bytes);
        Assert.Contains("exceeds", LoadFails(path).Message);
    }

    [Fact]
    public void BadOffsetsNameTheTensor()
    {
        var overlap = LoadFails(Craft("overlap.safetensors",
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}", 24));
        Assert.Equal("b", overlap.Key);
        Assert.Contains("overlap tensor 'a'", overlap.Message);

        var range = LoadFails(Craft("range.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 12));
        Assert.Equal("a", range.Key);
        Assert.Contains("reach past the 12 data bytes", range.Message);

        var hole = LoadFails(Craft("hole.safetensors",
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]}}", 20));
        Assert.Equal("b", hole.Key);
        Assert.Contains("hole of 4 bytes", hole.Message);

        Assert.Contains("the rest is a hole", LoadFails(Craft("tail.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 12)).Message);

        var reversed = LoadFails(Craft("reversed.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,0]}}", 8));
        Assert.Contains("end before they begin", reversed.Message);
    }

    [Fact]
    public void WrongByteLengthForTheDTypeNamesTheTensor()
    {
        var e = LoadFails(Craft("size.safetensors", "{\"w\":{\"dtype\":\"F16\",\"shape\":[2,2],\"data_offsets\":[0,16]}}", 16));
        Assert.Equal("w", e.Key);
        Assert.Contains("span 16 bytes, but F16 shape [2, 2] needs 4 × 2 = 8", e.Message);
    }

    [Fact]
    public void TruncatedFileFailsAndLeavesTheModuleUntouched()
    {
        var bytes = File.ReadAllBytes(Golden.PathOf("tiny_resnet.safetensors"));
        string path = TempPath("truncated.safetensors");
        File.WriteAllBytes(path, bytes[..^10]);
        var e = LoadFails(path);
        Assert.Contains("truncated", e.Message);
        Assert.Equal("classifier.2.bias", e.Key);

        var model = new TinyResNet();
        var before = model.StateDict().ToDictionary(p => p.Key, p => p.Value.ToArray());
        Assert.Throws<SafetensorsFormatException>(() => model.LoadSafetensors(path));
        foreach (var (key, value) in model.StateDict()) Assert.Equal(before[key], value.ToArray());
    }

    [Fact]
    public void SaveReplacesAtomicallyAndLeavesNoTemporaryFile()
    {
        string path = TempPath("atomic.safetensors");
        Safetensors.Save(path, new Dictionary<string, Tensor> { ["a"] = Tensor.Ones(2) });
        var original = File.ReadAllBytes(path);

        Assert.Throws<ArgumentException>(() => Safetensors.Save(path, new Dictionary<string, Tensor> { ["__metadata__"] = Tensor.Ones(3) }));
        Assert.Equal(original, File.ReadAllBytes(path));
        Assert.Equal([path], Directory.GetFiles(_folder));

        Safetensors.Save(path, new Dictionary<string, Tensor> { ["b"] = Tensor.Zeros(3) });
        Assert.Equal(["b"], Safetensors.Load(path).Keys);
        Assert.Equal([path], Directory.GetFiles(_folder));
    }

    [Fact]
    public void ConvertedTensorsSpanningSeveralReadChunksDecodeEveryElement()
    {
        const int count = 1_500_000;
        var halves = new byte[2 * count];
        for (int i = 0; i < count; i++) BinaryPrimitives.WriteHalfLittleEndian(halves.AsSpan(2 * i), (Half)(i % 2048 - 1024));
        string path = Craft("big.safetensors", $"{{\"h\":{{\"dtype\":\"F16\",\"shape\":[{count}],\"data_offsets\":[0,{2 * count}]}}}}", 0);
        File.AppendAllBytes(path, halves);

        var values = Safetensors.Load(path)["h"].ToArray();
        Assert.Equal(count, values.Length);
        for (int i = 0; i < count; i++)
            if (values[i] != i % 2048 - 1024) Assert.Fail($"element {i}: {values[i]}, expected {i % 2048 - 1024}");
    }
}
