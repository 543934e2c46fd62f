using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using SharpSeg.Nn.Interop;

namespace SharpSeg.Nn.Tests.WeightFiles;

/// <summary>
/// The restricted unpickler refuses everything but tensor data: code-running globals (as Python's own pickler writes them,
/// in tools/gen_nn_golden_weightfiles.py, and hand-built), odd nesting, lengths past the end, and truncation, each with a
/// <see cref="PickleFormatException"/> that names what was refused.
/// </summary>
public class UnpicklerSafetyTests
{
    private const string Sentinel = "/tmp/sharpseg_pwned";

    private static PickleFormatException Refused(byte[] pickle) =>
        Assert.Throws<PickleFormatException>(() => WeightFile.Load(new MemoryStream(pickle), "evil.pkl"));

    // Pickle assembly: each helper returns one opcode with its operands.
    private static byte[] Pickle(params byte[][] parts) => [0x80, 2, .. parts.SelectMany(p => p), (byte)'.'];

    private static byte[] Op(char opcode) => [(byte)opcode];

    private static byte[] Op(byte opcode) => [opcode];

    private static byte[] Str(string text)
    {
        var utf8 = Encoding.UTF8.GetBytes(text);
        var op = new byte[5 + utf8.Length];
        op[0] = (byte)'X';
        BinaryPrimitives.WriteInt32LittleEndian(op.AsSpan(1), utf8.Length);
        utf8.CopyTo(op, 5);
        return op;
    }

    private static byte[] Global(string module, string name) => [(byte)'c', .. Encoding.ASCII.GetBytes($"{module}\n{name}\n")];

    private static byte[] Int1(byte value) => [(byte)'K', value];

    private static byte[] Put(byte index) => [(byte)'q', index];

    private static byte[] Get(byte index) => [(byte)'h', index];

    private static byte[] Length32(char opcode, uint length) => [(byte)opcode, .. BitConverter.GetBytes(length)];

    private static byte[] Length64(byte opcode, ulong length) => [opcode, .. BitConverter.GetBytes(length)];

    [Theory]
    [InlineData("malicious_os_system_p2.pkl", "posix.system")]
    [InlineData("malicious_os_system_p4.pkl", "posix.system")]
    [InlineData("malicious_eval_p2.pkl", "__builtin__.eval")] // protocol 2 writes Python 2 module names
    [InlineData("malicious_os_system.pth", "posix.system")]
    public void Pickles_written_by_python_that_call_system_or_eval_are_refused_and_nothing_runs(string file, string global)
    {
        File.Delete(Sentinel);

        var error = Assert.Throws<PickleFormatException>(() => WeightFile.Load(WeightFileTests.PathOf(file)));

        Assert.Contains(file, error.Message);
        Assert.Contains($"global '{global}' is not on the allow-list", error.Message);
        Assert.Contains("nothing was run", error.Message);
        Assert.False(File.Exists(Sentinel));
    }

    [Theory]
    [InlineData("os", "system")]
    [InlineData("builtins", "exec")]
    [InlineData("subprocess", "Popen")]
    [InlineData("__builtin__", "getattr")]
    [InlineData("torch", "load")]
    [InlineData("numpy", "load")]
    [InlineData("torch._utils", "_rebuild_qtensor")]
    public void Any_global_outside_the_allow_list_is_refused_by_GLOBAL_and_STACK_GLOBAL(string module, string name)
    {
        var viaGlobal = Refused(Pickle(Global(module, name)));
        var viaStack = Refused([0x80, 4, .. Str(module), .. Str(name), 0x93, (byte)'.']);

        Assert.StartsWith($"evil.pkl: pickle opcode GLOBAL at byte 2: global '{module}.{name}' is not on the allow-list", viaGlobal.Message);
        Assert.Contains($"opcode STACK_GLOBAL at byte {2 + 5 + module.Length + 5 + name.Length}: global '{module}.{name}'", viaStack.Message);
    }

