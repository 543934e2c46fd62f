using SharpSeg.Nn.Interop;

namespace SharpSeg.Nn.Tests.WeightFiles;

/// <summary>
/// PyTorch <c>.pth</c> and Paddle <c>.pdparams</c> files read through <see cref="WeightFile"/>. The files and the expected
/// safetensors beside them were written by tools/gen_nn_golden_weightfiles.py (torch.save and pickle themselves); the
/// expected values are PyTorch's own conversions to float32/int64, so every comparison is bit for bit.
/// </summary>
public class WeightFileTests
{
    internal static string PathOf(string file) => Golden.PathOf(Path.Combine("WeightFiles", file));

    private static void AssertBitExact(OrderedDictionary<string, Tensor> expected, OrderedDictionary<string, Tensor> actual)
    {
        Assert.Equal(expected.Keys, actual.Keys);
        foreach (var (key, want) in expected)
        {
            var got = actual[key];
            Assert.True(want.Shape == got.Shape, $"{key}: shape {got.Shape}, expected {want.Shape}");
            Assert.True(want.DType == got.DType, $"{key}: dtype {got.DType}, expected {want.DType}");
            if (want.DType == DType.Float32)
                Assert.Equal(want.ToArray<float>().Select(BitConverter.SingleToInt32Bits), got.ToArray<float>().Select(BitConverter.SingleToInt32Bits));
            else
                Assert.Equal(want.ToArray<long>(), got.ToArray<long>());
        }
    }

    [Fact]
    public void A_torch_save_state_dict_loads_bit_exactly_with_every_dtype_views_and_shared_storages()
    {
        var tensors = WeightFile.Load(PathOf("torch_state_dict.pth"));

        AssertBitExact(Safetensors.Load(PathOf("torch_state_dict.expected.safetensors")), tensors);
        Assert.Equal(new Shape(4, 3), tensors["transposed"].Shape);
        Assert.Equal(new Shape(3, 2), tensors["shared.grid"].Shape);
        Assert.Equal(new Shape(), tensors["bn.num_batches_tracked"].Shape);
        Assert.Equal(7L, tensors["bn.num_batches_tracked"].ToArray<long>()[0]);
        Assert.Equal([-128L, -1, 0, 127], tensors["int8"].ToArray<long>());
        Assert.Equal([0L, 1, 255], tensors["uint8"].ToArray<long>());
    }

    [Fact]
    public void Read_reports_the_format_and_each_tensor_s_stored_type_before_conversion()
    {
        var torch = WeightFile.Read(PathOf("torch_state_dict.pth"));
        var paddle = WeightFile.Read(PathOf("paddle_params_p2.pdparams"));

        Assert.Equal(WeightFileFormat.PyTorchZip, torch.Format);
        Assert.Equal(
            ["F32", "F64", "I64", "F16", "BF16", "I32", "I8", "U8", "BOOL", "F32", "F32", "F32", "F32", "F32"],
            torch.Tensors.Keys.Select(k => torch.StoredDTypes[k]));
        Assert.Equal(WeightFileFormat.Pickle, paddle.Format);
        Assert.Equal("F64", paddle.StoredDTypes["double"]);
        Assert.Equal("F16", paddle.StoredDTypes["half"]);
        Assert.Equal("I32", paddle.StoredDTypes["int32"]);
        Assert.Equal(DType.Int64, paddle.Tensors["int32"].DType);
        Assert.Empty(WeightFile.Read(PathOf("torch_wrapped.expected.safetensors")).StoredDTypes);
    }

    [Fact]
    public void Views_of_one_storage_read_the_same_elements()
    {
        var tensors = WeightFile.Load(PathOf("torch_state_dict.pth"));

        // shared.head = storage[2:6]; shared.grid = storage.view(3, 4)[:, 1::2] = elements 1, 3, 5, 7, 9, 11.
        var head = tensors["shared.head"].ToArray<float>();
        var grid = tensors["shared.grid"].ToArray<float>();
        Assert.Equal(head[1], grid[1]); // element 3
        Assert.Equal(head[3], grid[2]); // element 5
    }