    [Fact]
    public void An_allowed_name_that_is_only_an_argument_cannot_be_called()
    {
        var error = Refused(Pickle(Global("torch", "FloatStorage"), Op(')'), Op('R')));

        Assert.Contains("torch.FloatStorage may appear in a weight file only as an argument, not be called", error.Message);
    }

    [Fact]
    public void Calling_anything_but_a_global_is_refused()
    {
        var error = Refused(Pickle(Str("os.system"), Op(')'), Op('R')));

        Assert.Contains("REDUCE at byte 17: calls str 'os.system', which is not an allowed global", error.Message);
    }

    [Fact]
    public void The_latin1_codec_is_the_only_use_of_codecs_encode_allowed()
    {
        var error = Refused(Pickle(Global("_codecs", "encode"), Str("x"), Str("rot13"), Op(0x86), Op('R')));

        Assert.Contains("_codecs.encode is allowed only as protocol 2's encoding of bytes", error.Message);
    }

    [Theory]
    [InlineData((byte)0x92, "NEWOBJ_EX")]
    [InlineData((byte)'i', "INST")]
    [InlineData((byte)'o', "OBJ")]
    [InlineData((byte)0x82, "EXT1")]
    [InlineData((byte)0x97, "NEXT_BUFFER")]
    [InlineData((byte)'S', "STRING")]
    [InlineData((byte)0xFF, "0xFF")]
    public void Opcodes_that_build_objects_or_are_not_read_are_refused_by_name(byte opcode, string name)
    {
        var error = Refused(Pickle(Op(opcode)));

        Assert.StartsWith($"evil.pkl: pickle opcode {name} at byte 2: ", error.Message);
    }

    [Fact]
    public void A_persistent_id_outside_a_torch_archive_is_refused()
    {
        var error = Refused(Pickle(Str("storage"), Op(0x85), Op('Q')));

        Assert.Contains("BINPERSID at byte 15: a persistent id outside a PyTorch archive", error.Message);
    }

    [Fact]
    public void Tuples_nested_deeper_than_the_limit_are_refused()
    {
        var pickle = Pickle([Op(')'), .. Enumerable.Repeat(Op(0x85), RestrictedUnpickler.MaxTupleDepth + 5)]);

        Assert.Contains($"tuples nest deeper than {RestrictedUnpickler.MaxTupleDepth} levels", Refused(pickle).Message);
    }

    [Fact]
    public void A_list_that_contains_itself_is_not_a_state_dict_and_does_not_hang()
    {
        var error = Refused(Pickle(Op(']'), Put(0), Get(0), Op('a')));

        Assert.Equal("evil.pkl: holds list of 1, not a dict of tensors (save model.state_dict())", error.Message);
    }

    [Fact]
    public void A_dict_whose_values_are_not_tensors_names_the_first_such_entry()
    {
        var error = Refused(Pickle(Op('}'), Str("conv.weight"), Int1(3), Op('s')));

        Assert.Contains("maps 'conv.weight' to int 3, not a tensor", error.Message);
        Assert.Contains("'state_dict', 'model_state_dict', 'model', 'net'", error.Message);
    }

    [Theory]
    [InlineData(new[] { "}", "]", "N", "s" }, "SETITEM at byte 5: dictionary key list of 0 is not a str, bytes, int, float, bool or None")]
    [InlineData(new[] { "h9" }, "BINGET at byte 2: memo entry 57 was never stored")]
    [InlineData(new[] { "(", "N" }, "STOP at byte 4: a MARK is still open")]
    [InlineData(new[] { "N", "N" }, "STOP at byte 4: the stack holds 2 values, not the one result")]
    [InlineData(new[] { "0" }, "POP at byte 2: pops an empty stack")]
    [InlineData(new[] { "N", "(", "0" }, "POP at byte 4: pops past the open MARK")]
    [InlineData(new[] { "}", "N", "a" }, "APPEND at byte 4: appends to dict of 0, not a list")]
    [InlineData(new[] { "]", "N", "b" }, "BUILD at byte 4: sets the state of list of 0, which takes none")]
    [InlineData(new[] { "e" }, "APPENDS at byte 2: no MARK is open")]
    [InlineData(new[] { "}", "(", "N", "u" }, "SETITEMS at byte 5: 1 values after the MARK, not key/value pairs")]
    public void Malformed_stack_programs_are_refused_naming_the_opcode_and_offset(string[] program, string message)
    {
        var parts = program.Select(p => Encoding.Latin1.GetBytes(p)).ToArray();

        Assert.Equal($"evil.pkl: pickle opcode {message}", Refused(Pickle(parts)).Message);
    }

    private static byte[] ShortBinString(params byte[] bytes) => [(byte)'U', (byte)bytes.Length, .. bytes];

    [Fact]
    public void A_python_2_pickle_with_str_names_and_str_array_data_loads()
    {
        // {'w': numpy.array([1.5, -2.0], dtype='<f4')} as Python 2's pickle writes it: names, type codes and data are str.
        byte[] data = [.. BitConverter.GetBytes(1.5f), .. BitConverter.GetBytes(-2f)];
        byte[] pickle = Pickle(
            Op('}'), ShortBinString((byte)'w'),
            Global("numpy.core.multiarray", "_reconstruct"), Global("numpy", "ndarray"), Int1(0), Op(0x85), ShortBinString((byte)'b'), Op(0x87), Op('R'),
            Op('('), Int1(1), Int1(2), Op(0x85),
            Global("numpy", "dtype"), ShortBinString((byte)'f', (byte)'4'), Op(0x89), Op(0x88), Op(0x87), Op('R'),
            Op('('), Int1(3), ShortBinString((byte)'<'), Op('N'), Op('N'), Op('N'), Length32('J', uint.MaxValue), Length32('J', uint.MaxValue), Int1(0), Op('t'), Op('b'),
            Op(0x89), ShortBinString(data), Op('t'), Op('b'),
            Op('s'));

        var tensors = WeightFile.Load(new MemoryStream(pickle), "py2.pdparams");

        Assert.Equal(["w"], tensors.Keys);
        Assert.Equal([1.5f, -2f], tensors["w"].ToArray<float>());
    }

    [Fact]
    public void Lengths_past_the_end_of_the_data_are_refused_before_anything_is_allocated()
    {
        Assert.Contains("length 4294967295 runs past the end of the data", Refused(Pickle(Length32('X', uint.MaxValue))).Message);
        Assert.Contains("length 4294967295 runs past the end of the data", Refused(Pickle(Length32('B', uint.MaxValue))).Message);
        Assert.Contains("length 18446744073709551615 runs past the end", Refused(Pickle(Length64(0x8e, ulong.MaxValue))).Message);
        Assert.Contains("frame of 9223372036854775807 bytes runs past the end", Refused(Pickle(Length64(0x95, long.MaxValue))).Message);
        Assert.Contains("integer of 2147483647 bytes exceeds the 64-byte limit", Refused(Pickle(Length32((char)0x8b, int.MaxValue))).Message);
        Assert.Contains("BINSTRING at byte 2: negative length -1", Refused(Pickle(Length32('T', uint.MaxValue))).Message);
    }

    [Fact]
    public void Every_truncation_of_a_pdparams_file_is_refused()
    {
        var data = File.ReadAllBytes(WeightFileTests.PathOf("paddle_params_p2.pdparams"));

        for (int length = 2; length < data.Length; length++)
        {
            var error = Assert.Throws<PickleFormatException>(() => StateDictExtraction.Extract(RestrictedUnpickler.Load(data.AsMemory(0, length), "cut"), "cut", length));
            Assert.StartsWith("cut: ", error.Message);
        }
    }

    [Fact]
    public void Repeated_inserts_of_a_long_key_exhaust_the_work_budget_instead_of_running_for_minutes()
    {
        var program = new List<byte[]> { Op('}'), Str(new string('k', 100_000)), Put(0), Op('0') };
        for (int i = 0; i < 2000; i++) program.AddRange([Get(0), Op('N'), Op('s')]);

        Assert.Contains("repeats long keys or strings beyond the work budget", Refused(Pickle([.. program])).Message);
    }

    private static byte[] WithMember(string file, string member, byte[] content) =>
        WithMember(File.ReadAllBytes(WeightFileTests.PathOf(file)), member, content);