    [Theory]
    [InlineData("torch_wrapped_model.pth")]
    [InlineData("torch_wrapped_state_dict.pth")]
    public void A_checkpoint_that_wraps_its_state_dict_gives_the_state_dict(string file) =>
        AssertBitExact(Safetensors.Load(PathOf("torch_wrapped.expected.safetensors")), WeightFile.Load(PathOf(file)));

    [Theory]
    [InlineData("paddle_params_p2.pdparams")]
    [InlineData("paddle_params_p4.pdparams")]
    public void A_paddle_state_dict_of_numpy_arrays_loads_bit_exactly_without_its_name_table(string file)
    {
        var tensors = WeightFile.Load(PathOf(file));

        AssertBitExact(Safetensors.Load(PathOf("paddle_params.expected.safetensors")), tensors);
        Assert.DoesNotContain("StructuredToParameterName@@", tensors.Keys);
        Assert.Equal(new Shape(2, 3), tensors["fortran"].Shape);
    }

    [Fact]
    public void The_PaddleSeg_key_map_renames_a_pdparams_file_and_transposes_its_linear_weight()
    {
        var source = WeightFile.Load(PathOf("paddle_params_p2.pdparams"));

        var mapped = KeyMap.PaddleSeg.Apply(source);

        Assert.Contains("conv1_1.conv.weight", mapped.Keys);
        Assert.Contains("conv1_1.bn.running_mean", mapped.Keys);
        Assert.Contains("conv1_1.bn.running_var", mapped.Keys);
        Assert.Equal(new Shape(2, 3), mapped["fc.weight"].Shape);
        Assert.Equal(source["fc.weight"].Transpose(0, 1).Contiguous().ToArray<float>(), mapped["fc.weight"].ToArray<float>());
    }

    [Fact]
    public void The_legacy_torch_format_is_refused_with_how_to_re_save_it()
    {
        var error = Assert.Throws<PickleFormatException>(() => WeightFile.Load(PathOf("torch_legacy.pth")));

        Assert.Contains("torch_legacy.pth", error.Message);
        Assert.Contains("legacy (pre-1.6)", error.Message);
        Assert.Contains("torch.save(torch.load(path), new_path)", error.Message);
    }

    [Fact]
    public void Formats_are_told_apart_by_their_first_bytes_not_their_extension()
    {
        string folder = Directory.CreateTempSubdirectory("sharpseg-weightfile-").FullName;
        try
        {
            string disguised = Path.Combine(folder, "weights.safetensors");
            File.Copy(PathOf("paddle_params_p4.pdparams"), disguised);
            string safetensors = Path.Combine(folder, "model.bin");
            File.Copy(PathOf("torch_wrapped.expected.safetensors"), safetensors);

            Assert.Equal(WeightFileFormat.Pickle, WeightFile.DetectFormat(disguised));
            Assert.Equal(WeightFileFormat.PyTorchZip, WeightFile.DetectFormat(PathOf("torch_state_dict.pth")));
            Assert.Equal(WeightFileFormat.Safetensors, WeightFile.DetectFormat(safetensors));
            AssertBitExact(Safetensors.Load(safetensors), WeightFile.Load(safetensors));
            Assert.Equal(11, WeightFile.Load(disguised).Count);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void A_safetensors_header_whose_length_bytes_look_like_a_pickle_protocol_is_still_safetensors()
    {
        // Header length 640 = 0x280 is stored as 80 02 00 …, the opening bytes of a protocol 2 pickle.
        var header = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}".PadRight(640);
        byte[] file = [.. BitConverter.GetBytes(640UL), .. System.Text.Encoding.ASCII.GetBytes(header), .. BitConverter.GetBytes(2.5f)];

        var tensors = WeightFile.Load(new MemoryStream(file), "640.safetensors");

        Assert.Equal(0x80, file[0]);
        Assert.Equal(2, file[1]);
        Assert.Equal([2.5f], tensors["a"].ToArray<float>());
    }

    [Fact]
    public void A_file_of_no_known_format_is_refused_naming_its_first_bytes()
    {
        var error = Assert.Throws<InvalidDataException>(() => WeightFile.Load(new MemoryStream("hello world"u8.ToArray()), "notes.txt"));

        Assert.StartsWith("notes.txt: not a weight file this library reads", error.Message);
        Assert.Contains("68656C6C6F20776F726C64", error.Message);
    }
}