    private static byte[] WithMember(byte[] archive, string member, byte[] content)
    {
        var stream = new MemoryStream();
        stream.Write(archive);
        using (var zip = new ZipArchive(stream, ZipArchiveMode.Update, leaveOpen: true))
        {
            zip.GetEntry(member)!.Delete();
            using var writer = zip.CreateEntry(member, CompressionLevel.NoCompression).Open();
            writer.Write(content);
        }
        return stream.ToArray();
    }

    [Fact]
    public void A_storage_member_shorter_than_its_storage_is_refused()
    {
        var archive = WithMember("torch_state_dict.pth", "torch_state_dict/data/0", new byte[100]);

        var error = Assert.Throws<PickleFormatException>(() => WeightFile.Load(new MemoryStream(archive), "short.pth"));

        Assert.Equal("short.pth: member 'torch_state_dict/data/0' holds 100 bytes, but its storage of 108 F32 elements needs 432", error.Message);
    }

    private static byte[] Long(long value) => [0x8a, 8, .. BitConverter.GetBytes(value)];

    /// <summary>A torch archive whose data.pkl is <c>{"w": _rebuild_tensor_v2(FloatStorage '0' of numel, 0, (size,), (stride,), False, OrderedDict())}</c>.</summary>
    private static byte[] OneTensorArchive(long numel, long size, long stride, int storageBytes)
    {
        byte[] pickle = Pickle(
            Op('}'), Str("w"),
            Global("torch._utils", "_rebuild_tensor_v2"), Op('('),
            Op('('), Str("storage"), Global("torch", "FloatStorage"), Str("0"), Str("cpu"), Long(numel), Op('t'), Op('Q'),
            Int1(0), Long(size), Op(0x85), Long(stride), Op(0x85), Op(0x89), Global("collections", "OrderedDict"), Op(')'), Op('R'), Op('t'), Op('R'),
            Op('s'));
        return WithMember(WithMember("torch_wrapped_model.pth", "torch_wrapped_model/data.pkl", pickle), "torch_wrapped_model/data/0", new byte[storageBytes]);
    }

    private static PickleFormatException RefusedArchive(byte[] archive) =>
        Assert.Throws<PickleFormatException>(() => WeightFile.Load(new MemoryStream(archive), "view.pth"));

    [Fact]
    public void A_view_reaching_past_its_storage_is_refused()
    {
        var error = RefusedArchive(OneTensorArchive(numel: 4, size: 5, stride: 1, storageBytes: 16));

        Assert.Equal("view.pth: tensor 'w': size [5], stride [1] at offset 0 reaches element 4 of a storage of 4", error.Message);
    }

    [Fact]
    public void A_stride_zero_view_that_would_allocate_gigabytes_from_four_bytes_is_refused()
    {
        var error = RefusedArchive(OneTensorArchive(numel: 1, size: 1L << 30, stride: 0, storageBytes: 4));

        Assert.Equal("view.pth: tensor 'w' takes the tensors past 4 elements per byte of data in the file (views that repeat one storage many times?)", error.Message);
    }

    [Fact]
    public void A_storage_size_that_overflows_is_refused_before_reading()
    {
        var error = RefusedArchive(OneTensorArchive(numel: long.MaxValue / 2, size: 1, stride: 1, storageBytes: 4));

        Assert.Contains($"storage '0' has {long.MaxValue / 2} elements, outside 0–", error.Message);
    }

    [Fact]
    public void Repeated_latin1_encoding_of_one_long_string_exhausts_the_work_budget()
    {
        var program = new List<byte[]> { Global("_codecs", "encode"), Put(0), Str(new string('x', 100_000)), Str("latin1"), Op(0x86), Put(1), Op('0'), Op('0') };
        for (int i = 0; i < 2000; i++) program.AddRange([Get(0), Get(1), Op('R'), Op('0')]);
        program.Add(Op('N'));

        Assert.Contains("repeats long keys or strings beyond the work budget", Refused(Pickle([.. program])).Message);
    }
}
